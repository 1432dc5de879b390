/* The accelerator's C model (see accel_model.h): the register interface of protocol/regmap.md
 * around the design and engine of accel_design.c. Written from the specs, independently of the
 * firmware's driver (core/accel.c): it is what the driver is checked against. */
#define _DEFAULT_SOURCE
#include "accel_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accel_design.h"
#include "hal.h"
#include "qtd/protocol.h"

#define VERSION_BUILD 0xC0u /* VERSION[31:16]: "C model" (the RTL puts its build number there) */
/* what the board's RTL top has (rtl/qtd_board.v: qtd_top MULTIBOOT = 1, FEATURES 0x0F) */
#define FEATURES (QTD_AFEAT_IRQ | QTD_AFEAT_SPI_CRC | QTD_AFEAT_MULTIBOOT | QTD_AFEAT_AUTO_START)

static struct {
    bool configured, engine;
    bool no_multiboot; /* the descriptor says multiboot=0: qtd_top built with MULTIBOOT = 0 */
    uint32_t abi;
    accel_design_t d;
    /* where the loader's stream stands (the RTL unpacks as bytes arrive: no random access) */
    bool cur_valid;
    uint32_t cur_tensor, next_off;
    /* registers */
    uint32_t ctrl, status, error_code, irq_enable, cycles_reg, infer_count, spi_last;
    uint32_t wload_tensor, wload_offset, lut_select, lut_offset, multiboot_addr;
    uint8_t iprog[4];
    bool iprog_pending; /* the IPROG sequencer ran: the FPGA model reconfigures from iprog_addr */
    uint32_t iprog_addr;
    uint8_t input[QTD_RM_INPUT_SIZE];
    uint8_t output[QTD_RM_OUTPUT_SIZE];
    int32_t pending_y[ACCEL_MAX_H];
    uint64_t busy_until;
} g;

static void (*g_busy_hook)(bool busy, uint64_t t_us);

void accel_model_set_busy_hook(void (*hook)(bool busy, uint64_t t_us)) {
    g_busy_hook = hook;
}

void accel_model_report_busy(bool busy, uint64_t t_us) {
    if (g_busy_hook) {
        g_busy_hook(busy, t_us);
    }
}

static void set_busy(bool busy, uint64_t t_us) {
    accel_model_report_busy(busy, t_us);
}

static void free_design(void) {
    accel_design_free(&g.d);
    memset(&g.d, 0, sizeof g.d);
}

void accel_model_unconfigure(void) {
    free_design();
    memset(&g, 0, sizeof g);
}

bool accel_model_configure(const char *design, size_t len, uint32_t abi, char *err, size_t err_len) {
    accel_model_unconfigure();
    g.configured = true;
    g.abi = abi;
    g.status = QTD_ASTAT_ALIVE;
    err[0] = 0;
    if (design == NULL || len == 0) {
        return true; /* an ID/ABI-only fabric (the board top's register shell): no engine */
    }
    /* "multiboot=0" among the design fields (before the ABI string): no IPROG sequencer */
    g.no_multiboot = false;
    for (size_t i = 0; i + 13 <= len; i++) {
        if (i + 14 <= len && accel_starts_with(design + i, "|qtdeploy-abi/", 14)) {
            break; /* the ABI string's fields are not design fields */
        }
        g.no_multiboot = g.no_multiboot || accel_starts_with(design + i, "|multiboot=0|", 13);
    }
    g.engine = accel_design_parse(&g.d, design, len, abi, err, err_len);
    return g.engine;
}

/* ---- registers ------------------------------------------------------------------------------ */

static void error(uint32_t code) {
    if (!(g.status & QTD_ASTAT_ERROR)) {
        g.error_code = code; /* the first error is kept */
    }
    g.status |= QTD_ASTAT_ERROR;
}

