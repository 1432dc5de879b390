/* Command-level SPI NOR model (see nor_model.h for the rules it enforces). */
#include "nor_model.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hal.h"
#include "qtd/flash.h"

static void violation(nor_model_t *m, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->last_violation, sizeof m->last_violation, fmt, ap);
    va_end(ap);
    m->violations++;
    if (m->on_violation) {
        m->on_violation(m, m->last_violation);
    }
}

void nor_model_init(nor_model_t *m, uint8_t *mem, uint32_t size, uint32_t page_size, uint32_t jedec_id) {
    memset(m, 0, sizeof *m);
    m->mem = mem;
    m->size = size;
    m->page_size = page_size;
    m->jedec_id = jedec_id;
    /* W25Q128JV typicals: page program 0.4 ms, 4 KiB erase 45 ms, 64 KiB erase 150 ms,
     * status write 10 ms */
    m->page_program_us = 400;
    m->erase_4k_us = 45000;
    m->erase_64k_us = 150000;
    m->write_status_us = 10000;
}

bool nor_model_busy(const nor_model_t *m) {
    return hal_time_us() < m->busy_until_us;
}

static uint32_t protected_from(const nor_model_t *m) {
    unsigned bp = (m->sr & QTD_NOR_SR_BP_MASK) >> QTD_NOR_SR_BP_SHIFT;
    if (bp == 0) {
        return m->size;
    }
    return bp >= 7 ? 0 : m->size - (m->size >> (7u - bp));
}

static uint32_t addr24(const uint8_t *cmd) {
    return ((uint32_t)cmd[1] << 16) | ((uint32_t)cmd[2] << 8) | cmd[3];
}

/* Count a program/erase and cut the power half-way through the chosen one. Returns how many of
 * n units to apply (all of them unless this is the cut). */
static size_t start_write_op(nor_model_t *m, size_t n) {
    m->write_ops++;
    if (m->die_after != 0 && m->write_ops == m->die_after) {
        return n / 2;
    }
    return n;
}

static void finish_write_op(nor_model_t *m, size_t applied, size_t n, uint32_t busy_us) {
    m->wel = false;
    m->busy_until_us = hal_time_us() + busy_us;
    if (applied != n && m->on_power_cut) {
        m->on_power_cut(m);
    }
}

static void page_program(nor_model_t *m, uint32_t addr, const uint8_t *data, size_t len) {
    if (addr >= m->size) {
        violation(m, "page program at 0x%08x beyond the %u-byte array", addr, m->size);
        return;
    }
    if (addr >= protected_from(m)) {
        violation(m, "page program at 0x%08x into block-protected space", addr);
        m->wel = false;
        return;
    }
    if (len > m->page_size) {
        violation(m, "page program of %zu bytes: more than one page (the part keeps the last %u)", len,
                  m->page_size);
    }
    uint32_t base = addr - addr % m->page_size;
    if (m->on_write) {
        bool wraps = addr - base + len > m->page_size; /* then any byte of the page may change */
        m->on_write(m, wraps ? base : addr, wraps ? m->page_size : (uint32_t)len);
    }
    size_t apply = start_write_op(m, len);
    for (size_t i = 0; i < len; i++) {
        /* a real part wraps inside the page: that is what a driver bug would do to the data */
        uint32_t at = base + (uint32_t)((addr - base + i) % m->page_size);
        if ((uint8_t)(data[i] & ~m->mem[at]) != 0) {
            violation(m, "page program sets a 0 bit back to 1 at 0x%08x (0x%02x over 0x%02x)", at, data[i],
                      m->mem[at]);
        }
        if (i < apply) {
            m->mem[at] &= data[i];
        }
    }
    finish_write_op(m, apply, len, m->page_program_us);
}

