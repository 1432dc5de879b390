/* Consistent Overhead Byte Stuffing: the link's framing layer (protocol/link.md). An encoded
 * frame holds no 0x00 byte, so 0x00 delimits frames and a receiver resynchronises at the next
 * delimiter after any garbage. */
#ifndef QTD_COBS_H
#define QTD_COBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Worst-case encoded size of n bytes (no delimiter). */
#define QTD_COBS_MAX_ENCODED(n) ((n) + (n) / 254u + 1u)

/* Encode len bytes into out (cap bytes); returns the encoded length, 0 if out is too small. */
size_t qtd_cobs_encode(const uint8_t *in, size_t len, uint8_t *out, size_t cap);

/* Decode len encoded bytes (no delimiter) into out; in == out is allowed (decoding never grows).
 * Returns false on a zero byte inside the data, a code byte that points past the end, or too
 * little room. */
bool qtd_cobs_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap, size_t *out_len);

/* Streaming encoder: writes one frame's encoding in blocks through sink, so the sender needs no
 * second buffer of encoded bytes. The delimiter is not written. */
typedef void (*qtd_cobs_sink_t)(const uint8_t *buf, size_t len);
void qtd_cobs_encode_to(const uint8_t *in, size_t len, qtd_cobs_sink_t sink);

#endif /* QTD_COBS_H */
