/* Loads and drives a Verilated-RTL library (rtl_backend.h, rtl_backend.cpp). */
#define _DEFAULT_SOURCE
#include "rtl_backend.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accel_model.h"
#include "hal.h"
#include "qtd/sha256.h"

#define CLOCK_HZ 100000000u /* rtl/qtd_top.v CLOCK_HZ; the descriptor's clock_hz says the same */
#define MAX_XFER 8192u

static const char *g_dir;
static void *g_lib;
static int (*g_open)(void);
static void (*g_close)(void);
static void (*g_spi)(const uint8_t *, uint8_t *, size_t);
static void (*g_run)(uint64_t);
static int (*g_take_iprog)(void);
static uint64_t g_last_us;
static bool g_busy;    /* the engine may be running: the last ST said BUSY, or a window went in */
static bool g_st_busy; /* STATUS.BUSY as the last ST byte showed it (the power model's hook) */

void rtl_backend_set_dir(const char *dir) {
    g_dir = dir;
}

void rtl_backend_unconfigure(void) {
    if (g_st_busy) {
        g_st_busy = false;
        accel_model_report_busy(false, hal_time_us());
    }
    if (g_lib != NULL) {
        g_close();
        dlclose(g_lib);
        g_lib = NULL;
    }
}

bool rtl_backend_configure(const char *design, size_t len, char *err, size_t err_len) {
    rtl_backend_unconfigure();
    if (design == NULL || len == 0) {
        snprintf(err, err_len,
                 "--fpga rtl: the bitstream carries no design descriptor, so there is no RTL to run");
        return false;
    }
    qtd_sha256_t h;
    uint8_t d[QTD_SHA256_SIZE];
    qtd_sha256_init(&h);
    qtd_sha256_update(&h, (const uint8_t *)design, len);
    qtd_sha256_final(&h, d);
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/qtd-rtl-", g_dir ? g_dir : ".");
    for (int i = 0; i < 8 && n > 0 && (size_t)n + 3 < sizeof path; i++) {
        n += snprintf(path + n, sizeof path - (size_t)n, "%02x", d[i]);
    }
    snprintf(path + n, sizeof path - (size_t)n, ".so");
    g_lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (g_lib == NULL) {
        snprintf(err, err_len,
                 "--fpga rtl: no Verilated RTL for this design (%s); `qtdeploy sim --fpga rtl` builds it",
                 dlerror());
        return false;
    }
    *(void **)&g_open = dlsym(g_lib, "qtd_rtl_open");
    *(void **)&g_close = dlsym(g_lib, "qtd_rtl_close");
    *(void **)&g_spi = dlsym(g_lib, "qtd_rtl_spi");
    *(void **)&g_run = dlsym(g_lib, "qtd_rtl_run");
    *(void **)&g_take_iprog = dlsym(g_lib, "qtd_rtl_take_iprog"); /* optional: an older library has none */
    if (!g_open || !g_close || !g_spi || !g_run || !g_open()) {
        snprintf(err, err_len, "--fpga rtl: %s lacks the qtd_rtl_* entry points", path);
        dlclose(g_lib);
        g_lib = NULL;
        return false;
    }
    g_last_us = hal_time_us();
    return true;
}

void rtl_backend_xfer(const uint8_t *out, size_t out_len, uint8_t *in, size_t in_len) {
    static uint8_t mosi[MAX_XFER], miso[MAX_XFER];
    size_t total = out_len + in_len;
    if (g_lib == NULL || total > MAX_XFER) {
        for (size_t i = 0; i < in_len; i++) {
            in[i] = 0xFF; /* no design answering: MISO floats high */
        }
        return;
    }
    /* The engine runs for the virtual time since the last transaction, while it is busy: idle
     * clocks change nothing, and simulating them would let a slow simulation chase the clock. */
    uint64_t now = hal_time_us();
    uint64_t cycles = (now - g_last_us) * (CLOCK_HZ / 1000000u);
    if (g_busy) {
        g_run(cycles < RTL_CATCHUP_CYCLES ? cycles : RTL_CATCHUP_CYCLES);
    }
    memcpy(mosi, out, out_len);
    memset(mosi + out_len, 0, in_len);
    g_spi(mosi, miso, total);
    g_last_us = hal_time_us();
    if (((miso[0] & 0x01u) != 0) != g_st_busy) {
        g_st_busy = !g_st_busy;
        accel_model_report_busy(g_st_busy, g_last_us); /* seen at this transaction's CS fall */
    }
    g_busy =
        (miso[0] & 0x01u) != 0 || (out[0] == 0x00 && total > 1 && (miso[total - 1] & 0x01u)) ||
        (out[0] == 0x80 && out_len >= 3 && out[1] == 0x10); /* a write into the input window may AUTO_START */
    memcpy(in, miso + out_len, in_len);
}

bool rtl_backend_take_iprog(uint32_t *addr) {
    if (g_lib == NULL || g_take_iprog == NULL || !g_take_iprog()) {
        return false;
    }
    /* the address the sequencer sent to ICAPE2 is MULTIBOOT_ADDR[28:0]: read it back as the MCU would */
    uint8_t mosi[8] = {0x40, 0x00, 0x60, 0x00}, miso[8];
    g_spi(mosi, miso, sizeof mosi);
    *addr = ((uint32_t)miso[4] | (uint32_t)miso[5] << 8 | (uint32_t)miso[6] << 16 | (uint32_t)miso[7] << 24) &
            0x1FFFFFFFu;
    return true;
}
