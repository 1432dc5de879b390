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

#define WATCHDOG_MS 8000u
#define NVIC_ISER   0xE000E100u /* the longest wait the core does between HAL calls is a 650 ms erase */

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

/* The link loop's idle read sleeps until the next interrupt (USB traffic) or 1 ms, never past
 * the core's next timed work (a power sample): the same contract as the virtual board's idle read,
 * and on silicon the core stops spinning at full power while it waits for the host. */
#define IDLE_MAX_US 1000u
static uint64_t g_wake_by;

void hal_wake_by(uint64_t t_us) {
    g_wake_by = t_us;
}

void rp2040_timer_irq(void) {
    REG(TIMER_INTR) = 1u; /* ALARM0: the wake-up has done its job */
}

void rp2040_idle(uint32_t max_us) {
    uint64_t now = hal_time_us();
    if (g_wake_by != 0) {
        if (g_wake_by <= now) {
            g_wake_by = 0;
            return;
        }
        if (g_wake_by - now < max_us) {
            max_us = (uint32_t)(g_wake_by - now);
        }
    }
    REG(TIMER_INTE) = 1u;
    REG(NVIC_ISER) = 1u << IRQ_TIMER_0;
    REG(TIMER_ALARM0) = (uint32_t)now + max_us; /* arms ALARM0 on the low 32 bits */
    __asm__ volatile("wfi");
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
