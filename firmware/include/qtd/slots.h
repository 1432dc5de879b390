/* A/B image slots and their metadata record (format and commit protocol: protocol/slots.md).
 *
 * Each slot holds a bitstream and a model blob. The record says which slots hold a committed
 * (hash-verified) image and which one is active. It is kept twice, one copy per sector of the
 * board's metadata region; a change writes the next sequence number into the copy that is not
 * the newest, so a power cut at any instant leaves the newest complete record -- and with it the
 * active image -- intact. */
#ifndef QTD_SLOTS_H
#define QTD_SLOTS_H

#include <stdbool.h>
#include <stdint.h>

#include "qtd/board.h"
#include "qtd/sha256.h"
#include "qtd/status.h"

#define QTD_SLOTS_MAGIC         0x53445451u /* "QTDS" as little-endian bytes */
#define QTD_SLOTS_FORMAT        1u
#define QTD_SLOTS_HEADER_SIZE   16u
#define QTD_SLOTS_ENTRY_SIZE    88u
#define QTD_SLOTS_BODY_SIZE     (QTD_SLOTS_HEADER_SIZE + QTD_SLOT_COUNT * QTD_SLOTS_ENTRY_SIZE)
#define QTD_SLOTS_RECORD_SIZE   (QTD_SLOTS_BODY_SIZE + 4u)
#define QTD_SLOTS_COMMIT_SELECT 0x01u /* SLOT_COMMIT flags bit 0 */

typedef struct {
    uint8_t state; /* QTD_SLOT_STATE_*: INVALID is only ever set in RAM (see load) */
    uint32_t seq;  /* record sequence number of the commit, 0 when empty */
    uint32_t bitstream_size;
    uint8_t bitstream_sha256[QTD_SHA256_SIZE];
    uint32_t blob_size;
    uint8_t blob_sha256[QTD_SHA256_SIZE];
    uint32_t idcode;     /* read from the bitstream at commit, 0 if none */
    uint32_t usr_access; /* the bitstream's USR_ACCESS (its accelerator ABI), 0 if none */
} qtd_slot_entry_t;

typedef struct {
    bool valid;   /* false: no record yet (fresh flash) */
    uint8_t copy; /* which metadata copy holds it */
    uint32_t seq;
    uint8_t active; /* QTD_SLOT_A, QTD_SLOT_B or QTD_LINK_NO_SLOT */
    qtd_slot_entry_t slot[QTD_SLOT_COUNT];
} qtd_slot_table_t;

/* Read both copies, keep the newest valid one, and re-hash every committed slot: one whose
 * image no longer matches is INVALID (in RAM; the record is not rewritten). */
qtd_status_t qtd_slots_load(const qtd_board_t *board);
const qtd_slot_table_t *qtd_slots_table(void);
/* The slot to boot: the active one if committed, else the other committed one, else
 * QTD_LINK_NO_SLOT. */
uint8_t qtd_slots_boot_slot(void);

/* Verify the images in the slot's regions against the given sizes and hashes (VERIFY_FAILED,
 * table unchanged), check the bitstream's IDCODE (FPGA_IDCODE), then write a record with the
 * slot committed (and active with QTD_SLOTS_COMMIT_SELECT). The active slot is refused. */
qtd_status_t qtd_slots_commit(uint8_t slot, uint8_t flags, uint32_t bitstream_size,
                              const uint8_t bitstream_sha256[QTD_SHA256_SIZE], uint32_t blob_size,
                              const uint8_t blob_sha256[QTD_SHA256_SIZE]);
/* Make a committed slot the active one. */
qtd_status_t qtd_slots_select(uint8_t slot);

/* Gate for raw flash writes and erases from the link: the metadata region is never writable
 * (OUT_OF_RANGE), the active slot's regions are not (BAD_SLOT); a committed inactive slot that
 * is touched becomes INVALID, so SLOT_INFO never vouches for a changed image. */
qtd_status_t qtd_slots_prepare_write(uint32_t addr, uint32_t len);

/* Encode / decode a record (exposed for the unit tests). */
void qtd_slots_encode(const qtd_slot_table_t *t, uint8_t out[QTD_SLOTS_RECORD_SIZE]);

/* The first 80 bytes of a metadata entry, which are also SLOT_INFO's per-slot record
 * (protocol/slots.md, protocol/link.md): state, seq, lengths and hashes. */
#define QTD_SLOTS_INFO_RECORD_SIZE 80u
void qtd_slots_put_info_record(const qtd_slot_entry_t *e, uint8_t out[QTD_SLOTS_INFO_RECORD_SIZE]);
bool qtd_slots_decode(const uint8_t in[QTD_SLOTS_RECORD_SIZE], qtd_slot_table_t *t);

#endif /* QTD_SLOTS_H */