static void update(void) {
    if ((g.status & QTD_ASTAT_BUSY) && hal_time_us() >= g.busy_until) {
        g.status = (g.status & ~(uint32_t)QTD_ASTAT_BUSY) | QTD_ASTAT_DONE;
        g.cycles_reg = g.d.cycles;
        g.infer_count++;
        memset(g.output, 0, sizeof g.output);
        for (uint32_t o = 0; o < g.d.H; o++) {
            uint32_t y = (uint32_t)g.pending_y[o];
            for (unsigned b = 0; b < 4; b++) {
                g.output[4u * o + b] = (uint8_t)(y >> (8u * b));
            }
        }
        set_busy(false, g.busy_until); /* DONE rose at busy_until, whenever it is noticed */
    }
}

static uint32_t status_now(void) {
    uint32_t st = g.status & ~(uint32_t)(QTD_ASTAT_IRQ | QTD_ASTAT_MODEL_VALID);
    if (g.ctrl & QTD_ACTRL_MODEL_VALID) {
        st |= QTD_ASTAT_MODEL_VALID;
    }
    if (st & g.irq_enable) {
        st |= QTD_ASTAT_IRQ;
    }
    return st;
}

static void start(void) {
    if (g.status & QTD_ASTAT_BUSY) {
        error(QTD_AERR_START_BUSY);
        return;
    }
    if (!(g.ctrl & QTD_ACTRL_MODEL_VALID) || !g.engine) {
        error(QTD_AERR_NO_MODEL);
        return;
    }
    g.status = (g.status & ~(uint32_t)QTD_ASTAT_DONE) | QTD_ASTAT_BUSY;
    uint64_t now = hal_time_us(); /* BUSY runs from here, however long the host takes to compute */
    accel_design_compute(&g.d, g.input, g.pending_y);
    uint64_t us = ((uint64_t)g.d.cycles * 1000000u + g.d.clock_hz - 1u) / g.d.clock_hz;
    g.busy_until = now + us;
    set_busy(true, now);
}

static void reset(void) {
    bool was_busy = g.status & QTD_ASTAT_BUSY;
    g.status &= ~(uint32_t)(QTD_ASTAT_BUSY | QTD_ASTAT_DONE | QTD_ASTAT_ERROR);
    g.error_code = g.cycles_reg = g.infer_count = 0;
    if (was_busy) {
        set_busy(false, hal_time_us());
    }
}

static void wload(uint8_t byte) {
    if (g.status & QTD_ASTAT_BUSY) {
        error(QTD_AERR_LOAD_BUSY);
        return;
    }
    if (!g.engine || g.wload_tensor >= ACCEL_N_TENSORS) {
        error(QTD_AERR_BAD_TENSOR);
        return;
    }
    accel_bram_t *b = &g.d.t[g.wload_tensor];
    bool cont = g.cur_valid && g.cur_tensor == g.wload_tensor && g.next_off == g.wload_offset;
    if (g.wload_offset >= b->bytes || (!cont && g.wload_offset != 0)) {
        error(QTD_AERR_TENSOR_RANGE); /* past the end, or not where the stream left off */
        return;
    }
    b->mem[g.wload_offset++] = byte;
    b->stale = true;
    g.cur_valid = true;
    g.cur_tensor = g.wload_tensor;
    g.next_off = g.wload_offset;
}

static void lutload(uint8_t byte) {
    if (g.status & QTD_ASTAT_BUSY) {
        error(QTD_AERR_LOAD_BUSY);
        return;
    }
    if (!g.engine || g.lut_select >= 1u) {
        error(QTD_AERR_BAD_LUT);
        return;
    }
    if (g.lut_offset >= g.d.lut.bytes) {
        error(QTD_AERR_LUT_RANGE);
        return;
    }
    uint32_t entry = g.lut_offset / 2u;
    g.d.lut.mem[g.lut_offset++] = byte;
    g.d.lut.stale = true;
    g.d.lut_len = entry == 0 ? 1u : (entry + 1u > g.d.lut_len ? entry + 1u : g.d.lut_len);
}

