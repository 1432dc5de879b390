/* The virtual board's power wiring: the board file's PAC1934 monitors as register models on the
 * I2C bus, each channel fed by the power model's rail wired to it, and the accelerator's busy
 * hook driving the activity state. One wiring for both virtual boards: hal/posix's host build and
 * the RP2040 emulator's parts (firmware/emu/parts_wasm.c).
 *
 * QTD_SIM_ABSENT_MONITORS=0x12[,0x11] in the environment leaves those monitors off the bus (they
 * NACK, as a monitor with a broken ADDRSEL resistor or no supply would): the tests' way in. */
#define _DEFAULT_SOURCE
#include "power_wiring.h"

#include <stdlib.h>

#include "accel_model.h"
#include "activity.h"
#include "hal.h"
#include "pac1934_model.h"

#define POWER_NOISE_PPM 20000u /* protocol/power.md §3: +-2 % on each current */
#define POWER_SEED      0x5EED0007u

static pac1934_model_t g_pac[QTD_MAX_MONITORS];
static const qtd_board_t *g_board;

/* The analog side of monitor m's channel ch: the power model's rail wired to it. */
static void pac_sample(void *ctx, unsigned ch, double *bus_v, double *current_a) {
    unsigned m = (unsigned)(uintptr_t)ctx;
    *bus_v = 0, *current_a = 0;
    for (unsigned r = 0; r < g_board->rail_count; r++) {
        if (g_board->rails[r].monitor == m && g_board->rails[r].channel == ch && r < PM_RAILS) {
            power_model_sample(sim_power_model(), r, bus_v, current_a);
        }
    }
}

static bool monitor_absent(uint8_t addr7) {
    const char *env = getenv("QTD_SIM_ABSENT_MONITORS");
    while (env != NULL && *env) {
        char *end;
        unsigned long a = strtoul(env, &end, 0);
        if (end == env) {
            break;
        }
        if (a == addr7) {
            return true;
        }
        env = *end == ',' ? end + 1 : end;
    }
    return false;
}

/* The accelerator computing a window: PM_INFERRING from START to DONE, at their own instants. */
static void on_accel_busy(bool busy, uint64_t t_us) {
    sim_activity_set_at(busy ? PM_INFERRING : PM_IDLE, t_us);
}

void sim_power_wiring_init(const qtd_board_t *board) {
    g_board = board;
    power_model_init(sim_power_model(), POWER_SEED, POWER_NOISE_PPM);
    pac1934_bus_reset();
    accel_model_set_busy_hook(on_accel_busy);
    for (unsigned m = 0; m < board->monitor_count && m < QTD_MAX_MONITORS; m++) {
        uint32_t shunt[4] = {0, 0, 0, 0};
        for (unsigned r = 0; r < board->rail_count; r++) {
            if (board->rails[r].monitor == m && board->rails[r].channel < 4u) {
                shunt[board->rails[r].channel] = board->rails[r].shunt_uohm;
            }
        }
        pac1934_model_init(&g_pac[m], board->monitors[m].addr7, shunt, pac_sample, (void *)(uintptr_t)m,
                           hal_time_us());
        if (!monitor_absent(board->monitors[m].addr7)) {
            pac1934_bus_attach(&g_pac[m]);
        }
    }
}
