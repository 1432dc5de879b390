/* Model commands: MODEL_LOAD and INFER (link.md 7.15, 7.16), and the engine layer both INFER
 * and window streams (cmd_stream.c) run through (qtd/infer.h).
 *
 * Engines: MCU runs the integer kernel on the model in the RAM arena; FPGA runs the accelerator
 * the model's tensors were loaded into (qtd/accel.h). MODEL_LOAD for either engine copies the
 * blob into the arena (so the MCU engine always has the last loaded model); for FPGA it also
 * loads the accelerator, which keeps that model until the next FPGA load or reconfiguration.
 * Both answer with the same InferResult, so a host compares them byte for byte. */
#include <string.h>

#include "hal.h"
#include "qtd/accel.h"
#include "qtd/commands.h"
#include "qtd/infer.h"
#include "qtd/le.h"
#include "qtd/power.h"
#include "qtd/model.h"
#include "qtd/slots.h"

#define MODEL_INFO_SIZE 12u

static struct {
    bool pending, finished;
    uint8_t engine;
    qtd_status_t st;
    const char *why;
    qtd_infer_result_t r;
} g_async;

static uint16_t model_in_count(const qtd_model_t *m) {
    return (uint16_t)(m->hp.window * m->hp.features);
}

static qtd_status_t check_engine(uint8_t engine, const char **why) {
    if (engine != QTD_ENGINE_MCU && engine != QTD_ENGINE_FPGA) {
        *why = "engine";
        return QTD_ST_BAD_ARGUMENT;
    }
    return QTD_ST_OK;
}

qtd_status_t qtd_infer_ready(uint8_t engine, uint16_t *in_count, uint16_t *out_count, const char **why) {
    qtd_status_t st = check_engine(engine, why);
    if (st != QTD_ST_OK) {
        return st;
    }
    if (engine == QTD_ENGINE_FPGA) {
        return qtd_accel_ready(in_count, out_count, why);
    }
    const qtd_model_t *m = qtd_model_loaded();
    if (m == NULL) {
        *why = "no model loaded for this engine; run MODEL_LOAD";
        return QTD_ST_NO_MODEL;
    }
    *in_count = model_in_count(m);
    *out_count = m->hp.horizon;
    return QTD_ST_OK;
}

qtd_status_t qtd_infer_run(uint8_t engine, const int8_t *x, qtd_infer_result_t *r, const char **why) {
    uint16_t n_in, n_out;
    qtd_status_t st = qtd_infer_ready(engine, &n_in, &n_out, why);
    if (st != QTD_ST_OK) {
        return st;
    }
    memset(r, 0, sizeof *r);
    r->engine = engine;
    r->out_count = n_out;
    if (engine == QTD_ENGINE_FPGA) {
        r->t_start_us = hal_time_us();
        st = qtd_accel_start(x, why);
        while (st == QTD_ST_OK && !qtd_accel_poll(r->y, &r->accel_cycles, &st, why)) {
        }
        r->t_end_us = hal_time_us();
        return st;
    }
    r->t_start_us = hal_time_us();
    hal_activity(QTD_ACT_MCU_INFERRING); /* power model: the interval the MCU computes (FPGA idle) */
    st = qtd_kernel_run(qtd_model_loaded(), x, r->y, NULL, NULL);
    hal_activity(QTD_ACT_IDLE);
    r->t_end_us = hal_time_us();
    if (st != QTD_ST_OK) {
        *why = "input value outside x.range";
    }
    return st;
}

qtd_status_t qtd_infer_start(uint8_t engine, const int8_t *x, const char **why) {
    if (g_async.pending) {
        *why = "an inference is already running";
        return QTD_ST_BUSY;
    }
    uint16_t n_in, n_out;
    qtd_status_t st = qtd_infer_ready(engine, &n_in, &n_out, why);
    if (st != QTD_ST_OK) {
        return st;
    }
    if (engine == QTD_ENGINE_FPGA) {
        memset(&g_async.r, 0, sizeof g_async.r);
        g_async.r.engine = engine;
        g_async.r.out_count = n_out;
        g_async.r.t_start_us = hal_time_us();
        if ((st = qtd_accel_start(x, why)) != QTD_ST_OK) {
            return st;
        }
        g_async.engine = engine;
        g_async.pending = true;
        g_async.finished = false;
        return QTD_ST_OK;
    }
    g_async.engine = engine;
    g_async.pending = true;
    g_async.why = "";
    g_async.st = qtd_infer_run(engine, x, &g_async.r, &g_async.why);
    g_async.finished = true;
    return QTD_ST_OK;
}

bool qtd_infer_poll(qtd_infer_result_t *r, qtd_status_t *st, const char **why) {
    if (g_async.pending && !g_async.finished && g_async.engine == QTD_ENGINE_FPGA) {
        g_async.why = "";
        if (qtd_accel_poll(g_async.r.y, &g_async.r.accel_cycles, &g_async.st, &g_async.why)) {
            g_async.r.t_end_us = hal_time_us();
            g_async.finished = true;
        }
    }
    if (!g_async.pending || !g_async.finished) {
        return false;
    }
    g_async.pending = g_async.finished = false;
    *st = g_async.st;
    *why = g_async.why;
    *r = g_async.r;
    return true;
}

