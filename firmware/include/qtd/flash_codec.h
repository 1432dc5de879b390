/* Decoding compressed FLASH_WRITE payloads (link.md 7.7). */
#ifndef QTD_FLASH_CODEC_H
#define QTD_FLASH_CODEC_H

#include <stdint.h>

#include "qtd/status.h"

/* Receives the decoded bytes piece by piece: `at` is the piece's offset in the decoded stream.
 * A status other than OK stops the decoding and is returned. */
typedef qtd_status_t (*qtd_codec_sink_t)(void *ctx, uint32_t at, const uint8_t *piece, uint32_t n);

/* Decode one self-contained heatshrink stream (window 2^8, lookahead 2^4: Codec HEATSHRINK) of
 * in_len bytes. Pieces go through `scratch` (cap bytes, a multiple of `align`), cut so that
 * base + at of every piece after the first is a multiple of `align` (pass the flash address and
 * the page size: each piece is then one page program). Returns OK with *out_len decoded bytes,
 * BAD_ARGUMENT when the stream would decode to more than max_out bytes, or the sink's status.
 * Uses one static decoder (300 bytes of RAM): not reentrant. */
qtd_status_t qtd_codec_heatshrink_decode(const uint8_t *in, uint32_t in_len, uint32_t max_out,
                                         uint8_t *scratch, uint32_t cap, uint32_t base, uint32_t align,
                                         qtd_codec_sink_t sink, void *ctx, uint32_t *out_len);

#endif
