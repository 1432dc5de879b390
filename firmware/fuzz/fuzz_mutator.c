/* Structure-aware mutations for fuzz_cmd (fuzz_records.h): whole records are inserted, dropped,
 * duplicated (as a RETRY or not), swapped, re-flagged or re-targeted at another command, and
 * payload fields get the values the handlers branch on: command codes from the generated
 * protocol header, the board's region offsets and sizes, sector/page multiples and their
 * neighbours, engines, slots, codec ids, the model's window size. Half the time libFuzzer's own
 * byte-level mutation runs instead, so nothing the format does not foresee is out of reach. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_records.h"
#include "qtd/board.h"
#include "qtd/board_config.h"
#include "qtd/le.h"

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

#define MAX_RECS 64u

static const qtd_board_t k_board = QTD_BOARD_INIT;
static const uint8_t k_commands[] = {QTD_CMD_HELLO,
                                     QTD_CMD_RESET,
                                     QTD_CMD_SET_BAUD,
                                     QTD_CMD_PING,
                                     QTD_CMD_FLASH_INFO,
                                     QTD_CMD_FLASH_ERASE,
                                     QTD_CMD_FLASH_WRITE,
                                     QTD_CMD_FLASH_READ,
                                     QTD_CMD_FLASH_HASH,
                                     QTD_CMD_SLOT_COMMIT,
                                     QTD_CMD_SLOT_SELECT,
                                     QTD_CMD_SLOT_INFO,
                                     QTD_CMD_FPGA_CONFIGURE,
                                     QTD_CMD_FPGA_STATUS,
                                     QTD_CMD_MODEL_LOAD,
                                     QTD_CMD_INFER,
                                     QTD_CMD_STREAM_START,
                                     QTD_CMD_STREAM_DATA,
                                     QTD_CMD_STREAM_STOP,
                                     QTD_CMD_POWER_READ,
                                     QTD_CMD_POWER_STREAM,
                                     QTD_CMD_POWER_ENERGY,
                                     QTD_CMD_POWER_MARK,
                                     QTD_CMD_POWER_BENCH,
                                     QTD_CMD_BUILD_INFO,
                                     0x00,
                                     0xFF};

static uint32_t g_rand;
static uint32_t rnd(uint32_t n) {
    g_rand ^= g_rand << 13;
    g_rand ^= g_rand >> 17;
    g_rand ^= g_rand << 5;
    return n ? g_rand % n : 0;
}

/* An offset the guards and range checks branch on. */
static uint32_t pick_offset(void) {
    const qtd_slot_layout_t *s = &k_board.slots[rnd(QTD_SLOT_COUNT)];
    uint32_t v;
    switch (rnd(8)) {
        case 0: v = s->bitstream.offset; break;
        case 1: v = s->blob.offset; break;
        case 2: v = k_board.meta[rnd(2)].offset; break;
        case 3: v = k_board.log.offset + k_board.sector_size * rnd(4); break;
        case 4: v = k_board.flash_size - k_board.sector_size * rnd(2); break;
        case 5: v = s->blob.offset + s->blob.size - k_board.sector_size; break;
        case 6: v = 0xFFFFFFFFu - rnd(k_board.sector_size); break;
        default:
            v = s->bitstream.offset + k_board.page_size * rnd(k_board.sector_size / k_board.page_size);
            break;
    }
    static const int32_t nudge[] = {0, 0, 0, 0, 1, -1, 12};
    return v + (uint32_t)nudge[rnd(sizeof nudge / sizeof nudge[0])];
}

static uint32_t pick_length(void) {
    static const uint32_t k[] = {0, 1, 4, 12, 48, 76, 96, 255, 256, 257, 1024, 4084, 4096, 0x10000, 0x20000};
    switch (rnd(4)) {
        case 0: return k_board.sector_size * (1u + rnd(3));
        case 1: return k_board.page_size * (1u + rnd(16));
        default: return k[rnd(sizeof k / sizeof k[0])];
    }
}

