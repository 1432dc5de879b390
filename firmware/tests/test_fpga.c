/* FPGA configuration against the virtual FPGA: PROG_B boots address 0 (slot A, the golden image)
 * whatever was configured before; slot B only through the golden design's MultiBoot registers
 * (NO_GOLDEN when slot A is empty or its image does not configure); the part's own IDCODE refusal (INIT_B
 * low); MultiBoot fallback to the golden image when slot B's image fails; the ABI check. */
#include <string.h>

#include "fpga_model.h"
#include "hal.h"
#include "qtd/flash.h"
#include "qtd/fpga.h"
#include "qtd/le.h"
#include "qtd/protocol.h"
#include "qtd/slots.h"
#include "test_util.h"

static uint8_t g_img[40000];

/* A simulated bitstream; with_design puts a design descriptor (protocol/bitstream.md) at the start
 * of its frame data (its text need not parse: the fabric then has the register shell, MultiBoot
 * included, but no engine). */
static uint32_t make(uint32_t idcode, uint32_t abi, bool with_design) {
    uint32_t n = t_make_bitstream(g_img, idcode, abi, 8000);
    if (with_design) {
        const uint32_t frame = 97; /* .bit header 21, 8 dummies, BB, bus width, dummy, sync, 6 words */
        const uint8_t d[] = {'Q', 'T', 'D', 'D', 0, 0, 0, 8, 'n', 'o', 't', ' ', 'r', 'e', 'a', 'l'};
        memcpy(g_img + frame, d, sizeof d);
    }
    return n;
}

