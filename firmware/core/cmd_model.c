/* Model commands: MODEL_LOAD and INFER (link.md 7.15, 7.16) for the MCU engine. The FPGA engine
 * (weights into the accelerator over the register SPI) is a later step of issue 6: it answers
 * UNSUPPORTED, and HELLO advertises the MCU engine only. */
#include <string.h>

#include "hal.h"
#include "qtd/commands.h"
#include "qtd/le.h"
#include "qtd/model.h"
#include "qtd/slots.h"

#define MODEL_INFO_SIZE 12u
#define INFER_HEADER 24u

static qtd_status_t check_engine(uint8_t engine, qtd_reply_t *rep) {
    if (engine == QTD_ENGINE_FPGA) {
        return qtd_fail(rep, QTD_ST_UNSUPPORTED, "engine FPGA not in this firmware yet; use engine MCU", engine, 1);
    }
    if (engine != QTD_ENGINE_MCU) {
        return qtd_fail(rep, QTD_ST_BAD_ARGUMENT, "engine", engine, 1);
    }
    return QTD_ST_OK;
}

static uint32_t in_count(const qtd_model_t *m) { return (uint32_t)m->hp.window * m->hp.features; }

qtd_status_t qtd_cmd_model_load(const qtd_frame_t *req, qtd_reply_t *rep) {
    if (req->length != 2) {
        return qtd_fail(rep, QTD_ST_BAD_LENGTH, "MODEL_LOAD request is 2 bytes, got", req->length, 1);
    }
    qtd_status_t st = check_engine(req->payload[0], rep);
    if (st != QTD_ST_OK) {
        return st;
    }
    const qtd_slot_table_t *t = qtd_slots_table();
    uint8_t slot = req->payload[1] == QTD_LINK_NO_SLOT ? t->active : req->payload[1];
    if (slot >= QTD_SLOT_COUNT || t->slot[slot].state != QTD_SLOT_STATE_COMMITTED || t->slot[slot].blob_size == 0) {
        return qtd_fail(rep, QTD_ST_BAD_SLOT, "slot holds no committed blob", slot, 1);
    }
    const char *why = "";
    st = qtd_model_load_flash(qtd_link.board->slots[slot].blob.offset, t->slot[slot].blob_size, &why);
    if (st != QTD_ST_OK) {
        return qtd_fail(rep, st, why, 0, 0);
    }
    const qtd_model_t *m = qtd_model_loaded();
    uint8_t *p = rep->payload;
    memset(p, 0, MODEL_INFO_SIZE);
    p[0] = QTD_ENGINE_MCU;
    p[1] = 4; /* y is int32 (model.md row 15) */
    qtd_put_le16(p + 2, (uint16_t)in_count(m));
    qtd_put_le16(p + 4, m->hp.horizon);
    qtd_put_le32(p + 8, m->blob.abi);
    rep->len = MODEL_INFO_SIZE;
    return QTD_ST_OK;
}

qtd_status_t qtd_cmd_infer(const qtd_frame_t *req, qtd_reply_t *rep) {
    if (req->length < 4) {
        return qtd_fail(rep, QTD_ST_BAD_LENGTH, "INFER request is 4 + count bytes, got", req->length, 1);
    }
    qtd_status_t st = check_engine(req->payload[0], rep);
    if (st != QTD_ST_OK) {
        return st;
    }
    const qtd_model_t *m = qtd_model_loaded();
    if (m == NULL) {
        return qtd_fail(rep, QTD_ST_NO_MODEL, "no model loaded for engine MCU; run MODEL_LOAD", 0, 0);
    }
    uint16_t count = qtd_le16(req->payload + 2);
    if (count != in_count(m) || req->length != 4u + count) {
        return qtd_fail(rep, QTD_ST_BAD_LENGTH, "INFER count must equal the model's in_count", in_count(m), 1);
    }
    const uint16_t out_count = m->hp.horizon;
    if (INFER_HEADER + 4u * out_count > rep->cap) {
        return qtd_fail(rep, QTD_ST_BAD_LENGTH, "result does not fit the negotiated payload", out_count, 1);
    }
    int32_t y[QTD_KERNEL_MAX_HORIZON];
    uint64_t t0 = hal_time_us();
    st = qtd_kernel_run(m, (const int8_t *)(req->payload + 4), y, NULL, NULL);
    uint64_t t1 = hal_time_us();
    if (st != QTD_ST_OK) {
        return qtd_fail(rep, st, "input value outside x.range", 0, 0);
    }
    uint8_t *p = rep->payload;
    p[0] = QTD_ENGINE_MCU;
    p[1] = 4;
    qtd_put_le16(p + 2, out_count);
    qtd_put_le32(p + 4, 0); /* accel_cycles: the MCU engine uses no accelerator */
    qtd_put_le32(p + 8, (uint32_t)t0);
    qtd_put_le32(p + 12, (uint32_t)(t0 >> 32));
    qtd_put_le32(p + 16, (uint32_t)t1);
    qtd_put_le32(p + 20, (uint32_t)(t1 >> 32));
    for (unsigned h = 0; h < out_count; h++) {
        qtd_put_le32(p + INFER_HEADER + 4u * h, (uint32_t)y[h]);
    }
    rep->len = (uint16_t)(INFER_HEADER + 4u * out_count);
    return QTD_ST_OK;
}
