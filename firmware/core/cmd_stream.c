/* Window streams: STREAM_START / STREAM_DATA / STREAM_STOP (link.md 7.17-7.19, qtd/stream.h).
 *
 * Windows are numbered from 0 at STREAM_START and new ones must arrive in order (STREAM_DATA's
 * window_seq is the next number not yet sent); a frame of windows already sent is a re-send
 * (the host lost their events) and runs them again: the same window gives the same result, so a
 * re-send is idempotent by window number. Each queued window is run in queue order and answered
 * by one EVENT frame that carries its number (each ring slot keeps the number of its window): a
 * StreamResultEvent (status OK) or a StreamErrorEvent (the window's status). A result is built from the
 * engine's answer for the window at the head of the ring and sent with that window's number, so it cannot be
 * attached to another window. While the accelerator runs window n+1 the MCU sends window n's event. */
#include "qtd/stream.h"

#include <string.h>

#include "hal.h"
#include "qtd/app.h"
#include "qtd/commands.h"
#include "qtd/infer.h"
#include "qtd/le.h"

#define START_SIZE         4u
#define DATA_HEADER        8u
#define DATA_RESPONSE_SIZE 8u
#define STOP_RESPONSE_SIZE 8u

static struct {
    bool running;
    bool head_running; /* the head window was started on the engine */
    uint8_t engine;
    uint8_t cap; /* granted max_in_flight = ring slots */
    uint16_t in_count, out_count;
    uint32_t next_seq; /* number of the next new window */
    uint16_t head;     /* ring slot of the oldest unanswered window */
    uint16_t count;    /* windows accepted and not yet answered */
    uint32_t done, failed;
} g;

static uint8_t g_ring[QTD_STREAM_QUEUE_BYTES];
/* Low 16 bits of each ring slot's window number (cap <= 255): every window in the ring is at most
 * 65535 behind next_seq (new ones are < 256 behind, re-sends are refused further back), so the
 * number is next_seq minus the 16-bit difference. Half the RAM of u32 numbers. */
static uint16_t g_seq_lo[255];

static uint32_t slot_seq(uint16_t slot) {
    return g.next_seq - (uint16_t)((uint16_t)g.next_seq - g_seq_lo[slot]);
}

bool qtd_stream_running(void) {
    return g.running;
}

bool qtd_stream_allows(uint8_t command) {
    return command == QTD_CMD_STREAM_DATA || command == QTD_CMD_STREAM_STOP || command == QTD_CMD_PING ||
           command == QTD_CMD_HELLO || (command >= QTD_CMD_POWER_READ && command <= QTD_CMD_POWER_MARK);
}

void qtd_stream_reset(void) {
    if (g.head_running) {
        qtd_infer_abort();
    }
    memset(&g, 0, sizeof g);
}

static const int8_t *slot_at(uint16_t slot) {
    return (const int8_t *)(g_ring + (uint32_t)slot * g.in_count);
}

/* Send the event of window `seq`: its result on OK, else its status and detail text. */
static void send_event(uint32_t seq, qtd_status_t st, const qtd_infer_result_t *r, const char *why) {
    uint8_t *p = qtd_app_event_payload();
    qtd_put_le32(p, seq);
    uint16_t len = 4;
    if (st == QTD_ST_OK) {
        len = (uint16_t)(len + qtd_infer_put(p + 4, r));
        g.done++;
    } else {
        while (*why && len < 4u + QTD_LINK_DETAIL_MAX) {
            p[len++] = (uint8_t)*why++;
        }
        g.failed++;
    }
    qtd_app_send_event(QTD_CMD_STREAM_DATA, st, len);
}

/* Drop the head window; returns its number. */
static uint32_t advance(void) {
    uint32_t seq = slot_seq(g.head);
    g.head = (uint16_t)((g.head + 1u) % g.cap);
    g.count--;
    g.head_running = false;
    return seq;
}

/* Start the head window; a window the engine refuses at once is answered here. */
static void start_head(void) {
    while (g.count > 0 && !g.head_running) {
        const char *why = "";
        qtd_status_t st = qtd_infer_start(g.engine, slot_at(g.head), &why);
        if (st == QTD_ST_OK) {
            g.head_running = true;
        } else {
            uint32_t seq = advance();
            send_event(seq, st, NULL, why);
        }
    }
}

typedef enum { STEP_IDLE, STEP_WAITING, STEP_ANSWERED } step_t;

/* One step: collect the running head window if it finished, start the next one, then send the
 * finished window's event. */
static step_t step(void) {
    start_head();
    if (!g.head_running) {
        return STEP_IDLE;
    }
    qtd_infer_result_t r;
    qtd_status_t st;
    const char *why = "";
    if (!qtd_infer_poll(&r, &st, &why)) {
        return STEP_WAITING; /* the accelerator is still running */
    }
    uint32_t seq = advance();
    /* overlap: the engine works on the next window while this result goes out */
    if (g.count > 0) {
        const char *next_why = "";
        qtd_status_t next = qtd_infer_start(g.engine, slot_at(g.head), &next_why);
        send_event(seq, st, &r, why);
        if (next == QTD_ST_OK) {
            g.head_running = true;
        } else {
            uint32_t bad = advance();
            send_event(bad, next, NULL, next_why);
        }
    } else {
        send_event(seq, st, &r, why);
    }
    return STEP_ANSWERED;
}

