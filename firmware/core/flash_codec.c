/* Heatshrink (LZSS) decoding for compressed FLASH_WRITE payloads. Why heatshrink: it decodes in
 * a fixed 256-byte window plus a 32-byte input buffer with no allocation (the core has ~3 KiB of
 * static RAM to spare), at a few tens of cycles per byte on a Cortex-M0+, and a well-kept host
 * encoder exists (the heatshrink2 package). Why one self-contained stream per frame: a retried or
 * resumed write needs no state from an earlier frame, so it stays idempotent (link.md 5, 7.7). */
#include "qtd/flash_codec.h"

#include <stdint.h>

#include "heatshrink_decoder.h"

static heatshrink_decoder g_hsd;

typedef struct {
    uint8_t *scratch;
    uint32_t cap, base, align, max_out;
    uint32_t produced; /* bytes handed to the sink */
    uint32_t fill;     /* bytes decoded into scratch, not yet handed over */
    qtd_codec_sink_t sink;
    void *ctx;
} out_t;

/* How many bytes the piece now being filled may hold. */
static uint32_t piece_limit(const out_t *o) {
    return o->cap - (o->base + o->produced) % o->align;
}

static qtd_status_t flush(out_t *o) {
    if (o->fill == 0) {
        return QTD_ST_OK;
    }
    qtd_status_t st = o->sink(o->ctx, o->produced, o->scratch, o->fill);
    o->produced += o->fill;
    o->fill = 0;
    return st;
}

/* Poll everything the decoder has for now into pieces. */
static qtd_status_t drain(out_t *o, uint32_t *got) {
    *got = 0;
    for (;;) {
        uint32_t limit = piece_limit(o);
        if (o->fill == limit) {
            qtd_status_t st = flush(o);
            if (st != QTD_ST_OK) {
                return st;
            }
            limit = piece_limit(o);
        }
        size_t n = 0;
        HSD_poll_res pr = heatshrink_decoder_poll(&g_hsd, o->scratch + o->fill, limit - o->fill, &n);
        if (pr < 0) {
            return QTD_ST_BAD_ARGUMENT;
        }
        o->fill += (uint32_t)n;
        *got += (uint32_t)n;
        if ((uint64_t)o->produced + o->fill > o->max_out) {
            return QTD_ST_BAD_ARGUMENT; /* decodes to more than raw_length */
        }
        if (pr == HSDR_POLL_EMPTY) {
            return QTD_ST_OK;
        }
    }
}

qtd_status_t qtd_codec_heatshrink_decode(const uint8_t *in, uint32_t in_len, uint32_t max_out,
                                         uint8_t *scratch, uint32_t cap, uint32_t base, uint32_t align,
                                         qtd_codec_sink_t sink, void *ctx, uint32_t *out_len) {
    out_t o = {scratch, cap, base, align, max_out, 0, 0, sink, ctx};
    *out_len = 0;
    if (align == 0 || cap < align || cap % align != 0) {
        return QTD_ST_INTERNAL;
    }
    heatshrink_decoder_reset(&g_hsd);
    uint32_t sunk = 0;
    qtd_status_t st = QTD_ST_OK;
    while (st == QTD_ST_OK && sunk < in_len) {
        size_t n = 0;
        /* the decoder only reads its input; its API predates const */
        if (heatshrink_decoder_sink(&g_hsd, (uint8_t *)(uintptr_t)(in + sunk), in_len - sunk, &n) < 0) {
            return QTD_ST_BAD_ARGUMENT;
        }
        sunk += (uint32_t)n;
        uint32_t got = 0;
        st = drain(&o, &got);
    }
    /* The last byte's padding bits end the stream; a back-reference still being yielded needs
     * more polls. Each round yields bytes or ends, so this terminates (guarded anyway). */
    for (uint32_t rounds = 0; st == QTD_ST_OK && heatshrink_decoder_finish(&g_hsd) == HSDR_FINISH_MORE;
         rounds++) {
        uint32_t got = 0;
        st = drain(&o, &got);
        if (got == 0 || rounds > 64) {
            break;
        }
    }
    if (st == QTD_ST_OK) {
        st = flush(&o);
    }
    *out_len = o.produced;
    return st;
}
