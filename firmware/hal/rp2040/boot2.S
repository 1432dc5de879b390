/* Boot stage 2 for the RP2040: the generic 03h-read XIP set-up (what pico-sdk uses when no board
 * is named), written from the RP2040 datasheet §2.8.1 (boot sequence) and §4.10 (SSI).
 *
 * The ROM copies these 256 bytes to SRAM 0x20041F00 and runs them only if the CRC-32 of the first
 * 252 equals the last word (the build patches it in: tools/boot2_crc.py). We set the SSI to serial
 * 03h reads, 24-bit address, 32-bit frames, clock = clk_sys / 4, so any 25-series flash works, then
 * jump to the vector table at 0x10000100 (or return, when the ROM's flash helpers called us). */
    .syntax unified
    .cpu cortex-m0plus
    .thumb
    .section .boot2_text, "ax"

    .equ SSI_BASE,        0x18000000
    .equ SSI_CTRLR0,      0x00
    .equ SSI_CTRLR1,      0x04
    .equ SSI_SSIENR,      0x08
    .equ SSI_BAUDR,       0x14
    .equ SSI_SPI_CTRLR0,  0xF4
    .equ CLKDIV,          4
    /* CTRLR0: SPI_FRF [22:21] = 0 (standard), DFS_32 [20:16] = 31 (32-bit frames), TMOD [9:8] = 3 (EEPROM read) */
    .equ CTRLR0_XIP,      (31 << 16) | (3 << 8)
    /* SPI_CTRLR0: XIP_CMD [31:24] = 0x03, INST_L [9:8] = 2 (8-bit), ADDR_L [5:2] = 6 (24-bit), TRANS_TYPE = 0 */
    .equ SPI_CTRLR0_XIP,  (0x03 << 24) | (2 << 8) | (6 << 2)
    .equ VTOR,            0xE000ED08
    .equ FLASH_VECTORS,   0x10000100

    .global _boot2_entry
    .type _boot2_entry, %function
    .thumb_func
_boot2_entry:
    push {lr}
    ldr r3, =SSI_BASE
    movs r1, #0
    str r1, [r3, #SSI_SSIENR]       /* the SSI takes configuration only while disabled */
    movs r1, #CLKDIV
    str r1, [r3, #SSI_BAUDR]
    ldr r1, =CTRLR0_XIP
    str r1, [r3, #SSI_CTRLR0]
    ldr r1, =SPI_CTRLR0_XIP
    ldr r0, =(SSI_BASE + SSI_SPI_CTRLR0)
    str r1, [r0]
    movs r1, #0
    str r1, [r3, #SSI_CTRLR1]       /* NDF = 0: one 32-bit frame per XIP access */
    movs r1, #1
    str r1, [r3, #SSI_SSIENR]
    pop {r0}
    cmp r0, #0                      /* lr = 0: entered from the ROM's boot path */
    beq 1f
    bx r0                           /* called as a function (flash helpers): return */
1:  ldr r0, =FLASH_VECTORS
    ldr r1, =VTOR
    str r0, [r1]
    ldmia r0, {r0, r1}              /* initial SP, reset vector */
    msr msp, r0
    bx r1
    .ltorg
