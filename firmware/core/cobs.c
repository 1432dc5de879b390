/* COBS encode/decode (Cheshire & Baker). Each block is a code byte n (1..255) followed by n-1
 * non-zero bytes; a block shorter than 255 implies a zero after it, except at the very end. */
#include "qtd/cobs.h"

size_t qtd_cobs_encode(const uint8_t *in, size_t len, uint8_t *out, size_t cap) {
    size_t o = 1;       /* next output byte */
    size_t code_at = 0; /* where the current block's code byte goes */
    uint8_t code = 1;
    if (cap == 0) {
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        if (in[i] == 0) {
            out[code_at] = code;
            code_at = o++;
            code = 1;
        } else {
            if (o >= cap) {
                return 0;
            }
            out[o++] = in[i];
            code++;
            if (code == 0xFF && i + 1 < len) {
                /* a full block of 254 data bytes: close it without an implied zero */
                out[code_at] = code;
                code_at = o++;
                code = 1;
            }
        }
        if (o > cap) {
            return 0;
        }
    }
    out[code_at] = code;
    return o;
}

bool qtd_cobs_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap, size_t *out_len) {
    size_t i = 0;
    size_t o = 0;
    while (i < len) {
        uint8_t code = in[i++];
        if (code == 0) {
            return false;
        }
        if ((size_t)(code - 1) > len - i) {
            return false; /* block runs past the end */
        }
        for (uint8_t k = 1; k < code; k++) {
            if (in[i] == 0 || o >= cap) {
                return false;
            }
            out[o++] = in[i++]; /* o <= i always, so in-place decoding is safe */
        }
        if (code != 0xFF && i < len) {
            if (o >= cap) {
                return false;
            }
            out[o++] = 0;
        }
    }
    *out_len = o;
    return true;
}

void qtd_cobs_encode_to(const uint8_t *in, size_t len, qtd_cobs_sink_t sink) {
    size_t start = 0; /* first byte of the current block's data */
    for (;;) {
        size_t n = 0;
        while (start + n < len && n < 254u && in[start + n] != 0) {
            n++;
        }
        uint8_t code = (uint8_t)(n + 1);
        sink(&code, 1);
        if (n > 0) {
            sink(in + start, n);
        }
        start += n;
        if (start >= len) {
            return;
        }
        if (n == 254u) {
            continue; /* full block: no zero consumed */
        }
        start++; /* skip the zero this block implies */
        if (start == len) {
            /* the input ended in a zero: a final empty block encodes it */
            code = 1;
            sink(&code, 1);
            return;
        }
    }
}
