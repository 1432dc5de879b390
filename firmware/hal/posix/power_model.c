/* See power_model.h. The currents are a model, not a measurement: every figure the virtual
 * board produces from them is labelled "simulated" by the host. */
#include "power_model.h"

static const uint32_t k_bus_mv[PM_RAILS] = {3300, 5000, 3300, 3300, 3300, 1800, 1000, 1000};

/* uA per rail and state. usb_raw is computed (the other rails through 85 %-efficient
 * regulators from 5 V), so its column here is 0. FPGA inferring totals 71.0 mW, inside the
 * paper's 63-79 mW average for the accelerator (no RTL power estimate has landed yet). */
static const uint32_t k_current_ua[PM_STATES][PM_RAILS] = {
    /*              sensors usb  mcu    wifi vccio vccaux vccint vccbram */
    [PM_IDLE] = {2000, 0, 18000, 0, 1000, 5000, 12000, 1000},
    [PM_CONFIGURING] = {2000, 0, 20000, 0, 6000, 12000, 20000, 1000},
    [PM_LOADING] = {2000, 0, 24000, 0, 4000, 6000, 25000, 8000},
    [PM_INFERRING] = {2000, 0, 20000, 0, 2000, 8000, 45000, 5000},
    /* the MCU computing at full speed (as when it streams weights), the FPGA idle */
    [PM_MCU_INFERRING] = {2000, 0, 24000, 0, 1000, 5000, 12000, 1000},
};

#define USB_EFFICIENCY_PCT 85u

uint32_t power_model_bus_mv(unsigned rail) {
    return rail < PM_RAILS ? k_bus_mv[rail] : 0;
}

uint32_t power_model_current_ua(pm_state_t state, unsigned rail) {
    if (state >= PM_STATES || rail >= PM_RAILS)
        return 0;
    if (rail != PM_USB_RAW)
        return k_current_ua[state][rail];
    uint64_t downstream_uw = 0;
    for (unsigned r = 0; r < PM_RAILS; r++)
        if (r != PM_USB_RAW)
            downstream_uw += (uint64_t)k_bus_mv[r] * k_current_ua[state][r] / 1000u;
    /* I = P / (eta x 5 V), in uA: uW x 100 / (eta% x mV) x 1000 / 1000 */
    return (uint32_t)(downstream_uw * 100u * 1000u / ((uint64_t)USB_EFFICIENCY_PCT * k_bus_mv[PM_USB_RAW]));
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