static void erase(nor_model_t *m, uint32_t addr, uint32_t unit, uint32_t busy_us) {
    if (addr >= m->size || unit > m->size) {
        violation(m, "erase at 0x%08x beyond the array", addr);
        return;
    }
    uint32_t base = addr - addr % unit; /* the part ignores the low address bits */
    if (base + unit > protected_from(m)) {
        violation(m, "erase at 0x%08x in block-protected space", addr);
        m->wel = false;
        return;
    }
    if (m->on_write) {
        m->on_write(m, base, unit);
    }
    size_t apply = start_write_op(m, unit);
    memset(m->mem + base, 0xFF, apply);
    finish_write_op(m, apply, unit, busy_us);
}

void nor_model_xfer(nor_model_t *m, const uint8_t *cmd, size_t cmd_len, const uint8_t *out, size_t out_len,
                    uint8_t *in, size_t in_len) {
    if (m->bus_granted && !m->bus_granted()) {
        violation(m, "MCU flash access (opcode 0x%02x) while the FPGA is not held off the shared bus",
                  cmd_len ? cmd[0] : 0);
        return;
    }
    if (cmd_len == 0) {
        return;
    }
    uint8_t op = cmd[0];
    bool busy = nor_model_busy(m);
    if (op == QTD_NOR_READ_STATUS) {
        uint8_t sr = (uint8_t)(m->sr & QTD_NOR_SR_BP_MASK);
        sr |= (uint8_t)((busy ? QTD_NOR_SR_BUSY : 0) | (m->wel ? QTD_NOR_SR_WEL : 0));
        memset(in, sr, in_len); /* the part repeats SR while clocked */
        return;
    }
    if (busy) {
        violation(m, "opcode 0x%02x while the flash is busy (poll READ STATUS first)", op);
        return;
    }
    bool is_erase = op == QTD_NOR_SECTOR_ERASE_4K || op == QTD_NOR_BLOCK_ERASE_64K;
    bool needs_addr = op == QTD_NOR_READ || op == QTD_NOR_PAGE_PROGRAM || is_erase;
    if (needs_addr && cmd_len != 4) {
        violation(m, "opcode 0x%02x with %zu address bytes (expected 3)", op, cmd_len - 1);
        return;
    }
    bool needs_wel = op == QTD_NOR_PAGE_PROGRAM || is_erase || op == QTD_NOR_WRITE_STATUS;
    if (needs_wel && !m->wel) {
        violation(m, "opcode 0x%02x without WRITE ENABLE (the part ignores it)", op);
        return;
    }
    switch (op) {
        case QTD_NOR_READ_JEDEC:
            for (size_t i = 0; i < in_len; i++) {
                in[i] = i < 3 ? (uint8_t)(m->jedec_id >> (16 - 8 * i)) : 0;
            }
            break;
        case QTD_NOR_READ: {
            /* reads wrap at the end of the array: in pieces up to the end, then from 0 */
            size_t a = addr24(cmd) % m->size;
            for (size_t done = 0; done < in_len;) {
                size_t n = in_len - done < m->size - a ? in_len - done : m->size - a;
                memcpy(in + done, m->mem + a, n);
                done += n;
                a = 0;
            }
            break;
        }
        case QTD_NOR_WRITE_ENABLE: m->wel = true; break;
        case QTD_NOR_WRITE_DISABLE: m->wel = false; break;
        case QTD_NOR_PAGE_PROGRAM: page_program(m, addr24(cmd), out, out_len); break;
        case QTD_NOR_SECTOR_ERASE_4K: erase(m, addr24(cmd), 4096u, m->erase_4k_us); break;
        case QTD_NOR_BLOCK_ERASE_64K: erase(m, addr24(cmd), 65536u, m->erase_64k_us); break;
        case QTD_NOR_WRITE_STATUS: {
            if (m->on_write) {
                m->on_write(m, 0, 0);
            }
            size_t apply = start_write_op(m, 1);
            if (out_len >= 1 && apply == 1) {
                m->sr = (uint8_t)(out[0] & QTD_NOR_SR_BP_MASK);
            }
            finish_write_op(m, apply, 1, m->write_status_us);
            break;
        }
        default: violation(m, "unknown opcode 0x%02x", op); break;
    }
}
