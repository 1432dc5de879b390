/* Slot manager: commit / select, the write gate, and power-cut safety. A cut is simulated at
 * every flash program/erase of a commit (the model applies half the operation, then longjmps
 * back here as if power was lost); after "reboot" the surviving record must be either the old
 * one or the new one, never neither. */
#include <setjmp.h>
#include <string.h>

#include "qtd/flash.h"
#include "qtd/slots.h"
#include "test_util.h"

static jmp_buf g_cut;
static void on_cut(nor_model_t *m) {
    (void)m;
    longjmp(g_cut, 1);
}

static uint8_t g_img[20000];

/* Write a bitstream + blob into a slot; return their hashes. */
static void put_image(uint8_t slot, uint32_t seed, uint8_t bs_sha[32], uint32_t *bs_len, uint8_t blob_sha[32]) {
    const qtd_slot_layout_t *lay = &t_board.slots[slot];
    *bs_len = t_make_bitstream(g_img, t_board.fpga_idcode, 0xAB000000u | seed, 2000);
    CHECK_EQ(qtd_flash_erase(lay->bitstream.offset, lay->bitstream.size), QTD_ST_OK);
    CHECK_EQ(qtd_flash_program(lay->bitstream.offset, g_img, *bs_len), QTD_ST_OK);
    t_sha256(g_img, *bs_len, bs_sha);
    for (unsigned i = 0; i < 1000; i++) {
        g_img[i] = (uint8_t)(i + seed);
    }
    CHECK_EQ(qtd_flash_erase(lay->blob.offset, lay->blob.size), QTD_ST_OK);
    CHECK_EQ(qtd_flash_program(lay->blob.offset, g_img, 1000), QTD_ST_OK);
    t_sha256(g_img, 1000, blob_sha);
}

static void basics(void) {
    t_setup();
    CHECK_EQ(qtd_flash_init(&t_board), QTD_ST_OK);
    CHECK_EQ(qtd_slots_load(&t_board), QTD_ST_OK);
    CHECK(!qtd_slots_table()->valid);
    CHECK_EQ(qtd_slots_boot_slot(), QTD_LINK_NO_SLOT);
    uint8_t bs[32], blob[32], wrong[32] = {0};
    uint32_t len;
    put_image(QTD_SLOT_A, 1, bs, &len, blob);
    CHECK_EQ(qtd_slots_select(QTD_SLOT_A), QTD_ST_BAD_SLOT);
    CHECK_EQ(qtd_slots_commit(QTD_SLOT_A, 0, len, wrong, 1000, blob), QTD_ST_VERIFY_FAILED);
    CHECK(!qtd_slots_table()->valid); /* table unchanged */
    CHECK_EQ(qtd_slots_commit(QTD_SLOT_A, QTD_SLOTS_COMMIT_SELECT, len, bs, 1000, blob), QTD_ST_OK);
    CHECK_EQ(qtd_slots_table()->active, QTD_SLOT_A);
    CHECK_EQ(qtd_slots_table()->slot[0].usr_access, 0xAB000001u);
    CHECK_EQ(qtd_slots_table()->slot[0].seq, 1);
    /* the active slot and the metadata are not writable from the link */
    CHECK_EQ(qtd_slots_prepare_write(0x1000, 16), QTD_ST_BAD_SLOT);
    CHECK_EQ(qtd_slots_prepare_write(t_board.meta[1].offset, 16), QTD_ST_OUT_OF_RANGE);
    CHECK_EQ(qtd_slots_prepare_write(t_board.log.offset, 16), QTD_ST_OK);
    CHECK_EQ(qtd_slots_commit(QTD_SLOT_A, 0, len, bs, 1000, blob), QTD_ST_BAD_SLOT);
    /* a bitstream for another part is refused at commit */
    const qtd_slot_layout_t *lb = &t_board.slots[1];
    uint32_t n = t_make_bitstream(g_img, 0x03622093u, 0, 10);
    CHECK_EQ(qtd_slots_prepare_write(lb->bitstream.offset, lb->bitstream.size), QTD_ST_OK);
    CHECK_EQ(qtd_flash_erase(lb->bitstream.offset, lb->bitstream.size), QTD_ST_OK);
    CHECK_EQ(qtd_flash_program(lb->bitstream.offset, g_img, n), QTD_ST_OK);
    t_sha256(g_img, n, bs);
    CHECK_EQ(qtd_slots_commit(QTD_SLOT_B, 0, n, bs, 0, wrong), QTD_ST_VERIFY_FAILED); /* blob hash of 0 bytes */
    uint8_t empty[32];
    t_sha256(g_img, 0, empty);
    CHECK_EQ(qtd_slots_commit(QTD_SLOT_B, 0, n, bs, 0, empty), QTD_ST_FPGA_IDCODE);
    /* reload from flash: the same table */
    CHECK_EQ(qtd_slots_load(&t_board), QTD_ST_OK);
    CHECK_EQ(qtd_slots_table()->active, QTD_SLOT_A);
    CHECK_EQ(qtd_slots_boot_slot(), QTD_SLOT_A);
    CHECK_EQ(qtd_slots_table()->slot[1].state, QTD_SLOT_STATE_EMPTY);
}

