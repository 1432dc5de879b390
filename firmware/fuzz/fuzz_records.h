/* The command fuzzer's input format: a sequence of records, each one request.
 *
 *   offset size field
 *   0      1    command   sent as is (unknown codes included)
 *   1      1    ctl       bits 0-3: the frame's flags as sent (RESPONSE, COMPRESSED, EVENT,
 *                         RETRY; RETRY also re-uses the previous request's seq);
 *                         REC_SAME_SEQ: re-use the previous seq without RETRY;
 *                         REC_IDLE: 50 ms of board time pass before the request (1.2 s
 *                         when the wire byte is WIRE_LONG_IDLE alone: past the 1 s after which
 *                         the board drops a SET_BAUD rate that no good frame confirmed);
 *                         REC_FIXUP: the harness makes the fields a fuzzer cannot guess right
 *                         (SLOT_COMMIT hashes of the flash, INFER/STREAM_DATA counts, the next
 *                         window number, FLASH_WRITE raw_length) agree with the rest
 *                         (a SLOT_COMMIT whose reserved byte 2 is odd gets the hash byte its bits
 *                         1-6 pick spoiled: nearly right hashes the board must refuse);
 *                         REC_BURST: sent back to back with the next record, as a host
 *                         pipelines its window (up to FB_MAX_BURST), answers checked in order
 *   2      2    length    LE, payload bytes (clipped to what is left and to 4096)
 *   4      1    wire      how the frame goes on the wire: 0 = as built; WIRE_VERSION: another
 *                         protocol version (2 + bits 4-7); WIRE_LENGTH: the header's length off by
 *                         1 + bits 4-6 (both with a good CRC: the board must answer BAD_VERSION /
 *                         BAD_FRAME); WIRE_JUNK: a delimited run of junk before it; WIRE_STATUS:
 *                         a non-zero status byte in the request
 *   5      n    payload
 * Shared by the harness (fuzz_cmd.c), the mutator (fuzz_mutator.c) and the seed writer
 * (make_seeds.py). */
#ifndef QTD_FUZZ_RECORDS_H
#define QTD_FUZZ_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "qtd/protocol.h"

#define REC_HEADER   5u
#define REC_WIRE     0x0Fu
#define REC_SAME_SEQ 0x10u
#define REC_IDLE     0x20u
#define REC_FIXUP    0x40u
#define REC_BURST    0x80u
#define REC_MAX_LEN  QTD_LINK_MAX_PAYLOAD

#define WIRE_VERSION   0x01u
#define WIRE_LENGTH    0x02u
#define WIRE_JUNK      0x04u
#define WIRE_STATUS    0x08u
#define WIRE_LONG_IDLE 0x10u /* with REC_IDLE and no other wire bit: see above */

typedef struct {
    uint8_t command, ctl, wire;
    uint16_t length;
    const uint8_t *payload;
    size_t next; /* offset of the following record */
} rec_t;

/* Parse the record at data[at]; 0 when no whole header is left. */
static inline int rec_parse(const uint8_t *data, size_t size, size_t at, rec_t *r) {
    if (at + REC_HEADER > size) {
        return 0;
    }
    size_t len = (size_t)data[at + 2] | ((size_t)data[at + 3] << 8);
    size_t left = size - at - REC_HEADER;
    len = len > left ? left : len;
    len = len > REC_MAX_LEN ? REC_MAX_LEN : len;
    r->command = data[at];
    r->ctl = data[at + 1];
    r->wire = data[at + 4];
    r->length = (uint16_t)len;
    r->payload = data + at + REC_HEADER;
    r->next = at + REC_HEADER + len;
    return 1;
}

#endif /* QTD_FUZZ_RECORDS_H */
