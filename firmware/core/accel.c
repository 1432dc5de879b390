/* The accelerator driver (qtd/accel.h) over hal_fabric_xfer. */
#include "qtd/accel.h"

#include <string.h>

#include "hal.h"
#include "qtd/fpga.h"
#include "qtd/le.h"

#define STICKY    (QTD_ASTAT_DONE | QTD_ASTAT_ERROR | QTD_ASTAT_INPUT_OVERRUN | QTD_ASTAT_SPI_ERROR)
#define WRITE_HDR 3u
#define READ_HDR  (3u + QTD_RM_READ_TURNAROUND_BYTES)
#define MAX_INPUT (QTD_KERNEL_MAX_WINDOW * QTD_KERNEL_MAX_FEATURES)

static struct {
    bool loaded, running;
    uint32_t abi, features, ctrl;
    uint16_t in_count, out_count;
    int16_t x_lo, x_hi;
    uint64_t t_start;
} g;

static uint8_t g_buf[WRITE_HDR + (MAX_INPUT > QTD_ACCEL_CHUNK ? MAX_INPUT : QTD_ACCEL_CHUNK)];

/* ---- transactions (regmap.md "Transactions") ------------------------------------------------ */

static void reg_write(uint16_t addr, const uint8_t *data, uint16_t n) {
    g_buf[0] = QTD_SPI_CMD_WRITE;
    g_buf[1] = (uint8_t)(addr >> 8);
    g_buf[2] = (uint8_t)addr;
    memcpy(g_buf + WRITE_HDR, data, n);
    hal_fabric_xfer(g_buf, WRITE_HDR + n, NULL, 0);
}

static void reg_write8(uint16_t addr, uint8_t v) {
    reg_write(addr, &v, 1);
}

static void reg_read(uint16_t addr, uint8_t *out, uint16_t n) {
    const uint8_t cmd[READ_HDR] = {QTD_SPI_CMD_READ, (uint8_t)(addr >> 8), (uint8_t)addr};
    hal_fabric_xfer(cmd, sizeof cmd, out, n);
}

static uint32_t reg_read32(uint16_t addr) {
    uint8_t b[4];
    reg_read(addr, b, 4);
    return qtd_le32(b);
}

static uint8_t status_poll(void) {
    const uint8_t cmd = QTD_SPI_CMD_STATUS;
    uint8_t st = 0;
    hal_fabric_xfer(&cmd, 1, &st, 1);
    return st;
}

static uint8_t crc8(uint8_t c, const uint8_t *p, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int b = 0; b < 8; b++) {
            c = (uint8_t)(c & 0x80u ? ((unsigned)c << 1) ^ (unsigned)QTD_RM_CRC8_POLY : (unsigned)c << 1);
        }
    }
    return c;
}

/* ---- load ---------------------------------------------------------------------------------- */

/* One burst into a port; false when SPI_LAST says the accelerator saw other bytes. */
static bool burst(uint16_t port, const uint8_t *data, uint16_t n) {
    reg_write(port, data, n);
    if (!(g.features & QTD_AFEAT_SPI_CRC)) {
        return true;
    }
    uint32_t last = reg_read32(QTD_REG_SPI_LAST);
    return (last & 0xFFu) == crc8(0, g_buf, WRITE_HDR + n) && (last >> 16) == WRITE_HDR + n;
}

/* Stream one tensor or LUT from offset 0; rewritten once from offset 0 on a CRC mismatch. */
static bool load_one(uint16_t select_reg, uint16_t port, uint32_t index, const uint8_t *data, uint32_t len) {
    for (int attempt = 0; attempt < 2; attempt++) {
        uint8_t sel[8];
        qtd_put_le32(sel, index);
        qtd_put_le32(sel + 4, 0);
        reg_write(select_reg, sel, sizeof sel); /* index and offset 0 in one burst */
        bool ok = true;
        for (uint32_t at = 0; at < len && ok; at += QTD_ACCEL_CHUNK) {
            uint32_t n = len - at < QTD_ACCEL_CHUNK ? len - at : QTD_ACCEL_CHUNK;
            ok = burst(port, data + at, (uint16_t)n);
        }
        if (ok) {
            return true;
        }
    }
    return false;
}

