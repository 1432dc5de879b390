/* FPGA configuration (UG470 chapter 2 timing) and the accelerator identity check. */
#include "qtd/fpga.h"

#include "hal.h"
#include "qtd/flash.h"
#include "qtd/le.h"
#include "qtd/slots.h"

static const qtd_board_t *g_board;
static qtd_fpga_status_t g_status;

void qtd_fpga_init(const qtd_board_t *board) {
    g_board = board;
    g_status.state = QTD_FPGA_UNCONFIGURED;
    g_status.slot = QTD_LINK_NO_SLOT;
    g_status.idcode = 0;
    g_status.abi = 0;
}

/* protocol/regmap.md: READ, address big-endian, one turnaround byte, then LE data */
static uint32_t reg_read(uint16_t addr) {
    uint8_t cmd[3 + QTD_RM_READ_TURNAROUND_BYTES] = {QTD_SPI_CMD_READ, (uint8_t)(addr >> 8), (uint8_t)addr};
    uint8_t data[4] = {0};
    hal_fabric_xfer(cmd, sizeof cmd, data, sizeof data);
    return qtd_le32(data);
}

/* Wait until pin() == level; false on timeout. */
static bool wait_pin(bool (*pin)(void), bool level, uint32_t timeout_us, bool (*abort_if_low)(void)) {
    uint64_t start = hal_time_us();
    while (pin() != level) {
        if (abort_if_low && !abort_if_low()) {
            return false;
        }
        if (hal_time_us() - start > timeout_us) {
            return false;
        }
        hal_delay_us(100);
    }
    return true;
}

static qtd_status_t fail(qtd_status_t st) {
    g_status.state = QTD_FPGA_FAILED;
    g_status.abi = 0;
    return st;
}

static void reg_write(uint16_t addr, const uint8_t *data, size_t len) {
    uint8_t buf[3 + 8] = {QTD_SPI_CMD_WRITE, (uint8_t)(addr >> 8), (uint8_t)addr};
    for (size_t i = 0; i < len && i < 8; i++) {
        buf[3 + i] = data[i];
    }
    uint8_t none[1];
    hal_fabric_xfer(buf, 3 + len, none, 0);
}

/* worst case: 8 bits per byte at a 1-bit 3 MHz configuration clock */
static uint32_t done_timeout(uint32_t bitstream_size) {
    return QTD_FPGA_DONE_BASE_US + bitstream_size / 3u * 8u;
}

/* PROG_B: the part clears its configuration and WBSTAR, then loads the image at flash address 0
 * (slot A, the golden image). OK once DONE is high and the accelerator's ID answers. */
static qtd_status_t prog_b_boot(const qtd_slot_entry_t *golden) {
    hal_fpga_prog_b(false);
    hal_delay_us(QTD_FPGA_PROG_PULSE_US);
    hal_fpga_prog_b(true);
    if (!wait_pin(hal_fpga_init_b, true, QTD_FPGA_INIT_TIMEOUT_US, NULL)) {
        return QTD_ST_FPGA_NOT_DONE;
    }
    if (!wait_pin(hal_fpga_done, true, done_timeout(golden->bitstream_size), hal_fpga_init_b)) {
        /* INIT_B low while DONE is low: the part rejected the bitstream (CRC or IDCODE) */
        return QTD_ST_FPGA_NOT_DONE;
    }
    return reg_read(QTD_REG_ID) == QTD_RM_MAGIC ? QTD_ST_OK : QTD_ST_BAD_IMAGE;
}

static void running(uint8_t slot, const qtd_slot_entry_t *e) {
    g_status.slot = slot;
    g_status.idcode = e->idcode;
    g_status.abi = reg_read(QTD_REG_ABI);
    g_status.state = QTD_FPGA_CONFIGURED;
}

/* The golden design (running) jumps to the slot: MULTIBOOT_ADDR <- the slot's bitstream offset,
 * then the IPRG key in one burst (protocol/regmap.md example 6); it issues WBSTAR and IPROG
 * through ICAPE2 and the part reconfigures from there, or falls back to the golden image. */
