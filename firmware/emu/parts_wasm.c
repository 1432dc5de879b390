/* The virtual board's parts for the RP2040 emulator, compiled to WebAssembly with the very C
 * models hal/posix links (NOR flash, virtual FPGA + accelerator C model, PAC1934s + power model,
 * their wiring: power_wiring.c). parts.mjs calls these from rp2040js's SPI, I2C and GPIO hooks.
 *
 * What this file adds is only the wire adapter the host build does not need: the emulator's SPI
 * hands over one byte at a time with chip select on a GPIO, while nor_model_xfer takes a whole
 * chip-select-framed transaction. A read-type opcode (READ, READ STATUS, READ JEDEC ID) gets its
 * data bytes from the model as they are clocked (READ n bytes == n one-byte READs at increasing
 * addresses: the part has no state that a read changes); every other opcode executes at CS high
 * with all its bytes, as a real part does. */
#include <stdlib.h>
#include <string.h>

#include "fpga_model.h"
#include "hal.h"
#include "nor_model.h"
#include "pac1934_model.h"
#include "power_wiring.h"
#include "qtd/board_config.h"
#include "qtd/flash.h"

#define EXPORT(name)  __attribute__((export_name(#name)))
#define FLASH_CMD_MAX (4u + 4096u)

__attribute__((import_module("env"), import_name("now_us"))) double js_now_us(void);

static const qtd_board_t k_board = QTD_BOARD_INIT;
static nor_model_t g_nor;
static uint8_t *g_mem;
static uint8_t g_cmd[FLASH_CMD_MAX];
static size_t g_cmd_len;
static uint32_t g_dirty_lo, g_dirty_hi; /* flash bytes changed since the last parts_flash_dirty */
static int g_fault;                     /* 1: power cut, 2: hardware rule violated */
static char g_fault_msg[200];

uint64_t hal_time_us(void) {
    return (uint64_t)js_now_us();
}

static void on_violation(nor_model_t *m, const char *msg) {
    (void)m;
    g_fault = 2;
    strncpy(g_fault_msg, msg, sizeof g_fault_msg - 1);
}
static void on_fpga_violation(const char *msg) {
    on_violation(NULL, msg);
}
static void on_power_cut(nor_model_t *m) {
    (void)m;
    g_fault = 1; /* the harness persists what was written and ends the process, as a cut would */
}

/* The flash array (the harness fills it from the flash file) and the board's geometry. */
EXPORT(parts_init)
uint8_t *parts_init(double time_scale, uint32_t die_after, uint32_t jedec_id) {
    /* jedec_id 0: the board file's part; another value: a board fitted with another chip */
    g_mem = malloc(k_board.flash_size);
    nor_model_init(&g_nor, g_mem, k_board.flash_size, k_board.page_size,
                   jedec_id ? jedec_id : k_board.jedec_id);
    g_nor.page_program_us = (uint32_t)(QTD_BOARD_PAGE_PROGRAM_TYP_US * time_scale);
    g_nor.erase_64k_us = (uint32_t)(QTD_BOARD_SECTOR_ERASE_TYP_US * time_scale);
    g_nor.erase_4k_us = g_nor.erase_64k_us / 4u;
    g_nor.write_status_us = (uint32_t)(10000 * time_scale);
    g_nor.die_after = die_after;
    g_nor.on_power_cut = on_power_cut;
    g_nor.bus_granted = fpga_model_bus_held;
    g_nor.on_violation = on_violation;
    fpga_model_config_t fc = {g_mem, k_board.flash_size, k_board.fpga_idcode,
                              (uint64_t)(QTD_BOARD_FPGA_CONFIG_BITS_PER_S / time_scale), on_fpga_violation};
    fpga_model_init(&fc);
    sim_power_wiring_init(&k_board);
    g_dirty_lo = UINT32_MAX;
    return g_mem;
}
EXPORT(parts_flash_size) uint32_t parts_flash_size(void) {
    return k_board.flash_size;
}
EXPORT(parts_fault) int parts_fault(void) {
    return g_fault;
}
EXPORT(parts_fault_msg) const char *parts_fault_msg(void) {
    return g_fault_msg;
}

static bool read_opcode(uint8_t op, size_t *cmd_len) {
    switch (op) {
        case QTD_NOR_READ: *cmd_len = 1u + 3u; return true;
        case QTD_NOR_READ_STATUS:
        case QTD_NOR_READ_JEDEC: *cmd_len = 1u; return true;
        default: return false;
    }
}

/* ---- flash SPI: chip select low, bytes, chip select high ---------------------------------- */
EXPORT(parts_flash_begin) void parts_flash_begin(void) {
    g_cmd_len = 0;
}