void qtd_accel_forget(void) {
    memset(&g, 0, sizeof g);
}

qtd_status_t qtd_accel_load(const qtd_model_t *m, const char **why) {
    qtd_accel_forget();
    qtd_fpga_status_t fs;
    qtd_fpga_status(&fs);
    if (fs.state != QTD_FPGA_CONFIGURED) {
        *why = "the FPGA is not configured; flash a bitstream or run FPGA_CONFIGURE";
        return QTD_ST_ABI_MISMATCH;
    }
    if (qtd_fpga_check_abi(m->blob.abi) != QTD_ST_OK) {
        *why = "the blob's ABI differs from the configured bitstream's (see `qtdeploy info`)";
        return QTD_ST_ABI_MISMATCH;
    }
    uint8_t id[16];
    reg_read(QTD_REG_ID, id, sizeof id); /* regmap.md example 1: ID, ABI, VERSION, FEATURES */
    if (qtd_le32(id) != QTD_RM_MAGIC || qtd_le32(id + 4) != m->blob.abi) {
        *why = "no accelerator with this ABI answers on the register SPI";
        return QTD_ST_ABI_MISMATCH;
    }
    if (((qtd_le32(id + 8) >> 8) & 0xFFu) != QTD_RM_VERSION_MAJOR) {
        *why = "the accelerator's register map major version differs from this firmware's";
        return QTD_ST_UNSUPPORTED;
    }
    g.features = qtd_le32(id + 12);
    reg_write8(QTD_REG_CTRL, QTD_ACTRL_RESET); /* abort, MODEL_VALID off while reloading */
    reg_write8(QTD_REG_STATUS, STICKY);
    const uint16_t in_count = (uint16_t)(m->hp.window * m->hp.features);
    if (reg_read32(QTD_REG_INPUT_LEN) != in_count || reg_read32(QTD_REG_OUTPUT_LEN) != 4u * m->hp.horizon) {
        *why =
            "the accelerator's INPUT_LEN/OUTPUT_LEN do not fit the model (a bitstream without this design?)";
        return QTD_ST_UNSUPPORTED;
    }
    const uint32_t n = (uint32_t)m->blob.n_tensors + m->blob.n_luts;
    for (uint32_t i = 0; i < n; i++) {
        const char *name;
        qtd_tensor_t t;
        qtd_blob_at(&m->blob, i, &name, &t);
        bool lut = i >= m->blob.n_tensors;
        if (!load_one(lut ? QTD_REG_LUT_SELECT : QTD_REG_WLOAD_TENSOR,
                      lut ? QTD_REG_LUT_DATA : QTD_REG_WLOAD_DATA, lut ? i - m->blob.n_tensors : i, t.v.data,
                      t.length)) {
            *why = "SPI_LAST CRC-8 mismatch while loading a tensor (twice): check the FPGA SPI wiring";
            return QTD_ST_INTERNAL;
        }
    }
    if (status_poll() & QTD_ASTAT_ERROR) {
        uint32_t code = reg_read32(QTD_REG_ERROR_CODE);
        reg_write8(QTD_REG_STATUS, QTD_ASTAT_ERROR);
        *why = code == QTD_AERR_BAD_TENSOR || code == QTD_AERR_BAD_LUT
                   ? "the accelerator has fewer tensors or LUTs than the blob (ERROR BAD_TENSOR/BAD_LUT)"
                   : "the accelerator refused a tensor or LUT size (ERROR TENSOR_RANGE/LUT_RANGE)";
        return QTD_ST_UNSUPPORTED;
    }
    g.ctrl = QTD_ACTRL_MODEL_VALID | (g.features & QTD_AFEAT_AUTO_START ? QTD_ACTRL_AUTO_START : 0u);
    reg_write8(QTD_REG_CTRL, (uint8_t)g.ctrl);
    g.loaded = true;
    g.abi = m->blob.abi;
    g.in_count = in_count;
    g.out_count = m->hp.horizon;
    g.x_lo = m->r_x.lo;
    g.x_hi = m->r_x.hi;
    return QTD_ST_OK;
}

