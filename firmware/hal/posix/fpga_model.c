/* Virtual Spartan-7 (see fpga_model.h). Its packet walk is written independently of the
 * core's bitstream.c on purpose: the model stands for the silicon, and two readings of UG470
 * that agree are a better check than one shared one. */
#include "fpga_model.h"

#include <stdio.h>
#include <string.h>

#include "accel_model.h"
#include "activity.h"
#include "hal.h"
#include "rtl_backend.h"
#include "qtd/protocol.h"

#define SYNC         0xAA995566u
#define REG_IDCODE   0x0Cu
#define REG_AXSS     0x0Du
#define REG_TIMER    0x11u
#define T_INIT_US    1000u       /* INIT_B rises ~1 ms after PROG_B is released */
#define DESIGN_MAGIC 0x51544444u /* "QTDD": a simulated bitstream's design descriptor (bitstream.md) */
#define DESIGN_MAX   4096u

typedef enum { PH_OFF, PH_CLEARING, PH_INIT, PH_CONFIGURING, PH_DONE, PH_ERROR } phase_t;

static fpga_model_config_t g_cfg;
static bool g_held;
static bool g_prog_b = true;
static phase_t g_phase = PH_OFF;
static uint64_t g_phase_end_us;
static uint32_t g_wbstar;
static uint32_t g_abi;
static bool g_config_ok;
static char g_error[96];
static bool g_no_sync;
static uint32_t g_timer; /* TIMER as the golden image wrote it: non-zero arms the configuration watchdog */
static char g_design[DESIGN_MAX]; /* the descriptor found in the frame data, copied at configuration */
static uint32_t g_design_len;
static bool g_rtl;        /* --fpga rtl: the Verilated RTL answers the fabric SPI instead of the C model */
static bool g_rtl_active; /* ... and its library for the configured design is loaded */
static bool g_fell_back;  /* BOOTSTS.FALLBACK: the last configuration came from the golden image */

void fpga_model_init(const fpga_model_config_t *cfg) {
    g_cfg = *cfg;
    g_held = false;
    g_prog_b = true;
    g_phase = PH_OFF;
    g_wbstar = 0; /* power-up: WBSTAR is 0, configuration starts at the golden image */
    g_abi = 0;
    g_error[0] = 0;
    g_fell_back = false;
}

bool fpga_model_fell_back(void) {
    return g_fell_back;
}

bool fpga_model_bus_held(void) {
    return g_held;
}

void fpga_model_use_rtl(const char *lib_dir) {
    g_rtl = true;
    rtl_backend_set_dir(lib_dir);
}
const char *fpga_model_last_error(void) {
    return g_error;
}

