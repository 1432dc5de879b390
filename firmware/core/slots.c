/* Slot metadata: two copies, newest valid sequence number wins (protocol/slots.md).
 *
 * Commit order, chosen so every cut leaves the previous newest record readable:
 *   1. erase the copy that is NOT the newest        (cut: that copy is garbage, newest intact)
 *   2. program the record body (everything but CRC)  (cut: CRC still 0xFFFFFFFF -> invalid)
 *   3. program the 4-byte CRC                        (cut: CRC wrong -> invalid; else complete)
 * Only after step 3 does the new record (sequence + 1) outrank the old one. The slot being
 * written is never the active one, so the image the board boots is never touched. */
#include "qtd/slots.h"

#include <string.h>

#include "qtd/bitstream.h"
#include "qtd/crc32.h"
#include "qtd/flash.h"
#include "qtd/le.h"

static const qtd_board_t *g_board;
static qtd_slot_table_t g_table;
static uint8_t g_rec[QTD_SLOTS_RECORD_SIZE];

static uint32_t copy_offset(uint8_t copy) {
    return g_board->meta[copy].offset;
}

void qtd_slots_put_info_record(const qtd_slot_entry_t *e, uint8_t out[QTD_SLOTS_INFO_RECORD_SIZE]) {
    out[0] = e->state;
    qtd_put_le32(out + 4, e->seq);
    qtd_put_le32(out + 8, e->bitstream_size);
    memcpy(out + 12, e->bitstream_sha256, QTD_SHA256_SIZE);
    qtd_put_le32(out + 44, e->blob_size);
    memcpy(out + 48, e->blob_sha256, QTD_SHA256_SIZE);
}

void qtd_slots_encode(const qtd_slot_table_t *t, uint8_t out[QTD_SLOTS_RECORD_SIZE]) {
    memset(out, 0, QTD_SLOTS_RECORD_SIZE);
    qtd_put_le32(out, QTD_SLOTS_MAGIC);
    qtd_put_le16(out + 4, QTD_SLOTS_FORMAT);
    qtd_put_le16(out + 6, QTD_SLOTS_RECORD_SIZE);
    qtd_put_le32(out + 8, t->seq);
    out[12] = t->active;
    for (unsigned i = 0; i < QTD_SLOT_COUNT; i++) {
        const qtd_slot_entry_t *e = &t->slot[i];
        uint8_t *p = out + QTD_SLOTS_HEADER_SIZE + i * QTD_SLOTS_ENTRY_SIZE;
        qtd_slots_put_info_record(e, p);
        qtd_put_le32(p + 80, e->idcode);
        qtd_put_le32(p + 84, e->usr_access);
    }
    qtd_put_le32(out + QTD_SLOTS_BODY_SIZE, qtd_crc32(0, out, QTD_SLOTS_BODY_SIZE));
}

bool qtd_slots_decode(const uint8_t in[QTD_SLOTS_RECORD_SIZE], qtd_slot_table_t *t) {
    if (qtd_le32(in) != QTD_SLOTS_MAGIC || qtd_le16(in + 4) != QTD_SLOTS_FORMAT ||
        qtd_le16(in + 6) != QTD_SLOTS_RECORD_SIZE ||
        qtd_crc32(0, in, QTD_SLOTS_BODY_SIZE) != qtd_le32(in + QTD_SLOTS_BODY_SIZE)) {
        return false;
    }
    uint8_t active = in[12];
    if (active != QTD_LINK_NO_SLOT && active >= QTD_SLOT_COUNT) {
        return false;
    }
    memset(t, 0, sizeof *t);
    t->valid = true;
    t->seq = qtd_le32(in + 8);
    t->active = active;
    for (unsigned i = 0; i < QTD_SLOT_COUNT; i++) {
        qtd_slot_entry_t *e = &t->slot[i];
        const uint8_t *p = in + QTD_SLOTS_HEADER_SIZE + i * QTD_SLOTS_ENTRY_SIZE;
        e->state = p[0];
        e->seq = qtd_le32(p + 4);
        e->bitstream_size = qtd_le32(p + 8);
        memcpy(e->bitstream_sha256, p + 12, QTD_SHA256_SIZE);
        e->blob_size = qtd_le32(p + 44);
        memcpy(e->blob_sha256, p + 48, QTD_SHA256_SIZE);
        e->idcode = qtd_le32(p + 80);
        e->usr_access = qtd_le32(p + 84);
    }
    return true;
}

