/* Slot and FPGA commands: SLOT_COMMIT, SLOT_SELECT, SLOT_INFO, FPGA_CONFIGURE, FPGA_STATUS
 * (link.md 7.10-7.14). */
#include <string.h>

#include "qtd/commands.h"
#include "qtd/fpga.h"
#include "qtd/le.h"
#include "qtd/slots.h"

#define SLOT_RECORD_SIZE QTD_SLOTS_INFO_RECORD_SIZE

qtd_status_t qtd_cmd_slot_commit(const qtd_frame_t *req, qtd_reply_t *rep) {
    if (req->length != 76) {
        return qtd_fail(rep, QTD_ST_BAD_LENGTH, "SLOT_COMMIT request is 76 bytes, got", req->length, 1);
    }
    const uint8_t *p = req->payload;
    uint8_t slot = p[0];
    if (slot >= QTD_SLOT_COUNT) {
        return qtd_fail(rep, QTD_ST_BAD_SLOT, "slot", slot, 1);
    }
    if (slot == qtd_slots_table()->active) {
        return qtd_fail(rep, QTD_ST_BAD_SLOT, "cannot re-commit the active slot", slot, 1);
    }
    qtd_status_t st = qtd_slots_commit(slot, p[1], qtd_le32(p + 4), p + 8, qtd_le32(p + 40), p + 44);
    if (st == QTD_ST_VERIFY_FAILED) {
        return qtd_fail(rep, st, "slot image hash differs from the request, slot", slot, 1);
    }
    if (st == QTD_ST_FPGA_IDCODE) {
        return qtd_fail(rep, st, "bitstream IDCODE is not the board's part, expected",
                        qtd_link.board->fpga_idcode, 1);
    }
    if (st == QTD_ST_BAD_IMAGE) {
        return qtd_fail(rep, st, "no sync word or IDCODE packet in the bitstream, slot", slot, 1);
    }
    if (st != QTD_ST_OK) {
        return st;
    }
    const qtd_slot_table_t *t = qtd_slots_table();
    memset(rep->payload, 0, 8);
    rep->payload[0] = slot;
    rep->payload[1] = t->active;
    qtd_put_le32(rep->payload + 4, t->slot[slot].seq);
    rep->len = 8;
    return QTD_ST_OK;
}

qtd_status_t qtd_cmd_slot_select(const qtd_frame_t *req, qtd_reply_t *rep) {
    if (req->length != 1) {
        return qtd_fail(rep, QTD_ST_BAD_LENGTH, "SLOT_SELECT request is 1 byte, got", req->length, 1);
    }
    qtd_status_t st = qtd_slots_select(req->payload[0]);
    if (st == QTD_ST_BAD_SLOT) {
        return qtd_fail(rep, st, "slot holds no committed image", req->payload[0], 1);
    }
    if (st == QTD_ST_OK) {
        rep->payload[0] = qtd_slots_table()->active;
        rep->len = 1;
    }
    return st;
}

qtd_status_t qtd_cmd_slot_info(const qtd_frame_t *req, qtd_reply_t *rep) {
    if (req->length != 0) {
        return qtd_fail(rep, QTD_ST_BAD_LENGTH, "SLOT_INFO request is empty, got", req->length, 1);
    }
    const qtd_slot_table_t *t = qtd_slots_table();
    uint8_t *p = rep->payload;
    memset(p, 0, 4u + SLOT_RECORD_SIZE * QTD_SLOT_COUNT);
    p[0] = t->active;
    p[1] = QTD_SLOT_COUNT;
    for (unsigned s = 0; s < QTD_SLOT_COUNT; s++) {
        const qtd_slot_entry_t *e = &t->slot[s];
        uint8_t *r = p + 4 + SLOT_RECORD_SIZE * s;
        if (e->state == QTD_SLOT_STATE_EMPTY) {
            continue; /* all zeros */
        }
        qtd_slots_put_info_record(e, r);
    }
    rep->len = (uint16_t)(4u + SLOT_RECORD_SIZE * QTD_SLOT_COUNT);
    return QTD_ST_OK;
}

static void put_fpga_status(qtd_reply_t *rep) {
    qtd_fpga_status_t fs;
    qtd_fpga_status(&fs);
    uint8_t *p = rep->payload;
    p[0] = fs.state;
    p[1] = fs.done;
    p[2] = fs.init_b;
    p[3] = fs.slot;
    qtd_put_le32(p + 4, fs.idcode);
    qtd_put_le32(p + 8, fs.abi);
    rep->len = 12;
}

qtd_status_t qtd_cmd_fpga_configure(const qtd_frame_t *req, qtd_reply_t *rep) {
    if (req->length != 1) {
        return qtd_fail(rep, QTD_ST_BAD_LENGTH, "FPGA_CONFIGURE request is 1 byte, got", req->length, 1);
    }
    uint8_t slot = req->payload[0] == QTD_LINK_NO_SLOT ? qtd_slots_table()->active : req->payload[0];
    qtd_status_t st = qtd_fpga_configure(slot);
    switch (st) {
        case QTD_ST_OK: put_fpga_status(rep); return st;
        case QTD_ST_BAD_SLOT: return qtd_fail(rep, st, "slot holds no committed bitstream", slot, 1);
        case QTD_ST_FPGA_NOT_DONE: return qtd_fail(rep, st, "DONE stayed low configuring slot", slot, 1);
        case QTD_ST_FPGA_IDCODE:
            return qtd_fail(rep, st, "bitstream IDCODE is not the board's part, slot", slot, 1);
        case QTD_ST_BAD_IMAGE:
            return qtd_fail(rep, st, "DONE rose but no accelerator answered, slot", slot, 1);
        case QTD_ST_NO_GOLDEN:
            return qtd_fail(rep, st,
                            "slot B boots via MultiBoot from slot A: flash a MultiBoot image to A, slot",
                            slot, 1);
        case QTD_ST_FPGA_FALLBACK:
            return qtd_fail(rep, st, "slot's bitstream failed, FPGA fell back to slot A's image, slot", slot,
                            1);
        default: return st;
    }
}

qtd_status_t qtd_cmd_fpga_status(const qtd_frame_t *req, qtd_reply_t *rep) {
    if (req->length != 0) {
        return qtd_fail(rep, QTD_ST_BAD_LENGTH, "FPGA_STATUS request is empty, got", req->length, 1);
    }
    put_fpga_status(rep);
    return QTD_ST_OK;
}
