/* The hardware abstraction the portable core runs on. One implementation per target:
 * hal/posix builds the virtual board; hal/rp2040 is the enV5's MCU, register level.
 *
 * Why this shape: the HAL stops at the wires (UART bytes, SPI transactions, GPIO levels), never
 * at our own logic, so the virtual board simulates the hardware boundary and nothing above it. */
#ifndef QTD_HAL_H
#define QTD_HAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- UART: the host link -------------------------------------------------------------- */
/* Non-blocking: copy up to cap received bytes into buf, return how many (0 when none). */
size_t hal_uart_read(uint8_t *buf, size_t cap);
/* Blocking until every byte is on the wire (or in the TX FIFO). */
void hal_uart_write(const uint8_t *buf, size_t len);
/* Change the line rate; takes effect for the next byte. Returns false for a rate the UART cannot do. */
bool hal_uart_set_baud(uint32_t baud);

/* ---- SPI NOR flash (shared with the FPGA) ----------------------------------------------- */
/* One chip-select-framed transaction: clock out cmd (opcode + address), then out_len bytes of
 * out, then clock in in_len bytes into in. Either data part may be empty. */
void hal_flash_xfer(const uint8_t *cmd, size_t cmd_len, const uint8_t *out, size_t out_len, uint8_t *in,
                    size_t in_len);

/* ---- FPGA control pins and the fabric SPI ---------------------------------------------- */
/* Hold the FPGA off the shared flash bus (true) or let it drive the bus (false). The core
 * holds it around every flash operation and releases it only for configuration. */
void hal_fpga_hold_bus(bool hold);
void hal_fpga_prog_b(bool level); /* PROG_B: low clears the configuration. */
bool hal_fpga_init_b(void);       /* INIT_B: high = ready for / no error in configuration. */
bool hal_fpga_done(void);         /* DONE: high = configured and running. */
/* No hal_fpga_multiboot: no MCU pin reaches WBSTAR, and PROG_B clears it (UG470 ch. 7). A slot
 * other than the golden image at address 0 is reached through the running design's
 * MULTIBOOT_ADDR / MULTIBOOT_TRIGGER registers over hal_fabric_xfer (core/fpga.c). */
/* One transaction on the MCU <-> fabric register SPI (protocol/regmap.md). */
void hal_fabric_xfer(const uint8_t *out, size_t out_len, uint8_t *in, size_t in_len);

/* ---- I2C (the PAC193x power monitors: core/pac193x.c) ------------------------------------ */
/* Returns false on NACK. */
bool hal_i2c_write(uint8_t addr7, const uint8_t *buf, size_t len);
bool hal_i2c_read(uint8_t addr7, uint8_t *buf, size_t len);

/* ---- time ------------------------------------------------------------------------------ */
uint64_t hal_time_us(void); /* monotonic microseconds since power-on */
void hal_delay_us(uint32_t us);
/* The core has timed work due at t_us (a power sample): a HAL whose idle read waits (the
 * virtual board's, and the RP2040's WFI, so that neither spins) must not sleep past it.
 * Cleared once that time has passed. */
void hal_wake_by(uint64_t t_us);

/* ---- GPIO and system ------------------------------------------------------------------- */
void hal_gpio_set(unsigned pin, bool level);
bool hal_gpio_get(unsigned pin);
/* Called by the core once the RESET answer has left the UART; the HAL decides what a reset
 * is (a watchdog reboot on the MCU, a re-run of the boot sequence on the virtual board). */
void hal_system_reset(void);
/* RESET mode 1: whether this board can reboot into a ROM bootloader (the RP2040's USB boot);
 * the HAL's main loop does it after hal_system_reset's drain when qtd_link.reset_to_bootloader. */
bool hal_bootloader_available(void);

/* ---- identity (BUILD_INFO) ------------------------------------------------------------- */
/* The running binary's GNU build-id: sets *id, returns its length (0: none). */
size_t hal_build_id(const uint8_t **id);
/* The HAL's name: "rp2040", "posix". */
const char *hal_target(void);

#endif /* QTD_HAL_H */
