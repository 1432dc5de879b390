/* SHA-256 over a flash range. Each piece is its own flash operation, so the FPGA bus hold is
 * short and the read buffer stays at 256 bytes. */
#include "qtd/flash.h"

qtd_status_t qtd_flash_sha256(uint32_t addr, uint32_t len, uint8_t out[QTD_SHA256_SIZE]) {
    static uint8_t piece[256];
    qtd_sha256_t s;
    qtd_status_t st = qtd_flash_check_range(addr, len);
    if (st != QTD_ST_OK) {
        return st;
    }
    qtd_sha256_init(&s);
    for (uint32_t done = 0; done < len;) {
        uint32_t n = len - done < sizeof piece ? len - done : (uint32_t)sizeof piece;
        st = qtd_flash_read(addr + done, piece, n);
        if (st != QTD_ST_OK) {
            return st;
        }
        qtd_sha256_update(&s, piece, n);
        done += n;
    }
    qtd_sha256_final(&s, out);
    return QTD_ST_OK;
}