static uint32_t be32(uint32_t at) {
    const uint8_t *p = g_cfg.flash + at;
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Read the bitstream at g_wbstar as the configuration logic would. Returns its length in
 * bytes, or 0 when the configuration fails (g_error says why). */
static uint32_t load_bitstream(void) {
    uint32_t at = g_wbstar;
    uint32_t end = g_cfg.flash_size;
    uint32_t window = 0;
    bool synced = false;
    while (at < end && at < g_wbstar + 4096u && !synced) {
        window = (window << 8) | g_cfg.flash[at++];
        synced = window == SYNC;
    }
    g_no_sync = !synced;
    if (!synced) {
        snprintf(g_error, sizeof g_error, "no sync word at 0x%08x", g_wbstar);
        return 0;
    }
    bool idcode_ok = false;
    g_abi = 0;
    g_design_len = 0;
    while (at + 4 <= end) {
        uint32_t hdr = be32(at);
        uint32_t type = hdr >> 29;
        uint32_t words;
        at += 4;
        if (type == 1u) {
            uint32_t reg = (hdr >> 13) & 0x1Fu;
            words = hdr & 0x7FFu;
            bool write = ((hdr >> 27) & 3u) == 2u;
            if (write && words >= 1 && at + 4 <= end && reg == REG_IDCODE) {
                if (be32(at) != g_cfg.idcode) {
                    snprintf(g_error, sizeof g_error, "IDCODE 0x%08x is not this part (0x%08x)", be32(at),
                             g_cfg.idcode);
                    return 0;
                }
                idcode_ok = true;
            }
            if (write && words >= 1 && at + 4 <= end && reg == REG_TIMER && g_wbstar == 0) {
                g_timer = be32(at); /* the golden image's watchdog setting (BITSTREAM.CONFIG.TIMER_CFG) */
            }
            if (write && words >= 1 && at + 4 <= end && reg == REG_AXSS) {
                g_abi = be32(at);
            }
        } else if (type == 2u) {
            words = hdr & 0x07FFFFFFu;
            /* the frame data: a simulated design describes itself in its first words */
            if (words >= 2 && at + 8 <= end && be32(at) == DESIGN_MAGIC) {
                uint32_t n = be32(at + 4);
                if (n <= DESIGN_MAX && n <= (words - 2u) * 4u && at + 8u + n <= end) {
                    memcpy(g_design, g_cfg.flash + at + 8, n);
                    g_design_len = n;
                }
            }
        } else {
            break; /* erased flash (0xFFFFFFFF) or padding: the stream has ended */
        }
        if (words > (end - at) / 4u) {
            break;
        }
        at += words * 4u;
    }
    if (!idcode_ok) {
        snprintf(g_error, sizeof g_error, "no IDCODE packet: the part refuses to start");
        return 0;
    }
    return at - g_wbstar;
}

static void advance(void) {
    uint64_t now = hal_time_us();
    if (g_phase == PH_INIT && now >= g_phase_end_us) {
        uint32_t len = 0;
        if (g_held) {
            snprintf(g_error, sizeof g_error, "flash bus held by the MCU when configuration began");
            g_no_sync = true; /* the part reads nothing but the MCU's bus: no sync word */
            if (g_cfg.on_violation) {
                g_cfg.on_violation("configuration began while the MCU held the FPGA off the flash bus");
            }
        } else {
            len = load_bitstream();
        }
        g_config_ok = len != 0;
        if (!g_config_ok && g_wbstar != 0 && (!g_no_sync || g_timer != 0)) {
            /* UG470 "MultiBoot fallback": an IDCODE or CRC error at the MultiBoot address, or the
             * configuration watchdog (armed only if the golden image wrote TIMER) while hunting for
             * a sync word, makes the part reset and load the golden image from address 0 instead.
             * Without the watchdog a missing sync word hangs the part (below): DONE never rises */
            fprintf(stderr, "qtd-virtual-board: configuration at 0x%08x failed (%s): fallback to 0\n",
                    g_wbstar, g_error);
            g_wbstar = 0;
            g_fell_back = true;
            g_phase_end_us = now + T_INIT_US;
            return;
        }
        g_phase = PH_CONFIGURING;
        uint64_t bits = (uint64_t)(len ? len : 4096u) * 8u;
        g_phase_end_us = now + bits * 1000000u / g_cfg.config_bits_per_s;
        if (g_no_sync) {
            g_phase_end_us = UINT64_MAX; /* the part keeps hunting for a sync word: DONE never rises */
        } else if (!g_config_ok) {
            g_phase = PH_ERROR; /* a bad IDCODE packet pulls INIT_B low at once (UG470) */
            sim_activity_set(PM_IDLE);
        }
    }
    if (g_phase == PH_CONFIGURING && now >= g_phase_end_us) {
        g_phase = g_config_ok ? PH_DONE : PH_ERROR;
        sim_activity_set_at(PM_IDLE, g_phase_end_us); /* power model: configuration over */
        if (g_phase == PH_DONE) {
            char err[256];
            const char *design = g_design_len ? g_design : NULL;
            g_rtl_active = g_rtl && rtl_backend_configure(design, g_design_len, err, sizeof err);
            if (g_rtl && !g_rtl_active) {
                /* no RTL for this design: the fabric still answers ID and ABI (configuration
                 * succeeds, as with a bitstream without a design), but has no engine */
                fprintf(stderr, "qtd-virtual-board: FPGA design without an engine: %s\n", err);
                accel_model_configure(NULL, 0, g_abi, err, sizeof err);
            } else if (!g_rtl && !accel_model_configure(design, g_design_len, g_abi, err, sizeof err)) {
                fprintf(stderr, "qtd-virtual-board: FPGA design without an engine: %s\n", err);
            }
        }
    }
}

void hal_fpga_hold_bus(bool hold) {
    advance();
    if (hold && (g_phase == PH_INIT || g_phase == PH_CONFIGURING)) {
        snprintf(g_error, sizeof g_error, "MCU took the flash bus during configuration");
        g_phase = PH_ERROR;
        if (g_cfg.on_violation) {
            g_cfg.on_violation("MCU held the FPGA off the shared flash bus while it was configuring");
        }
    }
    g_held = hold;
}

static void clear_design(void) {
    g_abi = 0;
    accel_model_unconfigure();
    rtl_backend_unconfigure();
    g_rtl_active = false;
}

/* The running design issued IPROG through ICAPE2 (WBSTAR <- addr, CMD <- IPROG, UG470 ch. 7):
 * the configuration memory clears (DONE low) and the part reconfigures from addr, keeping WBSTAR.
 * Only the design can do this; no MCU pin reaches WBSTAR. */
static void iprog(uint32_t addr) {
    clear_design();
    g_wbstar = addr & 0x1FFFFFFFu; /* WBSTAR START_ADDR[28:0] */
    g_fell_back = false;
    g_error[0] = 0;
    g_phase = PH_INIT;
    g_phase_end_us = hal_time_us() + T_INIT_US;
    sim_activity_set(PM_CONFIGURING);
}

static void take_iprog(void) {
    uint32_t addr;
    if (g_rtl_active ? rtl_backend_take_iprog(&addr) : accel_model_take_iprog(&addr)) {
        iprog(addr);
    }
}

void hal_fpga_prog_b(bool level) {
    advance();
    if (!level) {
        /* PROG_B resets the configuration logic, WBSTAR and BOOTSTS with it (UG470 ch. 7): the
         * configuration that follows always starts at address 0, the golden image */
        g_phase = PH_CLEARING;
        g_wbstar = 0;
        g_timer = 0;
        g_fell_back = false;
        clear_design();
    } else if (!g_prog_b) {
        /* rising edge: housekeeping, then the configuration reads the flash */
        g_phase = PH_INIT;
        g_phase_end_us = hal_time_us() + T_INIT_US;
        sim_activity_set(PM_CONFIGURING); /* power model: housekeeping + configuration */
        g_error[0] = 0;
    }
    g_prog_b = level;
}

bool hal_fpga_init_b(void) {
    advance();
    /* low while clearing (and the first ms after), low after a failed configuration */
    return g_phase == PH_OFF || g_phase == PH_CONFIGURING || g_phase == PH_DONE;
}

bool hal_fpga_done(void) {
    advance();
    return g_phase == PH_DONE;
}

void hal_fabric_xfer(const uint8_t *out, size_t out_len, uint8_t *in, size_t in_len) {
    advance();
    if (g_phase != PH_DONE) {
        if (in_len) {
            memset(in, 0xFF, in_len); /* an unconfigured fabric leaves MISO floating high */
        }
        return;
    }
    if (g_rtl_active) {
        rtl_backend_xfer(out, out_len, in, in_len);
        take_iprog();
    } else {
        accel_model_xfer(out, out_len, in, in_len);
        take_iprog();
    }
}

/* The fabric SPI one byte at a time, for a bus master that clocks bytes singly (the RP2040
 * emulator, firmware/emu): the same gating as hal_fabric_xfer, the C model only. */
static bool g_spi_live;
void fpga_model_spi_begin(void) {
    advance();
    g_spi_live = g_phase == PH_DONE && !g_rtl_active;
    if (g_spi_live) {
        accel_model_spi_begin();
    }
}
uint8_t fpga_model_spi_byte(uint8_t mosi) {
    return g_spi_live ? accel_model_spi_byte(mosi) : 0xFF;
}
void fpga_model_spi_end(void) {
    if (g_spi_live) {
        accel_model_spi_end();
        take_iprog(); /* the trigger acts when CS rises, after its fourth byte */
    }
}