EXPORT(parts_flash_byte) uint32_t parts_flash_byte(uint32_t mosi) {
    size_t n = g_cmd_len, cmd_len;
    if (n < FLASH_CMD_MAX) {
        g_cmd[g_cmd_len++] = (uint8_t)mosi;
    }
    if (n == 0 || !read_opcode(g_cmd[0], &cmd_len) || n < cmd_len) {
        return 0xFF; /* the part's SO is high-Z while it takes a command: the pull-up reads 1s */
    }
    uint8_t in[4] = {0xFF, 0xFF, 0xFF, 0xFF}, cmd[4];
    memcpy(cmd, g_cmd, cmd_len);
    size_t k = n - cmd_len; /* data byte index */
    if (g_cmd[0] == QTD_NOR_READ) {
        uint32_t a = (((uint32_t)cmd[1] << 16) | ((uint32_t)cmd[2] << 8) | cmd[3]) + (uint32_t)k;
        cmd[1] = (uint8_t)(a >> 16), cmd[2] = (uint8_t)(a >> 8), cmd[3] = (uint8_t)a;
        nor_model_xfer(&g_nor, cmd, cmd_len, NULL, 0, in, 1);
        return in[0];
    }
    size_t want = g_cmd[0] == QTD_NOR_READ_JEDEC ? (k < 3 ? k + 1 : 3) : 1;
    nor_model_xfer(&g_nor, cmd, cmd_len, NULL, 0, in, want);
    return in[want - 1];
}

EXPORT(parts_flash_end) void parts_flash_end(void) {
    size_t cmd_len;
    if (g_cmd_len == 0 || read_opcode(g_cmd[0], &cmd_len)) {
        return; /* reads happened byte by byte */
    }
    uint8_t op = g_cmd[0];
    cmd_len = (op == QTD_NOR_PAGE_PROGRAM || op == QTD_NOR_SECTOR_ERASE_4K || op == QTD_NOR_BLOCK_ERASE_64K)
                  ? 4u
                  : 1u;
    if (g_cmd_len < cmd_len) {
        cmd_len = g_cmd_len;
    }
    nor_model_xfer(&g_nor, g_cmd, cmd_len, g_cmd + cmd_len, g_cmd_len - cmd_len, NULL, 0);
    if (cmd_len == 4u) {
        uint32_t a = ((uint32_t)g_cmd[1] << 16) | ((uint32_t)g_cmd[2] << 8) | g_cmd[3];
        uint32_t unit = op == QTD_NOR_PAGE_PROGRAM      ? k_board.page_size
                        : op == QTD_NOR_SECTOR_ERASE_4K ? 4096u
                                                        : 65536u;
        uint32_t lo = a - a % unit, hi = lo + unit;
        if (hi > k_board.flash_size) {
            hi = k_board.flash_size;
        }
        g_dirty_lo = lo < g_dirty_lo ? lo : g_dirty_lo;
        g_dirty_hi = hi > g_dirty_hi ? hi : g_dirty_hi;
    }
}

/* The range to write back to the flash file, [lo, hi) packed as lo << 32 | hi; then cleared. */
EXPORT(parts_flash_dirty) double parts_flash_dirty(void) {
    double r = g_dirty_lo == UINT32_MAX ? -1.0 : (double)g_dirty_lo * 4294967296.0 + (double)g_dirty_hi;
    g_dirty_lo = UINT32_MAX, g_dirty_hi = 0;
    return r;
}

/* ---- FPGA pins and fabric SPI --------------------------------------------------------------- */
EXPORT(parts_fpga_hold_bus) void parts_fpga_hold_bus(uint32_t hold) {
    hal_fpga_hold_bus(hold != 0);
}
EXPORT(parts_fpga_prog_b) void parts_fpga_prog_b(uint32_t level) {
    hal_fpga_prog_b(level != 0);
}
EXPORT(parts_fabric_begin) void parts_fabric_begin(void) {
    fpga_model_spi_begin();
}
EXPORT(parts_fabric_byte) uint32_t parts_fabric_byte(uint32_t mosi) {
    return fpga_model_spi_byte((uint8_t)mosi);
}
EXPORT(parts_fabric_end) void parts_fabric_end(void) {
    fpga_model_spi_end();
}

/* ---- I2C: the PAC1934 bus --------------------------------------------------------------------- */
static uint8_t g_i2c[64];
EXPORT(parts_i2c_buf) uint8_t *parts_i2c_buf(void) {
    return g_i2c;
}
/* A write transaction of len bytes from parts_i2c_buf (len 0: address only, the ACK). */
EXPORT(parts_i2c_write) uint32_t parts_i2c_write(uint32_t addr7, uint32_t len) {
    return pac1934_bus_write((uint8_t)addr7, g_i2c, len, hal_time_us());
}
/* A read transaction of len bytes into parts_i2c_buf: false when no monitor answers. */
EXPORT(parts_i2c_read) uint32_t parts_i2c_read(uint32_t addr7, uint32_t len) {
    return pac1934_bus_read((uint8_t)addr7, g_i2c, len, hal_time_us());
}
