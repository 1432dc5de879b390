/* libFuzzer harness for the link receiver: arbitrary bytes through the streaming parser, and
 * every frame it accepts re-built and re-encoded, which must round-trip exactly.
 *
 *   make fuzz && build/fuzz/fuzz_frame -max_total_time=3600 fuzz/corpus   (see firmware/README.md)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qtd/cobs.h"
#include "qtd/frame.h"

static qtd_rx_t g_rx;
static uint8_t g_raw[QTD_FRAME_MAX_RAW];
static uint8_t g_enc[QTD_FRAME_MAX_ENCODED + 1];
static uint8_t g_dec[QTD_FRAME_MAX_ENCODED + 1];

static void check_round_trip(const qtd_frame_t *f) {
    qtd_frame_t copy = *f;
    size_t n = qtd_frame_build(&copy, g_raw, sizeof g_raw);
    if (n == 0) {
        abort(); /* a frame the parser accepted must be buildable */
    }
    size_t e = qtd_cobs_encode(g_raw, n, g_enc, sizeof g_enc);
    size_t d = 0;
    if (e == 0 || e > QTD_LINK_MAX_ENCODED || memchr(g_enc, 0, e) != NULL ||
        !qtd_cobs_decode(g_enc, e, g_dec, sizeof g_dec, &d) || d != n || memcmp(g_dec, g_raw, n) != 0) {
        abort();
    }
    qtd_frame_t again;
    if (qtd_frame_parse(g_dec, d, &again) != QTD_FRAME_OK || again.seq != f->seq ||
        again.length != f->length) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    qtd_rx_reset(&g_rx);
    for (size_t i = 0; i < size; i++) {
        qtd_frame_t f;
        qtd_frame_err_t err = QTD_FRAME_OK;
        if (qtd_rx_feed(&g_rx, data[i], &f, &err) == QTD_RX_FRAME) {
            check_round_trip(&f);
        }
    }
    qtd_rx_feed(&g_rx, 0, &(qtd_frame_t){0}, &(qtd_frame_err_t){QTD_FRAME_OK});
    return 0;
}
