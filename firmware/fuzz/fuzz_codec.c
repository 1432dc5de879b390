/* libFuzzer harness for the FLASH_WRITE heatshrink decoder (core/flash_codec.c over the vendored
 * third_party/heatshrink): arbitrary bytes as a compressed payload. Checks what the firmware's
 * two-pass write relies on: pieces arrive in order, contiguous, page-aligned after the first,
 * never past max_out, and a second decode of the same bytes yields the same output (pass 1
 * checks what pass 2 programs). A crash, an ASan report or UBSan is a bug.
 *
 *   make fuzz && build/fuzz/fuzz_codec -max_total_time=600
 * Input: byte 0 = page offset of the write (base), byte 1..2 = max_out (le16, +1), rest = stream.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qtd/flash_codec.h"

#define PAGE    256u
#define CAP     1024u
#define MAX_OUT 65536u

static uint8_t g_scratch[CAP];
static uint8_t g_out[2][MAX_OUT];

typedef struct {
    uint8_t *out;
    uint32_t base, expect, max_out;
} sink_t;

static qtd_status_t sink(void *ctx, uint32_t at, const uint8_t *piece, uint32_t n) {
    sink_t *s = ctx;
    if (at != s->expect || n == 0 || n > CAP || at + n > s->max_out) {
        abort();
    }
    if (at != 0 && (s->base + at) % PAGE != 0) {
        abort(); /* a piece after the first must start on a page */
    }
    memcpy(s->out + at, piece, n);
    s->expect = at + n;
    return QTD_ST_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 3 || size > 8192) {
        return 0;
    }
    uint32_t base = data[0];
    uint32_t max_out = (uint32_t)data[1] | ((uint32_t)data[2] << 8);
    max_out += 1u;
    uint32_t got[2];
    qtd_status_t st[2];
    for (int pass = 0; pass < 2; pass++) {
        sink_t s = {g_out[pass], base, 0, max_out};
        st[pass] = qtd_codec_heatshrink_decode(data + 3, (uint32_t)(size - 3), max_out, g_scratch, CAP, base,
                                               PAGE, sink, &s, &got[pass]);
        if (st[pass] == QTD_ST_OK && (got[pass] != s.expect || got[pass] > max_out)) {
            abort();
        }
        if (st[pass] != QTD_ST_OK && st[pass] != QTD_ST_BAD_ARGUMENT) {
            abort();
        }
    }
    if (st[0] != st[1] || got[0] != got[1] || memcmp(g_out[0], g_out[1], got[0]) != 0) {
        abort(); /* decoding is not deterministic */
    }
    return 0;
}