/* Commit slot B (select) on top of an active slot A, cutting the power at flash operation k
 * (counted from the start of the commit). Returns whether the cut fired. */
static int commit_with_cut(unsigned long k, uint8_t bs[32], uint32_t len, uint8_t blob[32], qtd_status_t *st) {
    t_nor.die_after = k ? t_nor.write_ops + k : 0;
    t_nor.on_power_cut = on_cut;
    if (setjmp(g_cut)) {
        t_nor.die_after = 0;
        t_nor.busy_until_us = 0; /* power comes back: the part is idle */
        t_nor.wel = false;
        return 1;
    }
    *st = qtd_slots_commit(QTD_SLOT_B, QTD_SLOTS_COMMIT_SELECT, len, bs, 1000, blob);
    t_nor.die_after = 0;
    return 0;
}

static void power_cuts(void) {
    unsigned long k;
    int cuts = 0;
    for (k = 1;; k++) {
        t_setup();
        CHECK_EQ(qtd_flash_init(&t_board), QTD_ST_OK);
        qtd_slots_load(&t_board);
        uint8_t bs_a[32], blob_a[32], bs_b[32], blob_b[32];
        uint32_t len_a, len_b;
        put_image(QTD_SLOT_A, 1, bs_a, &len_a, blob_a);
        CHECK_EQ(qtd_slots_commit(QTD_SLOT_A, QTD_SLOTS_COMMIT_SELECT, len_a, bs_a, 1000, blob_a), QTD_ST_OK);
        put_image(QTD_SLOT_B, 2, bs_b, &len_b, blob_b);
        /* a second commit of A's twin so that both metadata copies hold a valid record */
        qtd_status_t st = QTD_ST_INTERNAL;
        int cut = commit_with_cut(k, bs_b, len_b, blob_b, &st);
        /* reboot */
        CHECK_EQ(qtd_flash_init(&t_board), QTD_ST_OK);
        CHECK_EQ(qtd_slots_load(&t_board), QTD_ST_OK);
        const qtd_slot_table_t *t = qtd_slots_table();
        CHECK(t->valid);
        uint8_t boot = qtd_slots_boot_slot();
        if (!cut) {
            CHECK_EQ(st, QTD_ST_OK);
            CHECK_EQ(boot, QTD_SLOT_B);
            break;
        }
        cuts++;
        /* either the old record (A active) or the complete new one (B active) */
        CHECK(boot == QTD_SLOT_A || boot == QTD_SLOT_B);
        if (boot == QTD_SLOT_A) {
            CHECK_EQ(t->slot[0].state, QTD_SLOT_STATE_COMMITTED);
            CHECK(memcmp(t->slot[0].bitstream_sha256, bs_a, 32) == 0);
        } else {
            CHECK(memcmp(t->slot[1].bitstream_sha256, bs_b, 32) == 0);
        }
        CHECK_EQ(t_nor.violations, 0);
    }
    printf("power cuts simulated: %d (every flash operation of a commit)\n", cuts);
    CHECK_EQ(cuts, 3); /* erase, body, CRC */
}

int main(void) {
    basics();
    power_cuts();
    return t_summary("slots");
}
