/* SPI NOR driver. Why read-before-program: NOR can only clear bits, and a chip silently ANDs
 * a bad program into the array; checking first turns that into a NOT_ERASED answer, and lets a
 * retried write of identical data cost nothing. */
#include "qtd/flash.h"

#include <stdbool.h>
#include <string.h>

#include "hal.h"

/* A page program takes 250 us typical (S25FL128S): poll the status back to back, as the
 * datasheet's flow chart does; a 20 us sleep between polls finished each page ~10 us late on
 * average (4 % of the program time; ~80 us late on the virtual board, whose sleeps overshoot). */
#define POLL_PROGRAM_US 0u
#define POLL_ERASE_US   1000u /* a 64 KiB erase takes ~150 ms typical */
#define MAX_FLASH_3BYTE (16u * 1024u * 1024u)

static const qtd_board_t *g_board;
static uint32_t g_jedec;
static bool g_id_ok;        /* the JEDEC id read at init is the board file's */
static bool g_identifying;  /* qtd_flash_init is reading it */
static uint8_t g_page[256]; /* read-back scratch, one page (board page size <= this) */
static uint8_t g_erase_opcode;
/* An erase was started and its end not seen yet. FLASH_ERASE answers as soon as the part has
 * accepted the erase (it runs on its own for ~130 ms), so the link keeps receiving meanwhile; the
 * next operation waits for it (the part takes nothing but READ STATUS while busy), and the FPGA
 * stays off the shared bus until then. */
static bool g_erasing;

static void set_addr(uint8_t cmd[4], uint8_t opcode, uint32_t addr) {
    cmd[0] = opcode;
    cmd[1] = (uint8_t)(addr >> 16);
    cmd[2] = (uint8_t)(addr >> 8);
    cmd[3] = (uint8_t)addr;
}

/* The bus must be held by the caller for all of these helpers. */
static uint8_t read_sr_held(void) {
    uint8_t cmd = QTD_NOR_READ_STATUS;
    uint8_t sr = 0;
    hal_flash_xfer(&cmd, 1, NULL, 0, &sr, 1);
    return sr;
}

static void simple_cmd_held(uint8_t opcode) {
    hal_flash_xfer(&opcode, 1, NULL, 0, NULL, 0);
}

static qtd_status_t wait_ready_held(uint32_t max_us, uint32_t poll_us) {
    uint64_t start = hal_time_us();
    for (;;) {
        /* the clock is read before the status: a poll delayed past max_us (an interrupt, or
         * the virtual board's thread descheduled) must not turn a finished program into a timeout */
        bool late = hal_time_us() - start > max_us;
        if ((read_sr_held() & QTD_NOR_SR_BUSY) == 0) {
            return QTD_ST_OK;
        }
        if (late) {
            return QTD_ST_FLASH_TIMEOUT;
        }
        if (poll_us != 0) {
            hal_delay_us(poll_us);
        }
    }
}

/* Hold the FPGA off the bus and let a running erase finish: every operation starts here. */
static qtd_status_t acquire(void) {
    if (!g_id_ok && !g_identifying) {
        return QTD_ST_FLASH_ID_MISMATCH;
    }
    hal_fpga_hold_bus(true);
    if (!g_erasing) {
        return QTD_ST_OK;
    }
    g_erasing = false;
    return wait_ready_held(g_board->sector_erase_max_us, POLL_ERASE_US);
}

/* Give the bus back, unless an erase is still running. */
static void release(void) {
    if (!g_erasing) {
        hal_fpga_hold_bus(false);
    }
}

static void read_held(uint32_t addr, uint8_t *buf, uint32_t len) {
    uint8_t cmd[4];
    set_addr(cmd, QTD_NOR_READ, addr);
    hal_flash_xfer(cmd, sizeof cmd, NULL, 0, buf, len);
}

