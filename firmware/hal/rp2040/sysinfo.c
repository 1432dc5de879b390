/* What the firmware knows about itself and its chip: the program flash's unique id (the USB
 * serial number), the ELF's GNU build-id, and the ROM's reset_usb_boot (RP2040 datasheet §2.8.3
 * bootrom function table, §4.10 SSI, §2.19.6.2 IO_QSPI for the chip-select override). */
#include <stddef.h>
#include <stdint.h>

#include "regs.h"
#include "rp2040_hal.h"

#define SSI_BASE       0x18000000u
#define SSI_CTRLR0     (SSI_BASE + 0x00u)
#define SSI_CTRLR1     (SSI_BASE + 0x04u)
#define SSI_SSIENR     (SSI_BASE + 0x08u)
#define SSI_RXFLR      (SSI_BASE + 0x24u)
#define SSI_DR0        (SSI_BASE + 0x60u)
#define SSI_SPI_CTRLR0 (SSI_BASE + 0xF4u)
#define QSPI_SS_CTRL   0x4001800Cu /* IO_QSPI GPIO_QSPI_SS_CTRL: OUTOVER [9:8] */
#define XIP_FLUSH      0x14000004u
#define RUID_CMD       0x4Bu /* read unique id: 4 dummy bytes, then 8 id bytes (W25Q / GD25Q / AT25SF) */
#define RUID_LEN       13u
#define SPIN_MAX       100000u

/* Runs from RAM (.time_critical is linked into .data): XIP is off while it talks to the flash.
 * The same XIP settings as boot2.S are restored afterwards. */
__attribute__((section(".time_critical.ruid"), noinline)) static void ruid_ram(volatile uint8_t *id) {
    REG(SSI_SSIENR) = 0;
    REG(SSI_CTRLR0) = 7u << 16; /* 8-bit frames, transmit-and-receive */
    REG(SSI_SSIENR) = 1;
    REG(QSPI_SS_CTRL) = 2u << 8; /* chip select low for the whole command */
    for (unsigned i = 0; i < RUID_LEN; i++) {
        REG(SSI_DR0) = i == 0 ? RUID_CMD : 0u;
    }
    unsigned got = 0;
    for (unsigned spin = 0; got < RUID_LEN && spin < SPIN_MAX; spin++) {
        if (REG(SSI_RXFLR) != 0) {
            uint8_t b = (uint8_t)REG(SSI_DR0);
            if (got >= 5) {
                id[got - 5] = b;
            }
            got++;
        }
    }
    REG(QSPI_SS_CTRL) = 3u << 8;
    REG(QSPI_SS_CTRL) = 0;
    REG(SSI_SSIENR) = 0;
    REG(SSI_CTRLR0) = (31u << 16) | (3u << 8);
    REG(SSI_SPI_CTRLR0) = (0x03u << 24) | (2u << 8) | (6u << 2);
    REG(SSI_CTRLR1) = 0;
    REG(SSI_SSIENR) = 1;
    REG(XIP_FLUSH) = 1;
    (void)REG(XIP_FLUSH); /* reading back waits for the flush */
}

void rp2040_read_unique_id(uint8_t id[8]) {
    static uint8_t cached[8];
    static bool have;
    if (!have) {
        uint32_t primask;
        __asm__ volatile("mrs %0, primask\n cpsid i" : "=r"(primask)::"memory");
        ruid_ram(cached);
        __asm__ volatile("msr primask, %0" ::"r"(primask) : "memory");
        have = true;
    }
    for (unsigned i = 0; i < 8; i++) {
        id[i] = cached[i];
    }
}

extern const uint8_t __build_id_start[], __build_id_end[];

size_t rp2040_build_id(const uint8_t **id) {
    /* ELF note: namesz, descsz, type (4 bytes each), "GNU\0", then the id */
    const uint8_t *n = __build_id_start;
    if (__build_id_end - __build_id_start < 16) {
        return 0;
    }
    uint32_t namesz = n[0] | (uint32_t)n[1] << 8, descsz = n[4] | (uint32_t)n[5] << 8;
    *id = n + 12 + ((namesz + 3u) & ~3u);
    return descsz;
}

/* The ROM's reset_usb_boot(gpio_activity_mask, disable_interface_mask): reboot as if BOOTSEL
 * were held. Returns (false) only where the ROM is not there (an emulator without a bootrom). */
static const volatile uint8_t *rom(void) {
    uintptr_t base = 0; /* the ROM sits at address 0: hide it from the compiler's null checks */
    __asm__("" : "+r"(base));
    return (const volatile uint8_t *)base;
}

/* §2.8.3: the ROM starts with 'M', 'u', 0x01 at 0x10. */
bool rp2040_rom_present(void) {
    return rom()[0x10] == 'M' && rom()[0x11] == 'u' && rom()[0x12] == 1;
}

bool rp2040_reboot_to_bootloader(void) {
    if (!rp2040_rom_present()) {
        return false;
    }
    const volatile uint8_t *rom_ = rom();
    typedef void *(*lookup_fn)(const uint16_t *table, uint32_t code);
    typedef void (*reset_usb_boot_fn)(uint32_t gpio_mask, uint32_t disable_mask);
    lookup_fn lookup = (lookup_fn)(uintptr_t)(rom_[ROM_TABLE_LOOKUP] | rom_[ROM_TABLE_LOOKUP + 1] << 8);
    const uint16_t *table =
        (const uint16_t *)(uintptr_t)(rom_[ROM_FUNC_TABLE] | rom_[ROM_FUNC_TABLE + 1] << 8);
    reset_usb_boot_fn fn = (reset_usb_boot_fn)lookup(table, (uint32_t)'U' | (uint32_t)'B' << 8);
    if (fn == NULL) {
        return false;
    }
    fn(0, 0);
    return false;
}