static uint32_t reg_value(uint16_t reg, bool *mapped) {
    *mapped = true;
    switch (reg) {
        case QTD_REG_ID: return QTD_RM_MAGIC;
        case QTD_REG_ABI: return g.abi;
        case QTD_REG_VERSION:
            return (VERSION_BUILD << 16) | (QTD_RM_VERSION_MAJOR << 8) | QTD_RM_VERSION_MINOR;
        case QTD_REG_FEATURES: return g.no_multiboot ? FEATURES & ~(uint32_t)QTD_AFEAT_MULTIBOOT : FEATURES;
        case QTD_REG_CTRL: return g.ctrl;
        case QTD_REG_STATUS: return status_now();
        case QTD_REG_ERROR_CODE: return g.error_code;
        case QTD_REG_IRQ_ENABLE: return g.irq_enable;
        case QTD_REG_CYCLES: return g.cycles_reg;
        case QTD_REG_CLOCK_HZ: return g.engine ? g.d.clock_hz : 0;
        case QTD_REG_INFER_COUNT: return g.infer_count;
        case QTD_REG_SPI_LAST: return g.spi_last;
        case QTD_REG_INPUT_LEN: return g.engine ? g.d.T * g.d.M : 0;
        case QTD_REG_OUTPUT_LEN: return g.engine ? 4u * g.d.H : 0;
        case QTD_REG_WLOAD_TENSOR: return g.wload_tensor;
        case QTD_REG_WLOAD_OFFSET: return g.wload_offset;
        case QTD_REG_LUT_SELECT: return g.lut_select;
        case QTD_REG_LUT_OFFSET: return g.lut_offset;
        case QTD_REG_MULTIBOOT_ADDR: return g.multiboot_addr;
        case QTD_REG_WLOAD_DATA:
        case QTD_REG_LUT_DATA:
        case QTD_REG_MULTIBOOT_TRIGGER: return 0; /* write-only */
        default: *mapped = false; return 0;
    }
}

static uint8_t read_byte(uint16_t addr) {
    if (addr >= QTD_RM_INPUT_BASE && addr < QTD_RM_INPUT_BASE + QTD_RM_INPUT_SIZE) {
        return g.input[addr - QTD_RM_INPUT_BASE];
    }
    if (addr >= QTD_RM_OUTPUT_BASE && addr < QTD_RM_OUTPUT_BASE + QTD_RM_OUTPUT_SIZE) {
        return g.output[addr - QTD_RM_OUTPUT_BASE];
    }
    bool mapped = false;
    uint32_t v = addr < QTD_RM_CSR_SIZE ? reg_value((uint16_t)(addr & ~3u), &mapped) : 0;
    bool port = (addr & ~3u) == QTD_REG_WLOAD_DATA || (addr & ~3u) == QTD_REG_LUT_DATA;
    if (!mapped || (port && (addr & 3u))) {
        g.status |= QTD_ASTAT_SPI_ERROR;
        return 0;
    }
    return (uint8_t)(v >> (8u * (addr & 3u)));
}

static void set_byte(uint32_t *reg, unsigned b, uint8_t v) {
    *reg = (*reg & ~(0xFFu << (8u * b))) | ((uint32_t)v << (8u * b));
}

