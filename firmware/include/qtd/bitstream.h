/* Reads the two facts the board needs out of a Xilinx 7-series bitstream stored in flash:
 * the IDCODE it was built for (type-1 write to register 0x0C) and its USR_ACCESS value
 * (register 0x0D, AXSS), which carries the accelerator ABI (protocol/bitstream.md). */
#ifndef QTD_BITSTREAM_H
#define QTD_BITSTREAM_H

#include <stdint.h>

#include "qtd/status.h"

#define QTD_BIT_SYNC_WORD   0xAA995566u
#define QTD_BIT_REG_IDCODE  0x0Cu
#define QTD_BIT_REG_AXSS    0x0Du
#define QTD_BIT_SYNC_SEARCH 4096u /* a .bit header is ~100 bytes; .bin has none */

typedef struct {
    uint32_t idcode;
    uint32_t usr_access;
    uint8_t have_idcode;
    uint8_t have_usr_access;
} qtd_bitstream_facts_t;

/* Scan the image of size bytes at flash address addr. BAD_IMAGE when there is no sync word or
 * no IDCODE packet; USR_ACCESS is optional (have_usr_access says). */
qtd_status_t qtd_bitstream_scan(uint32_t addr, uint32_t size, qtd_bitstream_facts_t *out);

#endif /* QTD_BITSTREAM_H */
