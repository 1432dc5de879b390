/* Flash commands: FLASH_INFO, FLASH_ERASE, FLASH_WRITE, FLASH_READ, FLASH_HASH (link.md 7.5-7.9).
 * Every erase and write goes through qtd_slots_prepare_write first: the metadata and the
 * active slot are never touched from the link. */
#include <string.h>

#include "qtd/commands.h"
#include "qtd/flash.h"
#include "qtd/flash_codec.h"
#include "qtd/le.h"
#include "qtd/slots.h"

#define WRITE_HEADER 12u

static void put_region(uint8_t *p, const qtd_region_t *r) {
    qtd_put_le32(p, r->offset);
    qtd_put_le32(p + 4, r->size);
}

uint16_t qtd_put_flash_layout(uint8_t *p) {
    const qtd_board_t *b = qtd_link.board;
    memset(p, 0, 36);
    qtd_put_le32(p, b->flash_size);
    qtd_put_le32(p + 4, b->sector_size);
    qtd_put_le32(p + 8, b->page_size);
    qtd_put_le32(p + 12, qtd_flash_jedec_id());
    /* the two copies as one span (they are adjacent on every board file so far) */
    uint32_t lo = b->meta[0].offset < b->meta[1].offset ? b->meta[0].offset : b->meta[1].offset;
    uint32_t end0 = b->meta[0].offset + b->meta[0].size;
    uint32_t end1 = b->meta[1].offset + b->meta[1].size;
    qtd_put_le32(p + 16, lo);
    qtd_put_le32(p + 20, (end0 > end1 ? end0 : end1) - lo);
    put_region(p + 24, &b->log);
    p[32] = QTD_SLOT_COUNT;
    for (unsigned s = 0; s < QTD_SLOT_COUNT; s++) {
        put_region(p + 36 + 16 * s, &b->slots[s].bitstream);
        put_region(p + 44 + 16 * s, &b->slots[s].blob);
    }
    return (uint16_t)(36u + 16u * QTD_SLOT_COUNT);
}

qtd_status_t qtd_cmd_flash_info(const qtd_frame_t *req, qtd_reply_t *rep) {
    if (req->length != 0) {
        return qtd_fail(rep, QTD_ST_BAD_LENGTH, "FLASH_INFO request is empty, got", req->length, 1);
    }
    rep->len = qtd_put_flash_layout(rep->payload);
    return QTD_ST_OK;
}

/* Range checks shared by the commands: OUT_OF_RANGE names the offending field. */
static qtd_status_t check_range(qtd_reply_t *rep, uint32_t offset, uint32_t length) {
    if (qtd_flash_check_range(offset, length) != QTD_ST_OK) {
        return qtd_fail(rep, QTD_ST_OUT_OF_RANGE, "range beyond the flash end, offset", offset, 1);
    }
    return QTD_ST_OK;
}

static qtd_status_t guard(qtd_reply_t *rep, uint32_t offset, uint32_t length) {
    qtd_status_t st = qtd_slots_prepare_write(offset, length);
    if (st == QTD_ST_BAD_SLOT) {
        return qtd_fail(rep, st, "range touches the active slot, offset", offset, 1);
    }
    if (st == QTD_ST_OUT_OF_RANGE) {
        return qtd_fail(rep, st, "range touches the slot metadata, offset", offset, 1);
    }
    return st;
}

qtd_status_t qtd_cmd_flash_erase(const qtd_frame_t *req, qtd_reply_t *rep) {
    if (req->length != 8) {
        return qtd_fail(rep, QTD_ST_BAD_LENGTH, "FLASH_ERASE request is 8 bytes, got", req->length, 1);
    }
    uint32_t offset = qtd_le32(req->payload);
    uint32_t length = qtd_le32(req->payload + 4);
    uint32_t sector = qtd_link.board->sector_size;
    if (offset % sector != 0) {
        return qtd_fail(rep, QTD_ST_MISALIGNED, "offset not sector-aligned", offset, 1);
    }
    if (length == 0 || length % sector != 0) {
        return qtd_fail(rep, QTD_ST_MISALIGNED, "length not a positive multiple of the sector", length, 1);
    }
    qtd_status_t st = check_range(rep, offset, length);
    if (st == QTD_ST_OK) {
        st = guard(rep, offset, length);
    }
    if (st == QTD_ST_OK) {
        st = qtd_flash_erase(offset, length);
    }
    return st;
}

/* Compressed FLASH_WRITE (Codec HEATSHRINK): the payload is one self-contained heatshrink stream,
 * so a retried or resumed frame needs nothing from an earlier one. Decoded twice through the
 * reply buffer (free until the answer is built; page-aligned pieces), so a sector's worth of
 * decoded data needs no extra RAM: pass 1 checks the length and that every byte can be
 * programmed, pass 2 programs. A bad stream therefore writes nothing. */
typedef struct {
    uint32_t offset;
    bool program;
} hs_write_t;

static qtd_status_t hs_sink(void *ctx, uint32_t at, const uint8_t *piece, uint32_t n) {
    const hs_write_t *w = ctx;
    return w->program ? qtd_flash_program(w->offset + at, piece, n)
                      : qtd_flash_check_program(w->offset + at, piece, n);
}

