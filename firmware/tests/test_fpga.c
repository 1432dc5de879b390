/* FPGA configuration against the virtual FPGA: a good bitstream (DONE, ID, ABI), the core's
 * IDCODE refusal, the part's own IDCODE refusal (INIT_B low), a slot with no sync word, and the
 * ABI check for a blob. */
#include <string.h>

#include "fpga_model.h"
#include "hal.h"
#include "qtd/flash.h"
#include "qtd/fpga.h"
#include "qtd/slots.h"
#include "test_util.h"

static uint8_t g_img[40000];

static qtd_status_t commit(uint8_t slot, uint32_t idcode, uint32_t abi, bool corrupt_sync) {
    const qtd_slot_layout_t *lay = &t_board.slots[slot];
    uint32_t n = t_make_bitstream(g_img, idcode, abi, 8000);
    uint8_t bs[32], empty[32];
    qtd_flash_erase(lay->bitstream.offset, lay->bitstream.size);
    qtd_flash_program(lay->bitstream.offset, g_img, n);
    t_sha256(g_img, n, bs);
    t_sha256(g_img, 0, empty);
    qtd_status_t st = qtd_slots_commit(slot, 0, n, bs, 0, empty);
    if (corrupt_sync) {
        /* after the commit, so the core's record is good but the part finds no sync */
        qtd_flash_erase(lay->bitstream.offset, 4096);
    }
    return st;
}

int main(void) {
    t_setup();
    CHECK_EQ(qtd_flash_init(&t_board), QTD_ST_OK);
    qtd_slots_load(&t_board);
    qtd_fpga_init(&t_board);
    qtd_fpga_status_t fs;
    qtd_fpga_status(&fs);
    CHECK_EQ(fs.state, QTD_FPGA_UNCONFIGURED);
    CHECK_EQ(qtd_fpga_configure(QTD_SLOT_A), QTD_ST_BAD_SLOT);

    CHECK_EQ(commit(QTD_SLOT_A, t_board.fpga_idcode, 0x00012345u, false), QTD_ST_OK);
    CHECK_EQ(qtd_fpga_configure(QTD_SLOT_A), QTD_ST_OK);
    qtd_fpga_status(&fs);
    CHECK_EQ(fs.state, QTD_FPGA_CONFIGURED);
    CHECK_EQ(fs.done, 1);
    CHECK_EQ(fs.init_b, 1);
    CHECK_EQ(fs.slot, QTD_SLOT_A);
    CHECK_EQ(fs.idcode, t_board.fpga_idcode);
    CHECK_EQ(fs.abi, 0x00012345u);
    CHECK_EQ(qtd_fpga_check_abi(0x00012345u), QTD_ST_OK);
    CHECK_EQ(qtd_fpga_check_abi(0x00012346u), QTD_ST_ABI_MISMATCH);

    /* wrong IDCODE: refused by the commit, and by the part itself if it ever got that far */
    CHECK_EQ(commit(QTD_SLOT_B, 0x03622093u, 1, false), QTD_ST_FPGA_IDCODE);
    t_make_bitstream(g_img, 0x03622093u, 1, 10);
    qtd_flash_erase(0x20000, 4096);
    qtd_flash_program(0x20000, g_img, 200);
    hal_fpga_multiboot(0x20000);
    hal_fpga_prog_b(false);
    hal_fpga_prog_b(true);
    hal_delay_us(3000);
    CHECK(!hal_fpga_init_b());
    CHECK(!hal_fpga_done());
    CHECK(strstr(fpga_model_last_error(), "IDCODE") != NULL);

    /* a committed slot whose bitstream lost its sync word: DONE never rises */
    CHECK_EQ(commit(QTD_SLOT_B, t_board.fpga_idcode, 7, true), QTD_ST_OK);
    CHECK_EQ(qtd_fpga_configure(QTD_SLOT_B), QTD_ST_FPGA_NOT_DONE);
    qtd_fpga_status(&fs);
    CHECK_EQ(fs.state, QTD_FPGA_FAILED);
    CHECK_EQ(qtd_fpga_check_abi(7), QTD_ST_ABI_MISMATCH);
    CHECK_EQ(t_nor.violations, 0);
    return t_summary("fpga");
}
