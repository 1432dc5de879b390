/* SPI NOR driver over hal_flash_xfer: JEDEC ID, read, page program, sector erase, status.
 *
 * Every operation holds the FPGA off the shared bus for its whole duration (busy polling
 * included) and releases it afterwards. Addresses are plain byte addresses in the flash: one
 * meaning, checked against the geometry (sector alignment for erase, page splitting for writes). */
#ifndef QTD_FLASH_H
#define QTD_FLASH_H

#include <stdint.h>

#include "qtd/board.h"
#include "qtd/sha256.h"
#include "qtd/status.h"

/* Standard SPI NOR opcodes (JEDEC JESD216-era parts: Winbond W25Q, Macronix MX25L, ...). */
enum {
    QTD_NOR_WRITE_STATUS = 0x01,
    QTD_NOR_PAGE_PROGRAM = 0x02,
    QTD_NOR_READ = 0x03,
    QTD_NOR_WRITE_DISABLE = 0x04,
    QTD_NOR_READ_STATUS = 0x05,
    QTD_NOR_WRITE_ENABLE = 0x06,
    QTD_NOR_READ_JEDEC = 0x9F,
    QTD_NOR_SECTOR_ERASE_4K = 0x20,
    QTD_NOR_BLOCK_ERASE_64K = 0xD8,
};

/* Status register 1 bits. */
enum {
    QTD_NOR_SR_BUSY = 0x01,
    QTD_NOR_SR_WEL = 0x02,
    QTD_NOR_SR_BP_MASK = 0x1C, /* BP2..BP0: protect the top 1/64 .. all of the array */
    QTD_NOR_SR_BP_SHIFT = 2,
};

/* Remember the geometry; read the JEDEC ID (BAD_IMAGE-free: INTERNAL if the part differs). */
qtd_status_t qtd_flash_init(const qtd_board_t *board);
uint32_t qtd_flash_jedec_id(void);

qtd_status_t qtd_flash_read(uint32_t addr, uint8_t *buf, uint32_t len);
/* Program len bytes at addr, split at page boundaries. A byte that would need a 0 bit turned
 * back into 1 gives NOT_ERASED before anything is written; bytes already equal are skipped, so
 * repeating a write (a link retry) is harmless. */
qtd_status_t qtd_flash_program(uint32_t addr, const uint8_t *data, uint32_t len);
/* qtd_flash_program's first pass alone: NOT_ERASED (or FLASH_PROTECTED) if it would refuse,
 * nothing programmed. Lets a caller check data it produces in pieces before writing any. */
qtd_status_t qtd_flash_check_program(uint32_t addr, const uint8_t *data, uint32_t len);
/* Erase the sectors covering [addr, addr + len); both must be sector-aligned. Returns once the
 * last sector's erase has started: every later operation (and qtd_flash_idle) waits for it to
 * end, and reports FLASH_TIMEOUT if it outlasts the datasheet maximum. */
qtd_status_t qtd_flash_erase(uint32_t addr, uint32_t len);
/* Wait for a running erase and give the shared bus back to the FPGA (before configuring it). */
qtd_status_t qtd_flash_idle(void);
qtd_status_t qtd_flash_read_status(uint8_t *sr);
qtd_status_t qtd_flash_write_status(uint8_t sr);
/* Check a range against the flash bounds (no overflow). */
qtd_status_t qtd_flash_check_range(uint32_t addr, uint32_t len);
/* SHA-256 of a flash range, read in page-sized pieces (FLASH_HASH, the commit check). */
qtd_status_t qtd_flash_sha256(uint32_t addr, uint32_t len, uint8_t out[QTD_SHA256_SIZE]);

#endif /* QTD_FLASH_H */
