/* The PAC193x driver (core/pac193x.c) against the register-level PAC1934 model
 * (hal/posix/pac1934_model.c) fed by the virtual board's power model, on a simulated clock.
 * Built and run by tests/firmware/test_pac193x.py with cc directly (not by the Makefile's
 * test_* rule, which links the rest of the virtual board and its real-time clock).
 *
 * What must hold: every register path the driver uses behaves as the chip's; energy from the
 * 48-bit accumulators at each of the four sample rates equals the analytic integral of the
 * power profile within 1 %; a rate change is accounted at the rate of each window. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hal.h"
#include "pac1934_model.h"
#include "power_model.h"
#include "qtd/pac193x.h"

static int passed, failed;
#define CHECK(c) ((c) ? (void)passed++ : (void)(failed++, printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c)))

/* ---- the HAL seams the driver uses: I2C to the model bus, a simulated clock ---------------- */
static uint64_t g_now;
uint64_t hal_time_us(void) { return g_now; }
void hal_delay_us(uint32_t us) { g_now += us; }
bool hal_i2c_write(uint8_t a, const uint8_t *b, size_t n) { return pac1934_bus_write(a, b, n, g_now); }
bool hal_i2c_read(uint8_t a, uint8_t *b, size_t n) { return pac1934_bus_read(a, b, n, g_now); }

typedef struct { power_model_t *pm; unsigned rail0; } wiring_t;
static void sample(void *ctx, unsigned ch, double *v, double *i) {
    wiring_t *w = ctx;
    power_model_sample(w->pm, w->rail0 + ch, v, i);
}

static const uint32_t k_shunt[4] = {820000u, 820000u, 820000u, 820000u};
static power_model_t g_pm;
static wiring_t g_wire_sys = {&g_pm, 0}, g_wire_fpga = {&g_pm, 4};
static pac1934_model_t g_sys, g_fpga;
static qtd_pac_t g_pac_sys, g_pac_fpga;
static double g_expect_nj[PM_RAILS]; /* the analytic integral of the profile */

static void setup(uint32_t noise_ppm, uint16_t rate) {
    g_now = 1000;
    pac1934_bus_reset();
    power_model_init(&g_pm, 12345, noise_ppm);
    pac1934_model_init(&g_sys, 0x11, k_shunt, sample, &g_wire_sys, g_now);
    pac1934_model_init(&g_fpga, 0x12, k_shunt, sample, &g_wire_fpga, g_now);
    CHECK(pac1934_bus_attach(&g_sys) && pac1934_bus_attach(&g_fpga));
    g_pac_sys = (qtd_pac_t){.addr7 = 0x11, .shunt_uohm = {820000u, 820000u, 820000u, 820000u}};
    g_pac_fpga = g_pac_sys;
    g_pac_fpga.addr7 = 0x12;
    CHECK(qtd_pac_init(&g_pac_sys, rate) == QTD_PAC_OK);
    CHECK(qtd_pac_init(&g_pac_fpga, rate) == QTD_PAC_OK);
    memset(g_expect_nj, 0, sizeof g_expect_nj);
}

/* Hold a state for us microseconds, adding its exact energy to the expectation. */
static void run(pm_state_t s, uint64_t us) {
    power_model_set_state(&g_pm, s);
    for (unsigned r = 0; r < PM_RAILS; r++) g_expect_nj[r] += (double)power_model_power_uw(s, r) * us * 1e-3;
    g_now += us;
}

static double rel_err(double got, double want) { return want == 0 ? fabs(got) : fabs(got - want) / want; }

static void test_identity_and_nack(void) {
    setup(0, 1024);
    CHECK(g_pac_sys.channels == 4 && g_pac_sys.revision == 0x03 && g_pac_sys.rate_sps == 1024);
    qtd_pac_t absent = {.addr7 = 0x13, .shunt_uohm = {1, 1, 1, 1}};
    CHECK(qtd_pac_init(&absent, 1024) == QTD_PAC_NACK);
    CHECK(qtd_pac_init(&g_pac_sys, 100) == QTD_PAC_BAD_ARG);
    uint8_t three[3] = {0x01, 0x02, 0x03};
    CHECK(!hal_i2c_write(0x11, three, 3));      /* no block write */
    uint8_t ro[2] = {QTD_PAC_VBUS1, 0};
    CHECK(!hal_i2c_write(0x11, ro, 2));         /* read-only register */
}

