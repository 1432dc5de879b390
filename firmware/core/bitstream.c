/* 7-series configuration packet walk (UG470 chapter 5): after the sync word come 32-bit
 * big-endian packet headers. Type 1: [31:29]=001, [28:27]=opcode (2 = write), [17:13]=register,
 * [10:0]=word count. Type 2: [31:29]=010, [26:0]=word count, for the register of the type-1
 * before it (the frame data, skipped without reading it). */
#include "qtd/bitstream.h"

#include "qtd/flash.h"

#define OP_WRITE 2u

static qtd_status_t word_at(uint32_t addr, uint32_t *w) {
    uint8_t b[4];
    qtd_status_t st = qtd_flash_read(addr, b, 4);
    *w = ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
    return st;
}

static qtd_status_t find_sync(uint32_t addr, uint32_t size, uint32_t *after) {
    uint8_t chunk[64];
    uint32_t window = 0;
    uint32_t limit = size < QTD_BIT_SYNC_SEARCH ? size : QTD_BIT_SYNC_SEARCH;
    for (uint32_t off = 0; off < limit; off += sizeof chunk) {
        uint32_t n = limit - off < sizeof chunk ? limit - off : (uint32_t)sizeof chunk;
        qtd_status_t st = qtd_flash_read(addr + off, chunk, n);
        if (st != QTD_ST_OK) {
            return st;
        }
        for (uint32_t i = 0; i < n; i++) {
            window = (window << 8) | chunk[i];
            if (window == QTD_BIT_SYNC_WORD) {
                *after = off + i + 1;
                return QTD_ST_OK;
            }
        }
    }
    return QTD_ST_BAD_IMAGE;
}

qtd_status_t qtd_bitstream_scan(uint32_t addr, uint32_t size, qtd_bitstream_facts_t *out) {
    out->idcode = 0;
    out->usr_access = 0;
    out->have_idcode = 0;
    out->have_usr_access = 0;
    uint32_t off = 0;
    qtd_status_t st = find_sync(addr, size, &off);
    while (st == QTD_ST_OK && off + 4 <= size && !(out->have_idcode && out->have_usr_access)) {
        uint32_t hdr;
        st = word_at(addr + off, &hdr);
        off += 4;
        uint32_t type = hdr >> 29;
        uint32_t count;
        if (type == 1u) {
            uint32_t reg = (hdr >> 13) & 0x1Fu;
            count = hdr & 0x7FFu;
            if (((hdr >> 27) & 3u) == OP_WRITE && count == 1 && off + 4 <= size &&
                (reg == QTD_BIT_REG_IDCODE || reg == QTD_BIT_REG_AXSS)) {
                uint32_t value;
                st = word_at(addr + off, &value);
                if (reg == QTD_BIT_REG_IDCODE) {
                    out->idcode = value;
                    out->have_idcode = 1;
                } else {
                    out->usr_access = value;
                    out->have_usr_access = 1;
                }
            }
        } else if (type == 2u) {
            count = hdr & 0x07FFFFFFu;
        } else {
            break; /* not a packet: the configuration data has ended (padding) */
        }
        if (count > (size - off) / 4u) {
            break;
        }
        off += count * 4u;
    }
    if (st != QTD_ST_OK) {
        return st;
    }
    return out->have_idcode ? QTD_ST_OK : QTD_ST_BAD_IMAGE;
}