/* Start of the block-protected top part of the array for the given status register. */
static uint32_t protected_from(uint8_t sr) {
    unsigned bp = (sr & QTD_NOR_SR_BP_MASK) >> QTD_NOR_SR_BP_SHIFT;
    if (bp == 0) {
        return g_board->flash_size;
    }
    if (bp >= 7) {
        return 0;
    }
    return g_board->flash_size - (g_board->flash_size >> (7u - bp));
}

static qtd_status_t check_writable_held(uint32_t addr, uint32_t len) {
    if (addr + len > protected_from(read_sr_held())) {
        return QTD_ST_FLASH_PROTECTED;
    }
    return QTD_ST_OK;
}

qtd_status_t qtd_flash_init(const qtd_board_t *board) {
    g_board = board;
    if (board->sector_size == 4096u) {
        g_erase_opcode = QTD_NOR_SECTOR_ERASE_4K;
    } else if (board->sector_size == 65536u) {
        g_erase_opcode = QTD_NOR_BLOCK_ERASE_64K;
    } else {
        return QTD_ST_INTERNAL; /* no standard erase opcode for this unit */
    }
    if (board->page_size > sizeof g_page || board->flash_size > MAX_FLASH_3BYTE ||
        board->sector_size % board->page_size != 0) {
        return QTD_ST_INTERNAL;
    }
    uint8_t cmd = QTD_NOR_READ_JEDEC;
    uint8_t id[3] = {0};
    g_erasing = true; /* a reset may have come in the middle of an erase: let it end first */
    g_identifying = true;
    qtd_status_t st = acquire();
    g_identifying = false;
    if (st == QTD_ST_OK) {
        hal_flash_xfer(&cmd, 1, NULL, 0, id, sizeof id);
    }
    release();
    if (st != QTD_ST_OK) {
        return st;
    }
    g_jedec = ((uint32_t)id[0] << 16) | ((uint32_t)id[1] << 8) | id[2];
    /* another chip than the board file's: its geometry and opcodes may differ, so refuse every
     * flash operation rather than erase or program with the wrong ones */
    g_id_ok = g_jedec == board->jedec_id;
    return g_id_ok ? QTD_ST_OK : QTD_ST_FLASH_ID_MISMATCH;
}

uint32_t qtd_flash_jedec_id(void) {
    return g_jedec;
}

qtd_status_t qtd_flash_check_range(uint32_t addr, uint32_t len) {
    if (addr > g_board->flash_size || len > g_board->flash_size - addr) {
        return QTD_ST_OUT_OF_RANGE;
    }
    return QTD_ST_OK;
}

qtd_status_t qtd_flash_read(uint32_t addr, uint8_t *buf, uint32_t len) {
    qtd_status_t st = qtd_flash_check_range(addr, len);
    if (st != QTD_ST_OK || len == 0) {
        return st;
    }
    st = acquire();
    if (st == QTD_ST_OK) {
        read_held(addr, buf, len);
    }
    release();
    return st;
}

/* Length of the piece starting at addr that stays inside one page. */
static uint32_t page_piece(uint32_t addr, uint32_t remaining) {
    uint32_t room = g_board->page_size - addr % g_board->page_size;
    return remaining < room ? remaining : room;
}

/* NOT_ERASED unless every byte can be programmed over what the array holds. */
static qtd_status_t check_held(uint32_t addr, const uint8_t *data, uint32_t len) {
    for (uint32_t done = 0; done < len;) {
        uint32_t n = page_piece(addr + done, len - done);
        read_held(addr + done, g_page, n);
        for (uint32_t i = 0; i < n; i++) {
            if ((uint8_t)(data[done + i] & ~g_page[i]) != 0) {
                return QTD_ST_NOT_ERASED;
            }
        }
        done += n;
    }
    return QTD_ST_OK;
}

