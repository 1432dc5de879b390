/* Heatshrink decoder driver (core/flash_codec.c): each stdin line "<base> <max_out> <hex stream>"
 * -> "<status> <decoded length> <decoded hex>", decoded through a 512-byte scratch in 256-byte
 * pages as FLASH_WRITE does. The pytest side (tests/firmware/test_codec.py) feeds golden vectors
 * encoded by the host (heatshrink2) and compares. A piece out of order, empty, past max_out or
 * not page-aligned after the first prints "BADPIECE" instead. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qtd/flash_codec.h"

#define PAGE 256u

typedef struct {
    uint8_t *out;
    uint32_t base, expect, max_out;
    int bad;
} sink_t;

static qtd_status_t sink(void *ctx, uint32_t at, const uint8_t *piece, uint32_t n) {
    sink_t *s = ctx;
    if (at != s->expect || n == 0 || at + n > s->max_out || (at != 0 && (s->base + at) % PAGE != 0)) {
        s->bad = 1;
        return QTD_ST_INTERNAL;
    }
    memcpy(s->out + at, piece, n);
    s->expect = at + n;
    return QTD_ST_OK;
}

int main(void) {
    static char line[1 << 18];
    static uint8_t in[1 << 17];
    static uint8_t out[1 << 17];
    static uint8_t scratch[2 * PAGE];
    while (fgets(line, sizeof line, stdin)) {
        char *p = line;
        unsigned long base = strtoul(p, &p, 10);
        unsigned long max_out = strtoul(p, &p, 10);
        while (*p == ' ') {
            p++;
        }
        size_t n = 0;
        for (; p[0] && p[1] && p[0] != '\n' && n < sizeof in; p += 2) {
            char b[3] = {p[0], p[1], 0};
            in[n++] = (uint8_t)strtoul(b, NULL, 16);
        }
        if (max_out > sizeof out) {
            max_out = sizeof out;
        }
        sink_t s = {out, (uint32_t)base, 0, (uint32_t)max_out, 0};
        uint32_t got = 0;
        qtd_status_t st = qtd_codec_heatshrink_decode(in, (uint32_t)n, (uint32_t)max_out, scratch, sizeof scratch,
                                                      (uint32_t)base, PAGE, sink, &s, &got);
        if (s.bad) {
            printf("BADPIECE\n");
        } else {
            printf("%u %u ", (unsigned)st, (unsigned)got);
            for (uint32_t i = 0; i < got; i++) {
                printf("%02x", out[i]);
            }
            printf("\n");
        }
        fflush(stdout);
    }
    return 0;
}
