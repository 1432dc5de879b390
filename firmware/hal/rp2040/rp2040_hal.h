/* The RP2040 HAL's internal seams: clocks, pins, the shared SPI0, the USB CDC device. */
#ifndef QTD_RP2040_HAL_H
#define QTD_RP2040_HAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* clocks.c: 12 MHz XOSC -> clk_ref; PLL_SYS -> clk_sys = clk_peri (board file's clock);
 * PLL_USB -> clk_usb 48 MHz; the watchdog tick at 1 MHz for the timer. */
void rp2040_clocks_init(void);
void rp2040_unreset(uint32_t bits);
void rp2040_watchdog_start(uint32_t ms);
void rp2040_watchdog_feed(void);
/* Sleep (WFI) until an interrupt: USB traffic, or the timer at most max_us from now. */
void rp2040_idle(uint32_t max_us);
void rp2040_timer_irq(void);

/* gpio.c */
void rp2040_gpio_function(unsigned pin, uint32_t func);
void rp2040_gpio_output(unsigned pin, bool level);
void rp2040_gpio_input(unsigned pin, bool pull_up);

/* spi.c: SPI0 routed to the flash pins or the FPGA pins (never both) */
void rp2040_spi_init(void);
void rp2040_i2c_init(void);

/* usb_cdc.c: the CDC-ACM device */
void rp2040_usb_init(void);
void rp2040_usb_irq(void);
void rp2040_usb_drain(void);
/* usb_serial.c: the serial-number string, from the program flash's unique id */
void rp2040_read_unique_id(uint8_t id[8]);
/* the ELF's GNU build-id (20 bytes of SHA-1), or 0 bytes when the link dropped it */
size_t rp2040_build_id(const uint8_t **id);
bool rp2040_reboot_to_bootloader(void);
bool rp2040_rom_present(void);

#endif /* QTD_RP2040_HAL_H */
