/* Bare-metal entry for bench/flash_codec_m0.py: one FLASH_WRITE frame's heatshrink decode as the
 * firmware runs it (core/flash_codec.c, pieces of up to 512 bytes cut on 256-byte pages), the
 * pieces copied into g_out instead of being checked/programmed. Built for the Cortex-M0+ like
 * `make arm` and run in the unicorn emulator; not part of the firmware. */
#include <string.h>

#include "qtd/flash_codec.h"

uint8_t g_out[16384];
static uint8_t g_scratch[512];

static qtd_status_t sink(void *ctx, uint32_t at, const uint8_t *piece, uint32_t n) {
    (void)ctx;
    memcpy(g_out + at, piece, n);
    return QTD_ST_OK;
}

/* Returns the decoded length, or 0x80000000 | status on failure. */
uint32_t bench_decode(const uint8_t *in, uint32_t len) {
    uint32_t got = 0;
    qtd_status_t st = qtd_codec_heatshrink_decode(in, len, sizeof g_out, g_scratch, sizeof g_scratch, 0, 256, sink,
                                                  NULL, &got);
    return st == QTD_ST_OK ? got : 0x80000000u | st;
}