/* ---- inference ----------------------------------------------------------------------------- */

qtd_status_t qtd_accel_ready(uint16_t *in_count, uint16_t *out_count, const char **why) {
    if (!g.loaded) {
        *why = "no model loaded for engine FPGA; run MODEL_LOAD with engine FPGA";
        return QTD_ST_NO_MODEL;
    }
    qtd_fpga_status_t fs;
    qtd_fpga_status(&fs);
    uint8_t st = status_poll();
    if (fs.state != QTD_FPGA_CONFIGURED || fs.abi != g.abi || !(st & QTD_ASTAT_ALIVE) || st == 0xFF ||
        !(st & QTD_ASTAT_MODEL_VALID)) {
        qtd_accel_forget();
        *why = "the accelerator lost its model (FPGA reconfigured?); run MODEL_LOAD with engine FPGA";
        return QTD_ST_NO_MODEL;
    }
    *in_count = g.in_count;
    *out_count = g.out_count;
    return QTD_ST_OK;
}

qtd_status_t qtd_accel_start(const int8_t *x, const char **why) {
    for (uint16_t i = 0; i < g.in_count; i++) {
        if (x[i] < g.x_lo || x[i] > g.x_hi) {
            *why = "input value outside x.range";
            return QTD_ST_BAD_ARGUMENT;
        }
    }
    reg_write8(QTD_REG_STATUS, STICKY); /* DONE of the previous window, and any stale error */
    reg_write(QTD_RM_INPUT_BASE, (const uint8_t *)x, g.in_count);
    if (!(g.ctrl & QTD_ACTRL_AUTO_START)) {
        reg_write8(QTD_REG_CTRL, (uint8_t)(g.ctrl | QTD_ACTRL_START));
    }
    g.running = true;
    g.t_start = hal_time_us();
    return QTD_ST_OK;
}

void qtd_accel_abort(void) {
    if (g.running) {
        reg_write8(QTD_REG_CTRL, (uint8_t)(g.ctrl | QTD_ACTRL_RESET));
        g.running = false;
    }
}

bool qtd_accel_poll(int32_t *y, uint32_t *cycles, qtd_status_t *st, const char **why) {
    if (!g.running) {
        *st = QTD_ST_INTERNAL;
        *why = "no accelerator window running";
        return true;
    }
    uint8_t s = status_poll();
    if (s == 0x00 || s == 0xFF || !(s & QTD_ASTAT_ALIVE)) {
        g.running = false;
        qtd_accel_forget();
        *st = QTD_ST_ACCEL_TIMEOUT;
        *why = "the accelerator stopped answering (FPGA lost its configuration?)";
        return true;
    }
    if (s & QTD_ASTAT_ERROR) {
        uint32_t code = reg_read32(QTD_REG_ERROR_CODE);
        reg_write8(QTD_REG_CTRL, (uint8_t)(g.ctrl | QTD_ACTRL_RESET));
        g.running = false;
        *st = code == QTD_AERR_TIMEOUT ? QTD_ST_ACCEL_TIMEOUT : QTD_ST_INTERNAL;
        *why = code == QTD_AERR_TIMEOUT ? "the accelerator's watchdog expired"
                                        : "the accelerator flagged an error";
        return true;
    }
    if (!(s & QTD_ASTAT_DONE)) {
        if (hal_time_us() - g.t_start > QTD_ACCEL_TIMEOUT_US) {
            qtd_accel_abort();
            *st = QTD_ST_ACCEL_TIMEOUT;
            *why = "no DONE within QTD_ACCEL_TIMEOUT_US";
            return true;
        }
        return false;
    }
    uint8_t out[4u * QTD_KERNEL_MAX_HORIZON];
    reg_read(QTD_RM_OUTPUT_BASE, out, (uint16_t)(4u * g.out_count));
    for (uint16_t h = 0; h < g.out_count; h++) {
        y[h] = (int32_t)qtd_le32(out + 4u * h);
    }
    *cycles = reg_read32(QTD_REG_CYCLES);
    reg_write8(QTD_REG_STATUS, QTD_ASTAT_DONE);
    g.running = false;
    *st = QTD_ST_OK;
    return true;
}
