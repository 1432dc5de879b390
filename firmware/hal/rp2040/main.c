/* The RP2040 firmware's entry: clocks, pins, buses, USB, then the portable core's loop
 * (the same qtd_app_init / qtd_app_poll the virtual board runs in hal/posix/main.c). */
#include "hal.h"
#include "qtd/app.h"
#include "qtd/board_config.h"
#include "qtd/commands.h"
#include "qtd/mcu_config.h"
#include "qtd/model.h"
#include "qtd/power.h"
#include "regs.h"
#include "rp2040_hal.h"

#define WATCHDOG_MS 8000u /* the longest wait the core does between HAL calls is a 650 ms erase */

static const qtd_board_t k_board = QTD_BOARD_INIT;
/* The RAM a loaded MCU model lives in (qtd/model.h), as on the virtual board. */
static uint8_t g_model_arena[QTD_MODEL_ARENA_SIZE];

static void board_pins_init(void) {
    REG_SET(RESETS_RESET) = RESET_IO_BANK0 | RESET_PADS_BANK0;
    rp2040_unreset(RESET_IO_BANK0 | RESET_PADS_BANK0);
    /* FPGA off at power-up until the core configures it: regulator on, rails on, PROG_B high
     * (the FPGA configures from flash by itself, as at any power-up) */
    rp2040_gpio_output(QTD_PIN_FPGA_PROG_B, true);
    rp2040_gpio_output(QTD_PIN_FPGA_POWER_EN, !QTD_PIN_FPGA_POWER_EN_ACTIVE_LOW);
    rp2040_gpio_output(QTD_PIN_FPGA_POWER_SWITCH, !QTD_PIN_FPGA_POWER_SWITCH_ACTIVE_LOW);
    rp2040_gpio_input(QTD_PIN_FPGA_IRQ, false);
    rp2040_gpio_output(QTD_PIN_LED_STATUS, true);
}

int main(void) {
    rp2040_clocks_init();
    board_pins_init();
    rp2040_spi_init();
    rp2040_i2c_init();
    rp2040_usb_init();
    rp2040_watchdog_start(WATCHDOG_MS);
    qtd_model_set_arena(g_model_arena, sizeof g_model_arena);
    for (;;) {
        (void)qtd_app_init(&k_board); /* a failed boot is what HELLO / FPGA_STATUS report */
        while (qtd_app_poll()) {
        }
        if (qtd_link.reset_to_bootloader) {
            rp2040_usb_drain();
            hal_delay_us(1000);
            (void)rp2040_reboot_to_bootloader(); /* returns only where no ROM answers */
        }
        hal_system_reset();
    }
}

/* ---- time -------------------------------------------------------------------------------- */
uint64_t hal_time_us(void) {
    uint32_t hi, lo;
    do { /* the raw registers do not latch: re-read if the high word moved */
        hi = REG(TIMER_TIMERAWH);
        lo = REG(TIMER_TIMERAWL);
    } while (hi != REG(TIMER_TIMERAWH));
    return (uint64_t)hi << 32 | lo;
}

void hal_delay_us(uint32_t us) {
    uint64_t end = hal_time_us() + us;
    while (hal_time_us() < end) {
        rp2040_watchdog_feed();
    }
}

void hal_wake_by(uint64_t t_us) {
    (void)t_us; /* the MCU's reads never block */
}

void hal_activity(qtd_activity_t activity) {
    (void)activity; /* the rails draw what they draw; the PAC1934s measure it */
}

/* A watchdog reboot once the RESET answer has left over USB: the chip starts from the ROM,
 * re-enumerates and boots the last good FPGA image, as at power-up. */
void hal_system_reset(void) {
    rp2040_usb_drain();
    hal_delay_us(1000);
    REG_SET(WATCHDOG_CTRL) = WATCHDOG_CTRL_TRIGGER;
    for (;;) {
    }
}

bool hal_bootloader_available(void) {
    return rp2040_rom_present();
}

const char *hal_target(void) {
    return "rp2040";
}

size_t hal_build_id(const uint8_t **id) {
    return rp2040_build_id(id);
}