static void write_byte(uint16_t addr, uint8_t v) {
    if (addr >= QTD_RM_INPUT_BASE && addr < QTD_RM_INPUT_BASE + QTD_RM_INPUT_SIZE) {
        if (g.status & QTD_ASTAT_BUSY) {
            g.status |= QTD_ASTAT_INPUT_OVERRUN;
            return;
        }
        g.input[addr - QTD_RM_INPUT_BASE] = v;
        if ((g.ctrl & QTD_ACTRL_AUTO_START) && g.engine && addr - QTD_RM_INPUT_BASE == g.d.T * g.d.M - 1u) {
            start();
        }
        return;
    }
    if (addr >= QTD_RM_OUTPUT_BASE && addr < QTD_RM_OUTPUT_BASE + QTD_RM_OUTPUT_SIZE) {
        return; /* read-only window */
    }
    unsigned b = addr & 3u;
    uint16_t reg = (uint16_t)(addr & ~3u);
    bool mapped = false;
    if (addr < QTD_RM_CSR_SIZE) {
        (void)reg_value(reg, &mapped);
    }
    if (!mapped || ((reg == QTD_REG_WLOAD_DATA || reg == QTD_REG_LUT_DATA) && b)) {
        g.status |= QTD_ASTAT_SPI_ERROR;
        return;
    }
    switch (reg) {
        case QTD_REG_CTRL:
            if (b == 0) {
                g.ctrl = v & (QTD_ACTRL_MODEL_VALID | QTD_ACTRL_AUTO_START | QTD_ACTRL_CLOCK_GATE);
                if (v & QTD_ACTRL_RESET) {
                    reset();
                }
                if (v & QTD_ACTRL_START) {
                    start();
                }
            }
            break;
        case QTD_REG_STATUS:
            if (b == 0) {
                uint32_t w1c =
                    v & (QTD_ASTAT_DONE | QTD_ASTAT_ERROR | QTD_ASTAT_INPUT_OVERRUN | QTD_ASTAT_SPI_ERROR);
                g.status &= ~w1c;
                if (w1c & QTD_ASTAT_ERROR) {
                    g.error_code = 0;
                }
            }
            break;
        case QTD_REG_IRQ_ENABLE: set_byte(&g.irq_enable, b, v); break;
        case QTD_REG_WLOAD_TENSOR: set_byte(&g.wload_tensor, b, v); break;
        case QTD_REG_WLOAD_OFFSET: set_byte(&g.wload_offset, b, v); break;
        case QTD_REG_WLOAD_DATA: wload(v); break;
        case QTD_REG_LUT_SELECT: set_byte(&g.lut_select, b, v); break;
        case QTD_REG_LUT_OFFSET: set_byte(&g.lut_offset, b, v); break;
        case QTD_REG_LUT_DATA: lutload(v); break;
        case QTD_REG_MULTIBOOT_ADDR: set_byte(&g.multiboot_addr, b, v); break;
        case QTD_REG_MULTIBOOT_TRIGGER:
            g.iprog[b] = v;
            if (b == 3) {
                uint32_t key =
                    (uint32_t)(g.iprog[0] | g.iprog[1] << 8 | g.iprog[2] << 16) | (uint32_t)g.iprog[3] << 24;
                if (key != QTD_RM_IPROG_KEY) {
                    error(QTD_AERR_BAD_IPROG_KEY);
                } else if (!g.no_multiboot) { /* the right key without a sequencer does nothing */
                    /* the ICAPE2 sequence (rtl/qtd_iprog.v): WBSTAR <- MULTIBOOT_ADDR[28:0], IPROG */
                    g.iprog_pending = true;
                    g.iprog_addr = g.multiboot_addr & 0x1FFFFFFFu;
                }
            }
            break;
        default: break; /* read-only registers ignore writes */
    }
}

static uint8_t crc8(uint8_t c, uint8_t byte) {
    c ^= byte;
    for (int i = 0; i < 8; i++) {
        c = (uint8_t)(c & 0x80u ? ((unsigned)c << 1) ^ (unsigned)QTD_RM_CRC8_POLY : (unsigned)c << 1);
    }
    return c;
}

/* A transaction in progress, byte by byte (regmap.md "Transactions"): the command and address
 * arrive in its first three bytes, data follows. Kept as state so that a bus master clocking one
 * byte at a time (the RP2040 emulator's SPI, firmware/emu) sees exactly what a whole-buffer
 * transaction sees. */