static qtd_status_t hash_matches(const qtd_region_t *r, uint32_t size, const uint8_t sha[QTD_SHA256_SIZE]) {
    uint8_t got[QTD_SHA256_SIZE];
    if (size > r->size) {
        return QTD_ST_OUT_OF_RANGE;
    }
    qtd_status_t st = qtd_flash_sha256(r->offset, size, got);
    if (st == QTD_ST_OK && memcmp(got, sha, QTD_SHA256_SIZE) != 0) {
        st = QTD_ST_VERIFY_FAILED;
    }
    return st;
}

static bool entry_intact(uint8_t slot) {
    const qtd_slot_entry_t *e = &g_table.slot[slot];
    const qtd_slot_layout_t *lay = &g_board->slots[slot];
    return hash_matches(&lay->bitstream, e->bitstream_size, e->bitstream_sha256) == QTD_ST_OK &&
           hash_matches(&lay->blob, e->blob_size, e->blob_sha256) == QTD_ST_OK;
}

qtd_status_t qtd_slots_load(const qtd_board_t *board) {
    g_board = board;
    memset(&g_table, 0, sizeof g_table);
    g_table.active = QTD_LINK_NO_SLOT;
    for (uint8_t c = 0; c < 2; c++) {
        qtd_slot_table_t t;
        qtd_status_t st = qtd_flash_read(copy_offset(c), g_rec, sizeof g_rec);
        if (st != QTD_ST_OK) {
            return st;
        }
        /* the newer of two valid copies wins; sequence numbers never wrap in practice (2^32) */
        if (qtd_slots_decode(g_rec, &t) && (!g_table.valid || t.seq > g_table.seq)) {
            t.copy = c;
            g_table = t;
        }
    }
    for (uint8_t s = 0; s < QTD_SLOT_COUNT; s++) {
        if (g_table.slot[s].state == QTD_SLOT_STATE_COMMITTED && !entry_intact(s)) {
            g_table.slot[s].state = QTD_SLOT_STATE_INVALID;
        }
    }
    return QTD_ST_OK;
}

const qtd_slot_table_t *qtd_slots_table(void) {
    return &g_table;
}

uint8_t qtd_slots_boot_slot(void) {
    uint8_t a = g_table.active;
    if (a < QTD_SLOT_COUNT && g_table.slot[a].state == QTD_SLOT_STATE_COMMITTED) {
        return a;
    }
    for (uint8_t s = 0; s < QTD_SLOT_COUNT; s++) {
        if (g_table.slot[s].state == QTD_SLOT_STATE_COMMITTED) {
            return s;
        }
    }
    return QTD_LINK_NO_SLOT;
}

/* The three-step commit of the file comment. */
static qtd_status_t write_record(qtd_slot_table_t *next) {
    uint8_t target = g_table.valid ? (uint8_t)(1u - g_table.copy) : 0u;
    next->valid = true;
    next->copy = target;
    qtd_slots_encode(next, g_rec);
    uint32_t at = copy_offset(target);
    /* the record lives in the copy's first sector: erasing that one sector is enough */
    qtd_status_t st = qtd_flash_erase(at, g_board->sector_size);
    if (st == QTD_ST_OK) {
        st = qtd_flash_program(at, g_rec, QTD_SLOTS_BODY_SIZE);
    }
    if (st == QTD_ST_OK) {
        st = qtd_flash_program(at + QTD_SLOTS_BODY_SIZE, g_rec + QTD_SLOTS_BODY_SIZE, 4);
    }
    if (st == QTD_ST_OK) {
        /* read back: only a record that decodes from flash counts as written */
        qtd_slot_table_t check;
        st = qtd_flash_read(at, g_rec, sizeof g_rec);
        if (st == QTD_ST_OK && !qtd_slots_decode(g_rec, &check)) {
            st = QTD_ST_VERIFY_FAILED;
        }
    }
    if (st == QTD_ST_OK) {
        g_table = *next;
    }
    return st;
}