static qtd_status_t write_heatshrink(qtd_reply_t *rep, uint32_t offset, uint32_t raw_length,
                                     const uint8_t *data, uint32_t data_len) {
    uint32_t page = qtd_link.board->page_size;
    uint32_t cap = rep->cap / page * page;
    hs_write_t w = {offset, false};
    uint32_t got = 0;
    qtd_status_t st = qtd_codec_heatshrink_decode(data, data_len, raw_length, rep->payload, cap, offset, page,
                                                  hs_sink, &w, &got);
    if (st == QTD_ST_BAD_ARGUMENT || (st == QTD_ST_OK && got != raw_length)) {
        return qtd_fail(rep, QTD_ST_BAD_ARGUMENT, "heatshrink data does not decode to raw_length, decoded",
                        got, st == QTD_ST_OK);
    }
    if (st == QTD_ST_OK) {
        w.program = true;
        st = qtd_codec_heatshrink_decode(data, data_len, raw_length, rep->payload, cap, offset, page, hs_sink,
                                         &w, &got);
    }
    rep->len = 0; /* the scratch is not an answer */
    return st;
}

qtd_status_t qtd_cmd_flash_write(const qtd_frame_t *req, qtd_reply_t *rep) {
    if (req->length < WRITE_HEADER) {
        return qtd_fail(rep, QTD_ST_BAD_LENGTH, "FLASH_WRITE request is 12 + n bytes, got", req->length, 1);
    }
    uint32_t offset = qtd_le32(req->payload);
    uint32_t raw_length = qtd_le32(req->payload + 4);
    uint8_t codec = req->payload[8];
    uint32_t data_len = req->length - WRITE_HEADER;
    bool compressed = (req->flags & QTD_FLAG_COMPRESSED) != 0;
    if (compressed != (codec != QTD_CODEC_NONE)) {
        return qtd_fail(rep, QTD_ST_BAD_ARGUMENT, "COMPRESSED flag disagrees with codec", codec, 1);
    }
    if (codec != QTD_CODEC_NONE && codec != QTD_CODEC_HEATSHRINK) {
        return qtd_fail(rep, QTD_ST_UNSUPPORTED, "codec", codec, 1);
    }
    if (codec == QTD_CODEC_NONE && data_len != raw_length) {
        return qtd_fail(rep, QTD_ST_BAD_LENGTH, "data length differs from raw_length", raw_length, 1);
    }
    if (raw_length == 0) {
        return qtd_fail(rep, QTD_ST_BAD_ARGUMENT, "raw_length is 0", 0, 0);
    }
    qtd_status_t st = check_range(rep, offset, raw_length);
    if (st != QTD_ST_OK) {
        return st;
    }
    uint32_t sector = qtd_link.board->sector_size;
    if (offset / sector != (offset + raw_length - 1u) / sector) {
        return qtd_fail(rep, QTD_ST_MISALIGNED, "write crosses a sector boundary, offset", offset, 1);
    }
    st = guard(rep, offset, raw_length);
    if (st == QTD_ST_OK && codec == QTD_CODEC_HEATSHRINK) {
        st = write_heatshrink(rep, offset, raw_length, req->payload + WRITE_HEADER, data_len);
    } else if (st == QTD_ST_OK) {
        st = qtd_flash_program(offset, req->payload + WRITE_HEADER, raw_length);
    }
    if (st == QTD_ST_NOT_ERASED) {
        return qtd_fail(rep, st, "target not erased, sector", offset - offset % sector, 1);
    }
    if (st == QTD_ST_OK) {
        qtd_put_le32(rep->payload, offset);
        qtd_put_le32(rep->payload + 4, raw_length);
        rep->len = 8;
    }
    return st;
}

qtd_status_t qtd_cmd_flash_read(const qtd_frame_t *req, qtd_reply_t *rep) {
    if (req->length != 8) {
        return qtd_fail(rep, QTD_ST_BAD_LENGTH, "FLASH_READ request is 8 bytes, got", req->length, 1);
    }
    uint32_t offset = qtd_le32(req->payload);
    uint32_t length = qtd_le32(req->payload + 4);
    if (length == 0 || length > rep->cap) {
        return qtd_fail(rep, QTD_ST_BAD_ARGUMENT, "length must be 1..max_payload, got", length, 1);
    }
    qtd_status_t st = check_range(rep, offset, length);
    if (st == QTD_ST_OK) {
        st = qtd_flash_read(offset, rep->payload, length);
        rep->len = (uint16_t)length;
    }
    return st;
}

qtd_status_t qtd_cmd_flash_hash(const qtd_frame_t *req, qtd_reply_t *rep) {
    if (req->length != 8) {
        return qtd_fail(rep, QTD_ST_BAD_LENGTH, "FLASH_HASH request is 8 bytes, got", req->length, 1);
    }
    uint32_t offset = qtd_le32(req->payload);
    uint32_t length = qtd_le32(req->payload + 4);
    qtd_status_t st = check_range(rep, offset, length);
    if (st == QTD_ST_OK) {
        st = qtd_flash_sha256(offset, length, rep->payload);
        rep->len = QTD_SHA256_SIZE;
    }
    return st;
}