static qtd_status_t multiboot(uint8_t slot, const qtd_slot_entry_t *e, const qtd_slot_entry_t *golden) {
    if (!(reg_read(QTD_REG_FEATURES) & QTD_AFEAT_MULTIBOOT)) {
        running(QTD_SLOT_A, golden); /* slot A runs; slot B cannot be reached from it */
        return QTD_ST_NO_GOLDEN;
    }
    uint8_t w[8];
    qtd_put_le32(w, g_board->slots[slot].bitstream.offset);
    qtd_put_le32(w + 4, QTD_RM_IPROG_KEY);
    reg_write(QTD_REG_MULTIBOOT_ADDR, w, sizeof w);
    /* the old design leaves at once (DONE low; ID stops answering where DONE is not routed) */
    if (!wait_pin(hal_fpga_done, false, QTD_FPGA_INIT_TIMEOUT_US, NULL)) {
        running(QTD_SLOT_A, golden);
        return QTD_ST_NO_GOLDEN; /* the golden design did not reconfigure */
    }
    /* no INIT_B abort here: a failure at the MultiBoot address is followed by the fallback */
    uint32_t timeout =
        done_timeout(e->bitstream_size) + QTD_FPGA_INIT_TIMEOUT_US + done_timeout(golden->bitstream_size);
    if (!wait_pin(hal_fpga_done, true, timeout, NULL)) {
        /* the part hangs hunting for a sync word when the golden image arms no configuration
         * watchdog: fall back by hand, PROG_B brings the golden image back */
        if (prog_b_boot(golden) != QTD_ST_OK) {
            return fail(QTD_ST_FPGA_NOT_DONE);
        }
        running(QTD_SLOT_A, golden);
        return QTD_ST_FPGA_FALLBACK;
    }
    if (reg_read(QTD_REG_ID) != QTD_RM_MAGIC) {
        return fail(QTD_ST_BAD_IMAGE);
    }
    uint32_t abi = reg_read(QTD_REG_ABI);
    if (abi != e->usr_access && abi == golden->usr_access) {
        /* the part fell back to the golden image (UG470 "fallback"): with equal ABIs in both slots
         * this is not visible over the register map (firmware/README.md, bring-up) */
        running(QTD_SLOT_A, golden);
        return QTD_ST_FPGA_FALLBACK;
    }
    running(slot, e);
    return QTD_ST_OK;
}

qtd_status_t qtd_fpga_configure(uint8_t slot) {
    const qtd_slot_table_t *t = qtd_slots_table();
    if (slot >= QTD_SLOT_COUNT || t->slot[slot].state != QTD_SLOT_STATE_COMMITTED ||
        t->slot[slot].bitstream_size == 0) {
        return QTD_ST_BAD_SLOT;
    }
    const qtd_slot_entry_t *e = &t->slot[slot];
    if (e->idcode != g_board->fpga_idcode) {
        return QTD_ST_FPGA_IDCODE; /* never ask the part to load a bitstream for another part */
    }
    /* PROG_B always boots flash address 0, slot A's bitstream: the golden image. Any other slot
     * is reached from there by MultiBoot, so slot A must hold a committed MultiBoot-capable one. */
    const qtd_slot_entry_t *golden = &t->slot[QTD_SLOT_A];
    if (golden->state != QTD_SLOT_STATE_COMMITTED || golden->bitstream_size == 0 ||
        golden->idcode != g_board->fpga_idcode) {
        return QTD_ST_NO_GOLDEN; /* nothing asked of the part: what runs keeps running */
    }
    qtd_status_t idle = qtd_flash_idle(); /* a running erase ends before the FPGA reads the flash */
    if (idle != QTD_ST_OK) {
        return idle;
    }
    g_status.slot = QTD_SLOT_A;
    g_status.idcode = golden->idcode;
    g_status.abi = 0;
    /* the FPGA masters the flash bus while it configures (after PROG_B and after IPROG) */
    hal_fpga_hold_bus(false);
    qtd_status_t st = prog_b_boot(golden);
    if (st != QTD_ST_OK) {
        (void)fail(st);
        return slot == QTD_SLOT_A ? st : QTD_ST_NO_GOLDEN;
    }
    if (slot == QTD_SLOT_A) {
        running(QTD_SLOT_A, golden);
        return QTD_ST_OK;
    }
    return multiboot(slot, e, golden);
}

void qtd_fpga_status(qtd_fpga_status_t *out) {
    g_status.done = hal_fpga_done() ? 1u : 0u;
    g_status.init_b = hal_fpga_init_b() ? 1u : 0u;
    if (g_status.state == QTD_FPGA_CONFIGURED && !g_status.done) {
        g_status.state = QTD_FPGA_FAILED; /* lost its configuration (brown-out, PROG_B) */
    }
    *out = g_status;
}

qtd_status_t qtd_fpga_check_abi(uint32_t blob_abi) {
    if (g_status.state != QTD_FPGA_CONFIGURED || g_status.abi != blob_abi) {
        return QTD_ST_ABI_MISMATCH;
    }
    return QTD_ST_OK;
}