static void test_ctrl_takes_effect_at_refresh(void) {
    setup(0, 1024);
    uint8_t w[2] = {QTD_PAC_CTRL, 0xC0}, reg = QTD_PAC_CTRL_ACT, act[4];
    CHECK(hal_i2c_write(0x11, w, 2));
    CHECK(hal_i2c_write(0x11, &reg, 1) && hal_i2c_read(0x11, act, 4));
    CHECK(qtd_pac_rate_from_ctrl(act[0]) == 1024);       /* not yet */
    uint8_t refresh = QTD_PAC_REFRESH;
    CHECK(hal_i2c_write(0x11, &refresh, 1));
    CHECK(hal_i2c_write(0x11, &reg, 1) && hal_i2c_read(0x11, act, 4));
    CHECK(qtd_pac_rate_from_ctrl(act[0]) == 8 && qtd_pac_rate_from_ctrl(act[3]) == 1024);
    /* the pointer skips 0x1E/0x1F: CHANNEL_DIS, NEG_PWR, SLOW, CTRL_ACT */
    uint8_t dis = QTD_PAC_CHANNEL_DIS, blk[4];
    CHECK(hal_i2c_write(0x11, &dis, 1) && hal_i2c_read(0x11, blk, 4));
    CHECK(blk[0] == 0 && blk[1] == 0 && blk[3] == 0xC0);
}

static void test_readings(void) {
    setup(0, 1024);
    run(PM_IDLE, 100000);
    qtd_pac_block_t b;
    CHECK(qtd_pac_update(&g_pac_fpga, false, &b) == QTD_PAC_OK);
    for (unsigned ch = 0; ch < 4; ch++) {
        qtd_pac_reading_t r = qtd_pac_reading(&g_pac_fpga, &b, ch);
        double want_ua = power_model_current_ua(PM_IDLE, 4 + ch), want_uw = (double)power_model_power_uw(PM_IDLE, 4 + ch);
        CHECK(abs((int)r.bus_mv - (int)power_model_bus_mv(4 + ch)) <= 1);
        CHECK(rel_err(r.current_ua, want_ua) < 0.005);
        CHECK(rel_err(r.power_uw, want_uw) < 0.005);
        CHECK(!r.saturated);
        CHECK(b.vbus_avg[ch] == b.vbus[ch] && b.vsense_avg[ch] == b.vsense[ch]); /* no noise */
    }
    /* REFRESH_V: live values, accumulators keep running, no energy booked */
    /* REFRESH at 2000 us (init), REFRESH_V at 103000: 101 ms of 1024 SPS */
    CHECK(b.acc_count == 103 && g_pac_fpga.energy_nj[2] == 0);
    run(PM_IDLE, 100000);
    CHECK(qtd_pac_update(&g_pac_fpga, false, &b) == QTD_PAC_OK);
    CHECK(b.acc_count == 206 && g_pac_fpga.energy_nj[2] == 0); /* 202 ms */
}

static void test_saturation_and_disabled(void) {
    setup(0, 1024);
    qtd_pac_t half = {.addr7 = 0x11, .shunt_uohm = {820000u, 0, 820000u, 0}};
    CHECK(qtd_pac_init(&half, 1024) == QTD_PAC_OK);
    g_sys.shunt_uohm[0] = 50000000u; /* 50 ohm on the model: 2 mA x 50 = 100 mV, full scale */
    run(PM_IDLE, 50000);
    qtd_pac_block_t b;
    CHECK(qtd_pac_update(&half, true, &b) == QTD_PAC_OK);
    CHECK(qtd_pac_reading(&half, &b, 0).saturated);
    CHECK(b.vpower_acc[1] == 0 && b.vbus[3] == 0 && b.vpower_acc[2] > 0);
}

static void test_energy_math(void) {
    /* 2^28 codes for 1024 samples at 1024 SPS = full scale for 1 s = 3.2 / 0.82 J */
    CHECK(qtd_pac_energy_nj((uint64_t)1 << 38, 820000u, 1024) == 3902439024ll);
    CHECK(qtd_pac_energy_nj(0xFFFFFFFFFFFFull, 1000u, 8) == 419430399999998509ll); /* 2^48-1 at 1 mohm, 8 SPS: beyond 64 bits mid-way */
    CHECK(qtd_pac_muldiv(0xFFFFFFFFFFFFFFFFull, 0xFFFFFFFFull, 0xFFFFFFFFull) == 0xFFFFFFFFFFFFFFFFull);
}