static qtd_status_t commit_img(uint8_t slot, uint32_t n, bool corrupt_sync) {
    const qtd_slot_layout_t *lay = &t_board.slots[slot];
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

static qtd_status_t commit(uint8_t slot, uint32_t idcode, uint32_t abi, bool corrupt_sync) {
    return commit_img(slot, make(idcode, abi, true), corrupt_sync);
}

static uint32_t read_reg(uint16_t addr) {
    uint8_t cmd[4] = {QTD_SPI_CMD_READ, (uint8_t)(addr >> 8), (uint8_t)addr, 0};
    uint8_t d[4];
    hal_fabric_xfer(cmd, sizeof cmd, d, sizeof d);
    return qtd_le32(d);
}

/* PROG_B by hand, then wait (virtual time) for DONE or the part's INIT_B error */
static void pulse_prog_b(void) {
    hal_fpga_prog_b(false);
    hal_fpga_prog_b(true);
    hal_delay_us(3000);
    for (int i = 0; i < 10000 && hal_fpga_init_b() && !hal_fpga_done(); i++) {
        hal_delay_us(1000);
    }
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

    /* the part's own IDCODE refusal at address 0: INIT_B low, DONE low */
    make(0x03622093u, 1, true);
    qtd_flash_erase(0, 4096);
    qtd_flash_program(0, g_img, 200);
    pulse_prog_b();
    CHECK(!hal_fpga_init_b());
    CHECK(!hal_fpga_done());
    CHECK(strstr(fpga_model_last_error(), "IDCODE") != NULL);
    /* wrong IDCODE: refused by the commit before the part sees it */
    CHECK_EQ(commit(QTD_SLOT_A, 0x03622093u, 1, false), QTD_ST_FPGA_IDCODE);

    /* slot B with slot A empty: no golden image to MultiBoot from, nothing asked of the part */
    CHECK_EQ(commit(QTD_SLOT_B, t_board.fpga_idcode, 0x00000B0Bu, false), QTD_ST_OK);
    CHECK_EQ(qtd_fpga_configure(QTD_SLOT_B), QTD_ST_NO_GOLDEN);
    qtd_fpga_status(&fs);
    CHECK_EQ(fs.state, QTD_FPGA_UNCONFIGURED);

    /* slot A holds a design built without the IPROG sequencer (FEATURES.MULTIBOOT 0): slot A
     * runs, slot B cannot be reached from it */
    uint32_t n = make(t_board.fpga_idcode, 0x0000A0A0u, true);
    const char nomb[] = "qtdeploy-sim-design/1|multiboot=0|";
    const uint8_t len_be[4] = {0, 0, 0, sizeof nomb - 1};
    memcpy(g_img + 97 + 4, len_be, 4);
    memcpy(g_img + 97 + 8, nomb, sizeof nomb - 1);
    CHECK_EQ(commit_img(QTD_SLOT_A, n, false), QTD_ST_OK);
    CHECK_EQ(qtd_fpga_configure(QTD_SLOT_B), QTD_ST_NO_GOLDEN);
    qtd_fpga_status(&fs);
    CHECK_EQ(fs.state, QTD_FPGA_CONFIGURED);
    CHECK_EQ(fs.slot, QTD_SLOT_A);
    CHECK_EQ(fs.abi, 0x0000A0A0u);
    CHECK_EQ(read_reg(QTD_REG_FEATURES) & QTD_AFEAT_MULTIBOOT, 0u);

    /* a MultiBoot-capable golden image in slot A */
    CHECK_EQ(commit(QTD_SLOT_A, t_board.fpga_idcode, 0x00012345u, false), QTD_ST_OK);
    CHECK_EQ(qtd_fpga_configure(QTD_SLOT_A), QTD_ST_OK);
    qtd_fpga_status(&fs);
    CHECK_EQ(fs.state, QTD_FPGA_CONFIGURED);
    CHECK_EQ(fs.done, 1);
    CHECK_EQ(fs.init_b, 1);
    CHECK_EQ(fs.slot, QTD_SLOT_A);
    CHECK_EQ(fs.idcode, t_board.fpga_idcode);
    CHECK_EQ(fs.abi, 0x00012345u);
    CHECK(read_reg(QTD_REG_FEATURES) & QTD_AFEAT_MULTIBOOT);
    CHECK_EQ(qtd_fpga_check_abi(0x00012345u), QTD_ST_OK);
    CHECK_EQ(qtd_fpga_check_abi(0x00012346u), QTD_ST_ABI_MISMATCH);

    /* slot B through MultiBoot */
    CHECK_EQ(qtd_fpga_configure(QTD_SLOT_B), QTD_ST_OK);
    qtd_fpga_status(&fs);
    CHECK_EQ(fs.state, QTD_FPGA_CONFIGURED);
    CHECK_EQ(fs.slot, QTD_SLOT_B);
    CHECK_EQ(fs.abi, 0x00000B0Bu);
    CHECK(!fpga_model_fell_back());
    CHECK_EQ(qtd_fpga_check_abi(0x00000B0Bu), QTD_ST_OK);

    /* strictness: PROG_B alone (what a MCU-side slot switch would do) boots slot A, never B */
    pulse_prog_b();
    CHECK(hal_fpga_done());
    CHECK_EQ(read_reg(QTD_REG_ID), QTD_RM_MAGIC);
    CHECK_EQ(read_reg(QTD_REG_ABI), 0x00012345u);
    qtd_fpga_status(&fs);
    CHECK_EQ(fs.state, QTD_FPGA_CONFIGURED); /* DONE is high again, but from slot A: reconfigure */
    CHECK_EQ(qtd_fpga_configure(QTD_SLOT_B), QTD_ST_OK);
    CHECK_EQ(read_reg(QTD_REG_ABI), 0x00000B0Bu);

    /* the IPROG key is the design's: a wrong one is an accelerator error, no reconfiguration */
    const uint8_t bad[] = {QTD_SPI_CMD_WRITE, 0x00, QTD_REG_MULTIBOOT_TRIGGER, 'I', 'P', 'R', 'X'};
    hal_fabric_xfer(bad, sizeof bad, NULL, 0);
    CHECK(hal_fpga_done());
    CHECK_EQ(read_reg(QTD_REG_ERROR_CODE), QTD_AERR_BAD_IPROG_KEY);

    /* slot B's image is for another part (written after its commit): the IDCODE error at the
     * MultiBoot address makes the part itself fall back to the golden image at 0 */
    CHECK_EQ(qtd_fpga_configure(QTD_SLOT_A), QTD_ST_OK);
    CHECK_EQ(commit(QTD_SLOT_B, t_board.fpga_idcode, 7, false), QTD_ST_OK);
    n = make(0x03622093u, 7, true);
    qtd_flash_erase(t_board.slots[QTD_SLOT_B].bitstream.offset, 4096);
    qtd_flash_program(t_board.slots[QTD_SLOT_B].bitstream.offset, g_img, n < 4096 ? n : 4096);
    CHECK_EQ(qtd_fpga_configure(QTD_SLOT_B), QTD_ST_FPGA_FALLBACK);
    CHECK(fpga_model_fell_back());
    CHECK(strstr(fpga_model_last_error(), "IDCODE") != NULL);
    qtd_fpga_status(&fs);
    CHECK_EQ(fs.state, QTD_FPGA_CONFIGURED);
    CHECK_EQ(fs.slot, QTD_SLOT_A);
    CHECK_EQ(fs.abi, 0x00012345u);
    CHECK_EQ(qtd_fpga_check_abi(7), QTD_ST_ABI_MISMATCH);

    /* slot B's image lost its sync word and the golden image arms no configuration watchdog
     * (TIMER 0, Vivado's default): the part hangs; the core brings slot A back by PROG_B */
    CHECK_EQ(commit(QTD_SLOT_B, t_board.fpga_idcode, 7, true), QTD_ST_OK);
    CHECK_EQ(qtd_fpga_configure(QTD_SLOT_B), QTD_ST_FPGA_FALLBACK);
    CHECK(!fpga_model_fell_back()); /* the firmware's fallback, not the part's */
    qtd_fpga_status(&fs);
    CHECK_EQ(fs.state, QTD_FPGA_CONFIGURED);
    CHECK_EQ(fs.slot, QTD_SLOT_A);
    CHECK_EQ(read_reg(QTD_REG_ABI), 0x00012345u);

    /* the same with a golden image that arms the watchdog (a TIMER packet in place of its AXSS
     * one, so its ABI is 0): the part falls back by itself */
    n = make(t_board.fpga_idcode, 0, true);
    const uint8_t timer[8] = {0x30, 0x02, 0x20, 0x01, 0x40, 0x00, 0x01, 0x00}; /* write TIMER, 1 word */
    memcpy(g_img + 81, timer, sizeof timer);
    CHECK_EQ(commit_img(QTD_SLOT_A, n, false), QTD_ST_OK);
    CHECK_EQ(qtd_fpga_configure(QTD_SLOT_B), QTD_ST_FPGA_FALLBACK);
    CHECK(fpga_model_fell_back());
    CHECK(strstr(fpga_model_last_error(), "sync") != NULL);
    qtd_fpga_status(&fs);
    CHECK_EQ(fs.slot, QTD_SLOT_A);
    CHECK_EQ(fs.abi, 0u);

    /* slot A's image broken too: nothing configures, B is unreachable */
    qtd_flash_erase(0, 4096);
    CHECK_EQ(qtd_fpga_configure(QTD_SLOT_B), QTD_ST_NO_GOLDEN);
    qtd_fpga_status(&fs);
    CHECK_EQ(fs.state, QTD_FPGA_FAILED);
    CHECK_EQ(qtd_fpga_configure(QTD_SLOT_A), QTD_ST_FPGA_NOT_DONE);
    CHECK_EQ(t_nor.violations, 0);
    return t_summary("fpga");
}