bool qtd_infer_pending(void) {
    return g_async.pending;
}

void qtd_infer_abort(void) {
    if (g_async.pending && !g_async.finished && g_async.engine == QTD_ENGINE_FPGA) {
        qtd_accel_abort();
    }
    g_async.pending = g_async.finished = false;
}

uint16_t qtd_infer_put(uint8_t *p, const qtd_infer_result_t *r) {
    p[0] = r->engine;
    p[1] = 4; /* y is int32 (model.md row 15) */
    qtd_put_le16(p + 2, r->out_count);
    qtd_put_le32(p + 4, r->accel_cycles);
    qtd_put_le32(p + 8, (uint32_t)r->t_start_us);
    qtd_put_le32(p + 12, (uint32_t)(r->t_start_us >> 32));
    qtd_put_le32(p + 16, (uint32_t)r->t_end_us);
    qtd_put_le32(p + 20, (uint32_t)(r->t_end_us >> 32));
    for (unsigned h = 0; h < r->out_count; h++) {
        qtd_put_le32(p + QTD_INFER_RESULT_HEADER + 4u * h, (uint32_t)r->y[h]);
    }
    return (uint16_t)(QTD_INFER_RESULT_HEADER + 4u * r->out_count);
}

qtd_status_t qtd_cmd_model_load(const qtd_frame_t *req, qtd_reply_t *rep) {
    if (req->length != 2) {
        return qtd_fail(rep, QTD_ST_BAD_LENGTH, "MODEL_LOAD request is 2 bytes, got", req->length, 1);
    }
    const char *why = "";
    qtd_status_t st = check_engine(req->payload[0], &why);
    if (st != QTD_ST_OK) {
        return qtd_fail(rep, st, why, req->payload[0], 1);
    }
    const qtd_slot_table_t *t = qtd_slots_table();
    uint8_t slot = req->payload[1] == QTD_LINK_NO_SLOT ? t->active : req->payload[1];
    if (slot >= QTD_SLOT_COUNT || t->slot[slot].state != QTD_SLOT_STATE_COMMITTED ||
        t->slot[slot].blob_size == 0) {
        return qtd_fail(rep, QTD_ST_BAD_SLOT, "slot holds no committed blob", slot, 1);
    }
    if (req->payload[0] == QTD_ENGINE_FPGA) {
        qtd_accel_forget(); /* a failed load must not leave the old model half-overwritten in use */
    }
    hal_activity(QTD_ACT_LOADING); /* power model (qtd/power.h): weights flash -> RAM -> accelerator */
    st = qtd_model_load_flash(qtd_link.board->slots[slot].blob.offset, t->slot[slot].blob_size, &why);
    if (st != QTD_ST_OK) {
        hal_activity(QTD_ACT_IDLE);
        return qtd_fail(rep, st, why, 0, 0);
    }
    const qtd_model_t *m = qtd_model_loaded();
    if (req->payload[0] == QTD_ENGINE_FPGA && (st = qtd_accel_load(m, &why)) != QTD_ST_OK) {
        hal_activity(QTD_ACT_IDLE);
        return qtd_fail(rep, st, why, 0, 0);
    }
    hal_activity(QTD_ACT_IDLE);
    uint8_t *p = rep->payload;
    memset(p, 0, MODEL_INFO_SIZE);
    p[0] = req->payload[0];
    p[1] = 4;
    qtd_put_le16(p + 2, model_in_count(m));
    qtd_put_le16(p + 4, m->hp.horizon);
    qtd_put_le32(p + 8, m->blob.abi);
    rep->len = MODEL_INFO_SIZE;
    return QTD_ST_OK;
}

qtd_status_t qtd_cmd_infer(const qtd_frame_t *req, qtd_reply_t *rep) {
    if (req->length < 4) {
        return qtd_fail(rep, QTD_ST_BAD_LENGTH, "INFER request is 4 + count bytes, got", req->length, 1);
    }
    const char *why = "";
    uint16_t n_in, n_out;
    qtd_status_t st = qtd_infer_ready(req->payload[0], &n_in, &n_out, &why);
    if (st != QTD_ST_OK) {
        return qtd_fail(rep, st, why, req->payload[0], 1);
    }
    uint16_t count = qtd_le16(req->payload + 2);
    if (count != n_in || req->length != 4u + count) {
        return qtd_fail(rep, QTD_ST_BAD_LENGTH, "INFER count must equal the model's in_count", n_in, 1);
    }
    if (QTD_INFER_RESULT_HEADER + 4u * n_out > rep->cap) {
        return qtd_fail(rep, QTD_ST_BAD_LENGTH, "result does not fit the negotiated payload", n_out, 1);
    }
    qtd_infer_result_t r;
    st = qtd_infer_run(req->payload[0], (const int8_t *)(req->payload + 4), &r, &why);
    if (st != QTD_ST_OK) {
        return qtd_fail(rep, st, why, 0, 0);
    }
    rep->len = qtd_infer_put(rep->payload, &r);
    return QTD_ST_OK;
}