void qtd_stream_poll(bool link_busy) {
    uint64_t t0 = hal_time_us();
    while (g.running && g.count > 0 && hal_time_us() - t0 < QTD_STREAM_SLICE_US) {
        step_t s = step();
        if (s == STEP_IDLE || (s == STEP_ANSWERED && link_busy)) {
            break; /* with bytes waiting on the link, one answered window per poll */
        }
    }
}

qtd_status_t qtd_cmd_stream_start(const qtd_frame_t *req, qtd_reply_t *rep) {
    if (req->length != START_SIZE) {
        return qtd_fail(rep, QTD_ST_BAD_LENGTH, "STREAM_START request is 4 bytes, got", req->length, 1);
    }
    uint8_t engine = req->payload[0], wanted = req->payload[1];
    if (wanted == 0) {
        return qtd_fail(rep, QTD_ST_BAD_ARGUMENT, "max_in_flight must be >= 1, got", wanted, 1);
    }
    const char *why = "";
    uint16_t in_count, out_count;
    qtd_status_t st = qtd_infer_ready(engine, &in_count, &out_count, &why);
    if (st != QTD_ST_OK) {
        return qtd_fail(rep, st, why, engine, 1);
    }
    uint32_t fits = in_count ? QTD_STREAM_QUEUE_BYTES / in_count : 0;
    if (fits == 0) {
        return qtd_fail(rep, QTD_ST_UNSUPPORTED, "a window is larger than the stream queue, bytes", in_count,
                        1);
    }
    qtd_stream_reset();
    g.running = true;
    g.engine = engine;
    g.cap = (uint8_t)(wanted < fits ? wanted : (fits > 255u ? 255u : fits));
    g.in_count = in_count;
    g.out_count = out_count;
    uint8_t *p = rep->payload;
    p[0] = engine;
    p[1] = g.cap;
    p[2] = p[3] = 0;
    rep->len = START_SIZE;
    return QTD_ST_OK;
}

qtd_status_t qtd_cmd_stream_data(const qtd_frame_t *req, qtd_reply_t *rep) {
    if (!g.running) {
        return qtd_fail(rep, QTD_ST_NO_STREAM, "no stream running; send STREAM_START", 0, 0);
    }
    if (req->length < DATA_HEADER) {
        return qtd_fail(rep, QTD_ST_BAD_LENGTH, "STREAM_DATA request is 8 + windows x count bytes, got",
                        req->length, 1);
    }
    uint32_t seq = qtd_le32(req->payload);
    uint16_t k = qtd_le16(req->payload + 4), n = qtd_le16(req->payload + 6);
    if (n != g.in_count) {
        return qtd_fail(rep, QTD_ST_BAD_LENGTH, "STREAM_DATA count must equal the model's in_count",
                        g.in_count, 1);
    }
    if (req->length != DATA_HEADER + (uint32_t)k * n) {
        return qtd_fail(rep, QTD_ST_BAD_LENGTH, "STREAM_DATA length is not 8 + windows x count, got",
                        req->length, 1);
    }
    if (k == 0) {
        return qtd_fail(rep, QTD_ST_BAD_ARGUMENT, "STREAM_DATA windows must be >= 1", 0, 0);
    }
    bool resend = seq != g.next_seq;
    if (resend && (seq > g.next_seq || k > g.next_seq - seq || g.next_seq - seq > 0xFFFFu)) {
        return qtd_fail(rep, QTD_ST_OUT_OF_ORDER, "window_seq is not the next window; expected", g.next_seq,
                        1);
    }
    if ((uint32_t)g.count + k > g.cap) {
        return qtd_fail(rep, QTD_ST_BUSY, "queue full (max_in_flight), windows queued", g.count, 1);
    }
    for (uint16_t i = 0; i < k; i++) {
        uint16_t slot = (uint16_t)((g.head + g.count) % g.cap);
        memcpy(g_ring + (uint32_t)slot * n, req->payload + DATA_HEADER + (uint32_t)i * n, n);
        g_seq_lo[slot] = (uint16_t)(seq + i);
        g.count++;
    }
    if (!resend) {
        g.next_seq += k;
    }
    uint8_t *p = rep->payload;
    qtd_put_le32(p, seq);
    qtd_put_le16(p + 4, g.count);
    p[6] = p[7] = 0;
    rep->len = DATA_RESPONSE_SIZE;
    return QTD_ST_OK;
}

qtd_status_t qtd_cmd_stream_stop(const qtd_frame_t *req, qtd_reply_t *rep) {
    if (req->length != 0) {
        return qtd_fail(rep, QTD_ST_BAD_LENGTH, "STREAM_STOP request is empty, got", req->length, 1);
    }
    if (!g.running) {
        return qtd_fail(rep, QTD_ST_NO_STREAM, "no stream running; send STREAM_START", 0, 0);
    }
    /* answered after the event of the last queued window (the events use the same transmit
     * buffer as this reply, so they all go out before the reply payload is written) */
    while (g.count > 0 && step() != STEP_IDLE) {
    }
    uint32_t done = g.done, failed = g.failed;
    qtd_stream_reset();
    qtd_put_le32(rep->payload, done);
    qtd_put_le32(rep->payload + 4, failed);
    rep->len = STOP_RESPONSE_SIZE;
    return QTD_ST_OK;
}