qtd_status_t qtd_slots_commit(uint8_t slot, uint8_t flags, uint32_t bitstream_size,
                              const uint8_t bitstream_sha256[QTD_SHA256_SIZE], uint32_t blob_size,
                              const uint8_t blob_sha256[QTD_SHA256_SIZE]) {
    if (slot >= QTD_SLOT_COUNT || slot == g_table.active) {
        return QTD_ST_BAD_SLOT;
    }
    const qtd_slot_layout_t *lay = &g_board->slots[slot];
    qtd_status_t st = hash_matches(&lay->bitstream, bitstream_size, bitstream_sha256);
    if (st == QTD_ST_OK) {
        st = hash_matches(&lay->blob, blob_size, blob_sha256);
    }
    qtd_bitstream_facts_t facts = {0, 0, 0, 0};
    if (st == QTD_ST_OK && bitstream_size > 0) {
        st = qtd_bitstream_scan(lay->bitstream.offset, bitstream_size, &facts);
        if (st == QTD_ST_OK && facts.idcode != g_board->fpga_idcode) {
            st = QTD_ST_FPGA_IDCODE;
        }
    }
    if (st != QTD_ST_OK) {
        return st;
    }
    qtd_slot_table_t next = g_table;
    next.seq = g_table.valid ? g_table.seq + 1u : 1u;
    qtd_slot_entry_t *e = &next.slot[slot];
    e->state = QTD_SLOT_STATE_COMMITTED;
    e->seq = next.seq;
    e->bitstream_size = bitstream_size;
    memcpy(e->bitstream_sha256, bitstream_sha256, QTD_SHA256_SIZE);
    e->blob_size = blob_size;
    memcpy(e->blob_sha256, blob_sha256, QTD_SHA256_SIZE);
    e->idcode = facts.idcode;
    e->usr_access = facts.usr_access;
    if (flags & QTD_SLOTS_COMMIT_SELECT) {
        next.active = slot;
    }
    return write_record(&next);
}

qtd_status_t qtd_slots_select(uint8_t slot) {
    if (slot >= QTD_SLOT_COUNT || g_table.slot[slot].state != QTD_SLOT_STATE_COMMITTED) {
        return QTD_ST_BAD_SLOT;
    }
    if (g_table.active == slot) {
        return QTD_ST_OK; /* already active: no flash wear for a repeated select */
    }
    qtd_slot_table_t next = g_table;
    next.seq = g_table.seq + 1u;
    next.active = slot;
    return write_record(&next);
}

static bool overlaps(uint32_t addr, uint32_t len, const qtd_region_t *r) {
    return len > 0 && r->size > 0 && addr < r->offset + r->size && r->offset < addr + len;
}

qtd_status_t qtd_slots_prepare_write(uint32_t addr, uint32_t len) {
    qtd_status_t st = qtd_flash_check_range(addr, len);
    if (st != QTD_ST_OK) {
        return st;
    }
    if (overlaps(addr, len, &g_board->meta[0]) || overlaps(addr, len, &g_board->meta[1])) {
        return QTD_ST_OUT_OF_RANGE;
    }
    for (uint8_t s = 0; s < QTD_SLOT_COUNT; s++) {
        const qtd_slot_layout_t *lay = &g_board->slots[s];
        if (!overlaps(addr, len, &lay->bitstream) && !overlaps(addr, len, &lay->blob)) {
            continue;
        }
        if (s == g_table.active) {
            return QTD_ST_BAD_SLOT;
        }
        if (g_table.slot[s].state == QTD_SLOT_STATE_COMMITTED) {
            g_table.slot[s].state = QTD_SLOT_STATE_INVALID;
        }
    }
    return QTD_ST_OK;
}
