/* Frame codec driver for the golden vectors, plus self checks.
 * stdin lines:  stream <hex>   feed the bytes to a fresh receiver, print each event:
 *                                FRAME v flags seq cmd status len payloadhex
 *                                ERROR name [v flags seq cmd status len payloadhex]
 *                                PENDING n
 *               encode <rawhex> print the COBS encoding + delimiter of raw, and the streaming
 *                               encoder's, which must agree
 *               build v flags seq cmd status payloadhex   print the raw frame hex (with CRC) */
#include <stdlib.h>
#include <string.h>

#include "qtd/cobs.h"
#include "qtd/crc32.h"
#include "qtd/frame.h"
#include "test_util.h"

static uint8_t g_bytes[1 << 16];
static uint8_t g_out[1 << 16];
static size_t g_sink_len;

static size_t unhex(const char *s, uint8_t *out) {
    size_t n = 0;
    while (s[0] && s[1] && s[0] != '\n') {
        char b[3] = {s[0], s[1], 0};
        out[n++] = (uint8_t)strtoul(b, NULL, 16);
        s += 2;
    }
    return n;
}

static void hex(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        printf("%02x", p[i]);
    }
}

static void print_frame(const qtd_frame_t *f) {
    printf(" %u %u %u %u %u %u ", f->version, f->flags, f->seq, f->command, f->status, f->length);
    hex(f->payload, f->length);
}

static void sink(const uint8_t *p, size_t n) {
    memcpy(g_out + g_sink_len, p, n);
    g_sink_len += n;
}

static qtd_rx_t g_rx;

static void self_checks(void) {
    CHECK_EQ(qtd_crc32(0, (const uint8_t *)"123456789", 9), 0xCBF43926u);
    /* COBS round trips over lengths that cross the 254-byte block boundary, zeros everywhere */
    static uint8_t in[1200], enc[1300], dec[1300];
    for (size_t len = 0; len < sizeof in; len += 7) {
        for (size_t i = 0; i < len; i++) {
            in[i] = (uint8_t)((i * 37u + len) % 5u == 0 ? 0 : i + 1);
        }
        size_t e = qtd_cobs_encode(in, len, enc, sizeof enc);
        size_t d = 0;
        CHECK(e > 0 && e <= QTD_COBS_MAX_ENCODED(len));
        CHECK(memchr(enc, 0, e) == NULL);
        CHECK(qtd_cobs_decode(enc, e, dec, sizeof dec, &d) && d == len && memcmp(in, dec, len) == 0);
        g_sink_len = 0;
        qtd_cobs_encode_to(in, len, sink);
        CHECK(g_sink_len == e && memcmp(g_out, enc, e) == 0);
    }
    CHECK_EQ(qtd_cobs_encode(in, 300, enc, 10), 0); /* too small: refused, no overrun */
}

int main(void) {
    static char line[1 << 17];
    self_checks();
    while (fgets(line, sizeof line, stdin)) {
        if (strncmp(line, "stream ", 7) == 0) {
            size_t n = unhex(line + 7, g_bytes);
            qtd_rx_reset(&g_rx);
            size_t run_start = 0;
            for (size_t i = 0; i < n; i++) {
                qtd_frame_t f;
                qtd_frame_err_t err = QTD_FRAME_OK;
                qtd_rx_event_t ev = qtd_rx_feed(&g_rx, g_bytes[i], &f, &err);
                if (ev == QTD_RX_FRAME) {
                    printf("FRAME");
                    print_frame(&f);
                    printf("\n");
                } else if (ev == QTD_RX_ERROR) {
                    printf("ERROR %s", qtd_frame_err_name(err));
                    if (err == QTD_FRAME_ERR_VERSION) {
                        print_frame(&f);
                    } else if (err == QTD_FRAME_ERR_LENGTH) {
                        /* the vectors show the payload that arrived, not the length claimed */
                        static uint8_t run[1 << 16];
                        size_t d = 0;
                        qtd_cobs_decode(g_bytes + run_start, i - run_start, run, sizeof run, &d);
                        f.length = (uint16_t)(d - QTD_LINK_HEADER_SIZE - QTD_LINK_CRC_SIZE);
                        f.payload = run + QTD_LINK_HEADER_SIZE;
                        print_frame(&f);
                    }
                    printf("\n");
                }
                if (g_bytes[i] == 0) {
                    run_start = i + 1;
                }
            }
            printf("PENDING %zu\nEND\n", g_rx.overflow ? (size_t)0 : g_rx.len);
        } else if (strncmp(line, "encode ", 7) == 0) {
            size_t n = unhex(line + 7, g_bytes);
            size_t e = qtd_cobs_encode(g_bytes, n, g_out, sizeof g_out);
            g_out[e++] = 0;
            hex(g_out, e);
            g_sink_len = 0;
            static uint8_t copy[1 << 16];
            memcpy(copy, g_out, e);
            qtd_cobs_encode_to(g_bytes, n, sink);
            g_out[g_sink_len++] = 0;
            printf(" %s\n", (g_sink_len == e && memcmp(copy, g_out, e) == 0) ? "same" : "differ");
        } else if (strncmp(line, "build ", 6) == 0) {
            unsigned v, fl, seq, cmd, st;
            char ph[1 << 14] = "";
            if (sscanf(line + 6, "%u %u %u %u %u %16383s", &v, &fl, &seq, &cmd, &st, ph) < 5) {
                continue;
            }
            size_t n = unhex(ph, g_bytes);
            qtd_frame_t f = {(uint8_t)v, (uint8_t)fl, (uint16_t)seq, (uint8_t)cmd, (uint8_t)st, (uint16_t)n, g_bytes};
            size_t r = qtd_frame_build(&f, g_out, sizeof g_out);
            hex(g_out, r);
            printf("\n");
        }
        fflush(stdout);
    }
    return t_summary("frame");
}