/* A profile with every state, at a rate; energy via REFRESH every `refresh_ms`. */
static void test_energy_profile(uint16_t rate, uint32_t noise_ppm, uint64_t scale) {
    setup(noise_ppm, rate);
    static const struct { pm_state_t s; uint64_t us; } prof[] = {
        {PM_IDLE, 400000}, {PM_CONFIGURING, 131000}, {PM_LOADING, 250000}, {PM_INFERRING, 700000},
        {PM_IDLE, 300000}, {PM_INFERRING, 900000}, {PM_IDLE, 200000},
    };
    for (unsigned k = 0; k < sizeof prof / sizeof prof[0]; k++) {
        run(prof[k].s, prof[k].us * scale);
        CHECK(qtd_pac_update(&g_pac_sys, true, NULL) == QTD_PAC_OK);
        CHECK(qtd_pac_update(&g_pac_fpga, true, NULL) == QTD_PAC_OK);
        /* the REFRESH waits are time too, spent in the last state */
        run(prof[k].s, 0);
        for (unsigned r = 0; r < PM_RAILS; r++)
            g_expect_nj[r] += (double)power_model_power_uw(prof[k].s, r) * QTD_PAC_REFRESH_WAIT_US * 2e-3;
    }
    double worst = 0;
    for (unsigned r = 0; r < PM_RAILS; r++) {
        const qtd_pac_t *p = r < 4 ? &g_pac_sys : &g_pac_fpga;
        double e = rel_err((double)p->energy_nj[r % 4], g_expect_nj[r]);
        if (e > worst) worst = e;
        CHECK(e < 0.01);
    }
    uint64_t dur_us = g_now - 1000;
    printf("energy rate=%u noise=%uppm duration=%.1fs worst_rail_error=%.4f%% samples=%llu\n", rate, noise_ppm,
           dur_us * 1e-6, worst * 100, (unsigned long long)g_pac_fpga.samples);
    CHECK(llabs((long long)g_pac_fpga.samples - (long long)(dur_us * rate / 1000000u)) <= 8);
}

/* The reference runtime's bugs: a long window whose accumulator needs all 48 bits, and a rate
 * change whose two windows must each be booked at their own rate. */
static void test_wide_accumulator_and_rate_change(void) {
    setup(0, 1024);
    run(PM_INFERRING, 600u * 1000000u);
    qtd_pac_block_t b;
    CHECK(qtd_pac_update(&g_pac_fpga, true, &b) == QTD_PAC_OK);
    CHECK(b.vpower_acc[2] > ((uint64_t)1 << 40)); /* vccint: 3 bytes would keep < 2^24 of it */
    CHECK(rel_err((double)g_pac_fpga.energy_nj[2], g_expect_nj[6]) < 0.01);
    setup(0, 1024);
    run(PM_INFERRING, 500000);
    CHECK(qtd_pac_set_rate(&g_pac_fpga, 64) == QTD_PAC_OK && g_pac_fpga.rate_sps == 64);
    run(PM_INFERRING, 1000000);
    CHECK(qtd_pac_update(&g_pac_fpga, true, &b) == QTD_PAC_OK);
    CHECK(b.window_rate_sps == 64 && b.acc_count == 64);
    for (unsigned r = 4; r < 8; r++) g_expect_nj[r] += (double)power_model_power_uw(PM_INFERRING, r) * 1.0; /* refresh waits */
    CHECK(rel_err((double)g_pac_fpga.energy_nj[2], g_expect_nj[6]) < 0.01);
}

int main(void) {
    test_identity_and_nack();
    test_ctrl_takes_effect_at_refresh();
    test_readings();
    test_saturation_and_disabled();
    test_energy_math();
    static const uint16_t rates[] = {1024, 256, 64, 8};
    /* Every state lasts at least ~260 sample periods at each rate: below that the sampling
     * itself (one sample-and-hold period at each state change), not the driver, sets the error. */
    for (unsigned i = 0; i < 4; i++) test_energy_profile(rates[i], 0, 2048u / rates[i]);
    for (unsigned i = 0; i < 4; i++) test_energy_profile(rates[i], 20000, 4096u / rates[i]);
    test_wide_accumulator_and_rate_change();
    printf("SUMMARY pac193x passed=%d failed=%d\n", passed, failed);
    return failed ? 1 : 0;
}