static qtd_status_t program_held(uint32_t addr, const uint8_t *data, uint32_t len) {
    /* pass 1: nothing is written unless every byte can be */
    qtd_status_t checked = check_held(addr, data, len);
    if (checked != QTD_ST_OK) {
        return checked;
    }
    /* pass 2: program the pages that differ */
    for (uint32_t done = 0; done < len;) {
        uint32_t n = page_piece(addr + done, len - done);
        read_held(addr + done, g_page, n);
        if (memcmp(g_page, data + done, n) != 0) {
            uint8_t cmd[4];
            set_addr(cmd, QTD_NOR_PAGE_PROGRAM, addr + done);
            simple_cmd_held(QTD_NOR_WRITE_ENABLE);
            hal_flash_xfer(cmd, sizeof cmd, data + done, n, NULL, 0);
            qtd_status_t st = wait_ready_held(g_board->page_program_max_us, POLL_PROGRAM_US);
            if (st != QTD_ST_OK) {
                return st;
            }
        }
        done += n;
    }
    return QTD_ST_OK;
}

qtd_status_t qtd_flash_check_program(uint32_t addr, const uint8_t *data, uint32_t len) {
    qtd_status_t st = qtd_flash_check_range(addr, len);
    if (st != QTD_ST_OK || len == 0) {
        return st;
    }
    st = acquire();
    if (st == QTD_ST_OK) {
        st = check_writable_held(addr, len);
    }
    if (st == QTD_ST_OK) {
        st = check_held(addr, data, len);
    }
    release();
    return st;
}

qtd_status_t qtd_flash_program(uint32_t addr, const uint8_t *data, uint32_t len) {
    qtd_status_t st = qtd_flash_check_range(addr, len);
    if (st != QTD_ST_OK || len == 0) {
        return st;
    }
    st = acquire();
    if (st == QTD_ST_OK) {
        st = check_writable_held(addr, len);
    }
    if (st == QTD_ST_OK) {
        st = program_held(addr, data, len);
    }
    release();
    return st;
}

qtd_status_t qtd_flash_erase(uint32_t addr, uint32_t len) {
    qtd_status_t st = qtd_flash_check_range(addr, len);
    if (st != QTD_ST_OK) {
        return st;
    }
    if (addr % g_board->sector_size != 0 || len % g_board->sector_size != 0) {
        return QTD_ST_MISALIGNED;
    }
    st = acquire();
    if (st == QTD_ST_OK) {
        st = check_writable_held(addr, len);
    }
    for (uint32_t off = 0; st == QTD_ST_OK && off < len; off += g_board->sector_size) {
        if (off != 0) {
            st = wait_ready_held(g_board->sector_erase_max_us, POLL_ERASE_US);
            if (st != QTD_ST_OK) {
                break;
            }
        }
        uint8_t cmd[4];
        set_addr(cmd, g_erase_opcode, addr + off);
        simple_cmd_held(QTD_NOR_WRITE_ENABLE);
        hal_flash_xfer(cmd, sizeof cmd, NULL, 0, NULL, 0);
        g_erasing = true; /* the last one runs on after this returns */
    }
    if (st != QTD_ST_OK) {
        g_erasing = false;
    }
    release();
    return st;
}

qtd_status_t qtd_flash_read_status(uint8_t *sr) {
    qtd_status_t st = acquire();
    *sr = read_sr_held();
    release();
    return st;
}

qtd_status_t qtd_flash_idle(void) {
    qtd_status_t st = acquire();
    release();
    return st;
}

qtd_status_t qtd_flash_write_status(uint8_t sr) {
    uint8_t cmd = QTD_NOR_WRITE_STATUS;
    qtd_status_t st = acquire();
    if (st == QTD_ST_OK) {
        simple_cmd_held(QTD_NOR_WRITE_ENABLE);
        hal_flash_xfer(&cmd, 1, &sr, 1, NULL, 0);
        st = wait_ready_held(g_board->page_program_max_us * 10u, POLL_PROGRAM_US);
    }
    release();
    return st;
}
