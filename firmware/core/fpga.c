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
    qtd_status_t idle = qtd_flash_idle(); /* a running erase ends before the FPGA reads the flash */
    if (idle != QTD_ST_OK) {
        return idle;
    }
    g_status.slot = slot;
    g_status.idcode = e->idcode;
    /* the FPGA masters the flash bus while it configures */
    hal_fpga_hold_bus(false);
    hal_fpga_multiboot(g_board->slots[slot].bitstream.offset);
    hal_fpga_prog_b(false);
    hal_delay_us(QTD_FPGA_PROG_PULSE_US);
    hal_fpga_prog_b(true);
    if (!wait_pin(hal_fpga_init_b, true, QTD_FPGA_INIT_TIMEOUT_US, NULL)) {
        return fail(QTD_ST_FPGA_NOT_DONE);
    }
    /* worst case: 8 bits per byte at a 1-bit 3 MHz configuration clock */
    uint32_t done_timeout = QTD_FPGA_DONE_BASE_US + e->bitstream_size / 3u * 8u;
    if (!wait_pin(hal_fpga_done, true, done_timeout, hal_fpga_init_b)) {
        /* INIT_B low while DONE is low: the part rejected the bitstream (CRC or IDCODE) */
        return fail(QTD_ST_FPGA_NOT_DONE);
    }
    if (reg_read(QTD_REG_ID) != QTD_RM_MAGIC) {
        return fail(QTD_ST_BAD_IMAGE);
    }
    g_status.abi = reg_read(QTD_REG_ABI);
    g_status.state = QTD_FPGA_CONFIGURED;
    return QTD_ST_OK;
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