/* Overwrite one field of a payload with a value its handler branches on. */
static void mutate_field(uint8_t *p, uint16_t len) {
    if (len == 0) {
        return;
    }
    uint16_t at = (uint16_t)rnd(len);
    switch (rnd(6)) {
        case 0:
            if (at + 4u <= len) {
                qtd_put_le32(p + at, pick_offset());
            }
            break;
        case 1:
            if (at + 4u <= len) {
                qtd_put_le32(p + at, pick_length());
            }
            break;
        case 2:
            if (at + 2u <= len) {
                static const uint16_t k[] = {0, 1, 2, 48, 96, 255, 256, 1024, 4096, 0xFFFF};
                qtd_put_le16(p + at, k[rnd(sizeof k / sizeof k[0])]);
            }
            break;
        case 3: p[at] = (uint8_t)rnd(3); break;                   /* engine, slot, codec, op */
        case 4: p[at] = rnd(2) ? 0xFFu : QTD_LINK_NO_SLOT; break; /* "active slot" */
        default: p[at] = (uint8_t)(p[at] + 1u - 2u * rnd(2)); break;
    }
}

typedef struct {
    size_t at, size; /* the whole record in the input */
} span_t;

static unsigned split(const uint8_t *data, size_t size, span_t *s) {
    unsigned n = 0;
    rec_t r;
    for (size_t at = 0; n < MAX_RECS && rec_parse(data, size, at, &r); at = r.next) {
        s[n++] = (span_t){at, r.next - at};
    }
    return n;
}

/* Write a fresh record for a random command into out; returns its size. */
static size_t make_record(uint8_t *out, size_t room) {
    if (room < REC_HEADER + 8u) {
        return 0;
    }
    uint8_t command = k_commands[rnd(sizeof k_commands)];
    uint16_t len = (uint16_t)rnd(rnd(4) == 0 ? 300u : 80u);
    static const uint16_t fixed[] = {0, 1, 2, 4, 8, 12, 76};
    if (rnd(2)) {
        len = fixed[rnd(sizeof fixed / sizeof fixed[0])];
    }
    if (len > room - REC_HEADER) {
        len = (uint16_t)(room - REC_HEADER);
    }
    out[0] = command;
    out[1] = rnd(4) == 0 ? (uint8_t)rnd(0x100) : (uint8_t)(rnd(2) ? REC_FIXUP : 0);
    qtd_put_le16(out + 2, len);
    out[4] = rnd(8) == 0 ? (uint8_t)rnd(0x100) : 0; /* now and then a mangled header or junk */
    memset(out + REC_HEADER, 0, len);
    for (unsigned i = 0; i < 3; i++) {
        mutate_field(out + REC_HEADER, len);
    }
    return REC_HEADER + len;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed) {
    g_rand = seed ? seed : 1u;
    if (rnd(2) == 0) {
        return LLVMFuzzerMutate(data, size, max_size);
    }
    static uint8_t tmp[1u << 16];
    span_t s[MAX_RECS];
    unsigned n = split(data, size, s);
    if (max_size > sizeof tmp) {
        max_size = sizeof tmp;
    }
    size_t out = 0;
    unsigned op = n == 0 ? 0 : rnd(7);
    unsigned pick = n ? rnd(n) : 0, other = n ? rnd(n) : 0;
    for (unsigned i = 0; i <= n; i++) {
        if (i == pick && op == 0) { /* insert a fresh record here */
            out += make_record(tmp + out, max_size - out);
        }
        if (i == n) {
            break;
        }
        const span_t *r = (op == 3 && i == pick) ? &s[other] : (op == 3 && i == other) ? &s[pick] : &s[i];
        if (op == 1 && i == pick) {
            continue; /* drop */
        }
        if (out + r->size > max_size) {
            break;
        }
        memcpy(tmp + out, data + r->at, r->size);
        uint8_t *rec = tmp + out;
        out += r->size;
        if (i != pick) {
            continue;
        }
        if (op == 2 && out + r->size <= max_size) { /* the same request again, as a retry or anew */
            memcpy(tmp + out, rec, r->size);
            tmp[out + 1] = (uint8_t)((rec[1] & ~(QTD_FLAG_RETRY | REC_SAME_SEQ)) |
                                     (rnd(2) ? QTD_FLAG_RETRY : REC_SAME_SEQ));
            out += r->size;
        } else if (op == 4) {
            rec[rnd(3) ? 1 : 4] ^= (uint8_t)(1u << rnd(8)); /* ctl, or the wire byte */
        } else if (op == 5) {
            rec[0] = k_commands[rnd(sizeof k_commands)];
        } else if (op == 6 && r->size > REC_HEADER) {
            mutate_field(rec + REC_HEADER, (uint16_t)(r->size - REC_HEADER));
        }
    }
    if (out == 0) {
        return LLVMFuzzerMutate(data, size, max_size);
    }
    memcpy(data, tmp, out);
    return out;
}