static struct {
    bool live; /* the design was configured when CS fell */
    uint8_t cmd, rx_crc, tx_crc;
    uint16_t addr;
    size_t p;
} g_spi;

void accel_model_spi_begin(void) {
    memset(&g_spi, 0, sizeof g_spi);
    g_spi.live = g.configured;
    if (g_spi.live) {
        update();
    }
}

uint8_t accel_model_spi_byte(uint8_t mosi) {
    size_t p = g_spi.p++;
    if (!g_spi.live) {
        return 0xFF; /* no design answering: MISO floats high */
    }
    if (p == 0) {
        g_spi.cmd = mosi;
    } else if (p == 1) {
        g_spi.addr = (uint16_t)(mosi << 8);
    } else if (p == 2) {
        g_spi.addr |= mosi;
    }
    const size_t data_at = g_spi.cmd == QTD_SPI_CMD_READ ? 3u + QTD_RM_READ_TURNAROUND_BYTES : 3u;
    uint8_t miso = 0x00;
    g_spi.rx_crc = crc8(g_spi.rx_crc, mosi);
    if (p == 0 || g_spi.cmd == QTD_SPI_CMD_STATUS) {
        miso = (uint8_t)status_now(); /* ST, sampled when CS falls (and live for STATUS) */
    } else if (g_spi.cmd == QTD_SPI_CMD_READ && p >= data_at) {
        miso = read_byte(g_spi.addr);
        g_spi.tx_crc = crc8(g_spi.tx_crc, miso);
        if (g_spi.addr != QTD_REG_WLOAD_DATA && g_spi.addr != QTD_REG_LUT_DATA) {
            g_spi.addr++;
        }
    } else if (g_spi.cmd == QTD_SPI_CMD_WRITE && p >= data_at) {
        write_byte(g_spi.addr, mosi);
        if (g_spi.addr != QTD_REG_WLOAD_DATA && g_spi.addr != QTD_REG_LUT_DATA) {
            g_spi.addr++;
        }
    }
    return miso;
}

void accel_model_spi_end(void) {
    if (!g_spi.live) {
        return;
    }
    uint8_t cmd = g_spi.cmd;
    if (cmd != QTD_SPI_CMD_STATUS && cmd != QTD_SPI_CMD_READ && cmd != QTD_SPI_CMD_WRITE) {
        g.status |= QTD_ASTAT_SPI_ERROR;
    }
    uint32_t n = g_spi.p > 0xFFFFu ? 0xFFFFu : (uint32_t)g_spi.p;
    g.spi_last = (n << 16) | ((uint32_t)(cmd == QTD_SPI_CMD_READ ? g_spi.tx_crc : 0) << 8) | g_spi.rx_crc;
}

/* One transaction of `total` bytes: MOSI is out[] then 0x00; each MISO byte goes to miso[p]
 * (full duplex) when miso is given, else the ones after out_len go to in[]. */
static void transaction(const uint8_t *out, size_t out_len, size_t total, uint8_t *miso_all, uint8_t *in) {
    accel_model_spi_begin();
    for (size_t p = 0; p < total; p++) {
        uint8_t miso = accel_model_spi_byte(p < out_len ? out[p] : 0x00);
        if (miso_all) {
            miso_all[p] = miso;
        } else if (p >= out_len) {
            in[p - out_len] = miso;
        }
    }
    accel_model_spi_end();
}

void accel_model_xfer(const uint8_t *out, size_t out_len, uint8_t *in, size_t in_len) {
    transaction(out, out_len, out_len + in_len, NULL, in);
}

void accel_model_spi(const uint8_t *mosi, uint8_t *miso, size_t n) {
    transaction(mosi, n, n, miso, NULL);
}

bool accel_model_take_iprog(uint32_t *addr) {
    if (!g.iprog_pending) {
        return false;
    }
    g.iprog_pending = false;
    *addr = g.iprog_addr;
    return true;
}
