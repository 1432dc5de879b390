/* Link frames: header, payload, CRC (protocol/link.md), and the streaming receiver.
 *
 *   offset size field
 *   0      1    version   (QTD_LINK_PROTOCOL_VERSION)
 *   1      1    flags     (QTD_FLAG_*)
 *   2      2    seq       LE
 *   4      1    command   (QTD_CMD_*)
 *   5      1    status    (QTD_ST_*; 0 in requests)
 *   6      2    length    LE, payload bytes
 *   8      n    payload
 *   8+n    4    CRC-32 (zlib) LE over header + payload
 * The whole is COBS-encoded and followed by one 0x00 delimiter. */
#ifndef QTD_FRAME_H
#define QTD_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qtd/cobs.h"
#include "qtd/protocol.h"

#define QTD_FRAME_MAX_RAW     (QTD_LINK_HEADER_SIZE + QTD_LINK_MAX_PAYLOAD + QTD_LINK_CRC_SIZE)
#define QTD_FRAME_MAX_ENCODED QTD_LINK_MAX_ENCODED
_Static_assert(QTD_LINK_MAX_ENCODED >= QTD_COBS_MAX_ENCODED(QTD_FRAME_MAX_RAW), "COBS bound");

typedef struct {
    uint8_t version;
    uint8_t flags;
    uint16_t seq;
    uint8_t command;
    uint8_t status;
    uint16_t length;
    const uint8_t *payload; /* points into the buffer the frame was parsed from */
} qtd_frame_t;

/* Why a run was rejected, in the order link.md section 4 checks them; qtd_frame_err_name gives
 * the stable names the vectors in protocol/vectors/link use. */
typedef enum {
    QTD_FRAME_OK = 0,
    QTD_FRAME_ERR_COBS,     /* not valid COBS */
    QTD_FRAME_ERR_SHORT,    /* fewer bytes than header + CRC */
    QTD_FRAME_ERR_TOO_LONG, /* more than the largest frame (max payload) */
    QTD_FRAME_ERR_LENGTH,   /* header length disagrees with the bytes received */
    QTD_FRAME_ERR_CRC,      /* CRC mismatch */
    QTD_FRAME_ERR_VERSION,  /* unknown protocol version (CRC was good) */
} qtd_frame_err_t;

const char *qtd_frame_err_name(qtd_frame_err_t err);

/* Parse a decoded (un-stuffed) frame of len bytes. On QTD_FRAME_ERR_VERSION and
 * QTD_FRAME_ERR_LENGTH the CRC was good, so the header fields of out are trusted and the
 * receiver answers (BAD_VERSION, BAD_FRAME) with the request's seq. */
qtd_frame_err_t qtd_frame_parse(const uint8_t *raw, size_t len, qtd_frame_t *out);

/* On QTD_FRAME_ERR_CRC the header fields are filled in but not trusted; out->version is the
 * protocol version only if the header is plausible (a request whose length field is within
 * QTD_FRAME_NAK_SLACK bytes of the run), else 0. The board answers a plausible one with
 * status DAMAGED (link.md section 4), which the host may match to a request it sent. */
#define QTD_FRAME_NAK_SLACK 8u

/* Decode one COBS-encoded frame (no delimiter) in place and parse it. */
qtd_frame_err_t qtd_frame_decode(uint8_t *buf, size_t len, qtd_frame_t *out);

/* Serialise header + payload + CRC into out (raw, before COBS). Returns the length, 0 if the
 * payload exceeds the maximum or out is too small. */
size_t qtd_frame_build(const qtd_frame_t *f, uint8_t *out, size_t cap);

/* Streaming receiver: feed it bytes as they arrive; it collects one encoded frame up to the
 * delimiter. Garbage and over-long runs are discarded up to the next delimiter (resync). */
typedef struct {
    uint8_t buf[QTD_FRAME_MAX_ENCODED];
    size_t len;
    bool overflow; /* discarding until the next delimiter */
} qtd_rx_t;

typedef enum {
    QTD_RX_NONE = 0, /* no complete frame yet */
    QTD_RX_FRAME,    /* out holds a good frame (valid until the next feed) */
    QTD_RX_ERROR,    /* a delimited run was not a good frame; *err says why */
} qtd_rx_event_t;

void qtd_rx_reset(qtd_rx_t *rx);
qtd_rx_event_t qtd_rx_feed(qtd_rx_t *rx, uint8_t byte, qtd_frame_t *out, qtd_frame_err_t *err);

#endif /* QTD_FRAME_H */
