/* See power_model.h. The currents are a model, not a measurement: every figure the virtual
 * board produces from them is labelled "simulated" by the host. */
#include "power_model.h"

_Static_assert(QTD_BOARD_SIM_STATES == PM_STATES,
               "the board file's sim_ua states are pm_state_t's (boards.py SIM_STATES)");

/* The board file's table (board_config.h, generated): uA per state and rail; the upstream rail's
 * column is 0, its current computed below. */
static const uint32_t k_bus_mv[] = QTD_BOARD_SIM_BUS_MV;
static const uint32_t k_current_ua[PM_STATES][sizeof k_bus_mv / sizeof k_bus_mv[0]] =
    QTD_BOARD_SIM_CURRENT_UA;

uint32_t power_model_bus_mv(unsigned rail) {
    return rail < PM_RAILS ? k_bus_mv[rail] : 0;
}

uint32_t power_model_current_ua(pm_state_t state, unsigned rail) {
    if (state >= PM_STATES || rail >= PM_RAILS)
        return 0;
    if (rail != QTD_BOARD_SIM_UPSTREAM_RAIL)
        return k_current_ua[state][rail];
    uint64_t downstream_uw = 0;
    for (unsigned r = 0; r < PM_RAILS; r++)
        if (r != QTD_BOARD_SIM_UPSTREAM_RAIL)
            downstream_uw += (uint64_t)k_bus_mv[r] * k_current_ua[state][r] / 1000u;
    /* I = P / (eta x V), in uA: uW x 100 / (eta% x mV) x 1000 / 1000 */
    return (uint32_t)(downstream_uw * 100u * 1000u /
                      ((uint64_t)QTD_BOARD_SIM_EFFICIENCY_PCT * k_bus_mv[rail]));
}

uint64_t power_model_power_uw(pm_state_t state, unsigned rail) {
    return (uint64_t)power_model_bus_mv(rail) * power_model_current_ua(state, rail) / 1000u;
}

void power_model_init(power_model_t *pm, uint64_t seed, uint32_t noise_ppm) {
    pm->state = PM_IDLE;
    pm->noise_ppm = noise_ppm;
    pm->rng = seed ? seed : 0x9E3779B97F4A7C15ull;
}

void power_model_set_state(power_model_t *pm, pm_state_t state) {
    if (state < PM_STATES)
        pm->state = state;
}

static double uniform_pm1(power_model_t *pm) {
    uint64_t x = pm->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    pm->rng = x;
    return (double)(x >> 11) / (double)(1ull << 52) - 1.0; /* [-1, 1) */
}

void power_model_sample(power_model_t *pm, unsigned rail, double *bus_v, double *current_a) {
    double i = power_model_current_ua(pm->state, rail) * 1e-6;
    if (pm->noise_ppm)
        i *= 1.0 + uniform_pm1(pm) * pm->noise_ppm * 1e-6;
    *bus_v = power_model_bus_mv(rail) * 1e-3;
    *current_a = i < 0 ? 0 : i;
}
