/* The link loop: bytes in, frames out (link.md sections 4 and 5).
 *
 * Requests execute in arrival order, one at a time, each answered before the next. Responses of
 * commands with side effects are kept in a small cache keyed by (seq, command), so a RETRY of a
 * request whose answer was lost gets the same answer without running twice. Side-effect-free
 * ("re-run") commands are simply executed again, which keeps big answers (FLASH_READ) out of
 * the cache: every cached answer fits in QTD_LINK_DETAIL_MAX bytes. */
#include "qtd/app.h"

#include <string.h>

#include "hal.h"
#include "qtd/commands.h"
#include "qtd/flash.h"
#include "qtd/fpga.h"
#include "qtd/frame.h"
#include "qtd/model.h"
#include "qtd/power.h"
#include "qtd/slots.h"
#include "qtd/stream.h"

#define CACHE_PAYLOAD  QTD_LINK_DETAIL_MAX
#define BAUD_REVERT_US 1000000u /* link.md 7.3: revert when nothing good arrives at the new rate */

typedef struct {
    bool used;
    uint16_t seq;
    uint8_t command;
    uint8_t status;
    uint16_t len;
    uint8_t payload[CACHE_PAYLOAD];
} cache_entry_t;

qtd_link_state_t qtd_link;

static qtd_rx_t g_rx;
static uint8_t g_tx[QTD_FRAME_MAX_RAW];
static cache_entry_t g_cache[QTD_LINK_MAX_WINDOW];
static unsigned g_cache_next;
static uint32_t g_errors[8];     /* rejected runs per qtd_frame_err_t (for a debugger) */
static uint32_t g_ignored;       /* well-formed frames with RESPONSE or EVENT set */
static uint32_t g_old_baud;      /* rate to fall back to after SET_BAUD ... */
static uint64_t g_baud_deadline; /* ... if no good frame arrives before this time (0: none) */
static uint32_t g_baud;
static uint16_t g_event_seq; /* EVENT frames have their own seq space, from 0 at HELLO (link.md 5) */

static void cache_clear(void) {
    memset(g_cache, 0, sizeof g_cache);
    g_cache_next = 0;
}

static cache_entry_t *cache_find(uint16_t seq, uint8_t command) {
    for (unsigned i = 0; i < QTD_LINK_MAX_WINDOW; i++) {
        if (g_cache[i].used && g_cache[i].seq == seq && g_cache[i].command == command) {
            return &g_cache[i];
        }
    }
    return NULL;
}

static void cache_store(uint16_t seq, uint8_t command, uint8_t status, const uint8_t *p, uint16_t len) {
    cache_entry_t *e = NULL;
    for (unsigned i = 0; i < QTD_LINK_MAX_WINDOW && e == NULL; i++) {
        if (g_cache[i].used && g_cache[i].seq == seq) {
            e = &g_cache[i]; /* a new request with this seq replaces the old answer */
        }
    }
    if (e == NULL) {
        /* ring over the negotiated window: the oldest answer leaves first */
        unsigned size = qtd_link.window ? qtd_link.window : QTD_LINK_DEFAULT_WINDOW;
        e = &g_cache[g_cache_next % size];
        g_cache_next = (g_cache_next + 1u) % size;
    }
    if (len > CACHE_PAYLOAD) {
        e->used = false; /* cannot happen for the commands in the table; never cache a stub */
        return;
    }
    e->used = true;
    e->seq = seq;
    e->command = command;
    e->status = status;
    e->len = len;
    memcpy(e->payload, p, len);
}

static void send_frame(uint8_t flags, uint16_t seq, uint8_t command, uint8_t status, uint16_t len) {
    static const uint8_t delim = QTD_LINK_DELIMITER;
    qtd_frame_t f = {QTD_LINK_PROTOCOL_VERSION,  flags, seq, command, status, len,
                     g_tx + QTD_LINK_HEADER_SIZE};
    size_t n = qtd_frame_build(&f, g_tx, sizeof g_tx);
    qtd_cobs_encode_to(g_tx, n, hal_uart_write);
    hal_uart_write(&delim, 1);
}

uint8_t *qtd_app_event_payload(void) {
    return g_tx + QTD_LINK_HEADER_SIZE;
}

void qtd_app_send_event(uint8_t command, uint8_t status, uint16_t len) {
    send_frame(QTD_FLAG_EVENT, g_event_seq++, command, status, len);
}

/* Answer with status and a detail text (trusted-header rejections and handler errors). */
static uint16_t put_detail(const qtd_reply_t *rep) {
    memcpy(g_tx + QTD_LINK_HEADER_SIZE, rep->detail, rep->detail_len);
    return rep->detail_len;
}

static void execute(const qtd_frame_t *req) {
    qtd_reply_t rep;
    rep.payload = g_tx + QTD_LINK_HEADER_SIZE;
    rep.cap = qtd_link.max_payload;
    rep.len = 0;
    rep.detail_len = 0;
    const qtd_command_t *cmd = qtd_command_find(req->command);
    qtd_status_t st;
    if (cmd == NULL) {
        st = qtd_fail(&rep, QTD_ST_UNKNOWN_COMMAND, "command", req->command, 1);
    } else if (cmd->handler == NULL) {
        st = qtd_fail(&rep, QTD_ST_UNSUPPORTED, "not in this firmware yet: command", req->command, 1);
    } else if (qtd_stream_running() && !qtd_stream_allows(req->command)) {
        st = qtd_fail(&rep, QTD_ST_BUSY, "a window stream is running; STREAM_STOP first, command",
                      req->command, 1);
    } else if (req->length > qtd_link.max_payload) {
        st = qtd_fail(&rep, QTD_ST_BAD_LENGTH, "payload longer than negotiated max_payload",
                      qtd_link.max_payload, 1);
    } else {
        /* the handler reads req->payload (in the receive buffer) and writes g_tx: no overlap */
        st = cmd->handler(req, &rep);
    }
    uint16_t len = st == QTD_ST_OK ? rep.len : put_detail(&rep);
    if (cmd == NULL || !cmd->rerun) {
        cache_store(req->seq, req->command, st, g_tx + QTD_LINK_HEADER_SIZE, len);
    }
    send_frame(QTD_FLAG_RESPONSE, req->seq, req->command, st, len);
}

static void on_frame(const qtd_frame_t *req) {
    if (req->flags & (QTD_FLAG_RESPONSE | QTD_FLAG_EVENT)) {
        g_ignored++;
        return;
    }
    if (req->command != QTD_CMD_HELLO && (req->flags & QTD_FLAG_RETRY)) {
        cache_entry_t *hit = cache_find(req->seq, req->command);
        if (hit != NULL) {
            memcpy(g_tx + QTD_LINK_HEADER_SIZE, hit->payload, hit->len);
            send_frame(QTD_FLAG_RESPONSE, hit->seq, hit->command, hit->status, hit->len);
            return;
        }
    }
    if (req->command == QTD_CMD_HELLO) {
        cache_clear();
        qtd_stream_reset();       /* link.md 5: HELLO stops any running stream, events count from 0 */
        qtd_power_stream_reset(); /* ... and any power stream */
        g_event_seq = 0;
    }
    execute(req);
}

static void on_bad_frame(qtd_frame_err_t err, const qtd_frame_t *hdr) {
    g_errors[err < 8 ? err : 0]++;
    if (err == QTD_FRAME_ERR_CRC && hdr->version == QTD_LINK_PROTOCOL_VERSION &&
        qtd_command_find(hdr->command) != NULL) {
        /* a NAK, never cached and never executed: the host re-sends at once instead of waiting
         * out its timeout; a NAK naming a seq the host has no such request for is dropped there */
        send_frame(QTD_FLAG_RESPONSE, hdr->seq, hdr->command, QTD_ST_DAMAGED, 0);
        return;
    }
    if (err != QTD_FRAME_ERR_VERSION && err != QTD_FRAME_ERR_LENGTH) {
        return; /* header not trusted: no answer, the host's timeout and retry recover */
    }
    qtd_reply_t rep;
    rep.detail_len = 0;
    qtd_status_t st = err == QTD_FRAME_ERR_VERSION
                          ? qtd_fail(&rep, QTD_ST_BAD_VERSION, "board speaks protocol version",
                                     QTD_LINK_PROTOCOL_VERSION, 1)
                          : qtd_fail(&rep, QTD_ST_BAD_FRAME, "header length disagrees with the frame, length",
                                     hdr->length, 1);
    send_frame(QTD_FLAG_RESPONSE, hdr->seq, hdr->command, st, put_detail(&rep));
}

qtd_status_t qtd_app_init(const qtd_board_t *board) {
    memset(&qtd_link, 0, sizeof qtd_link);
    qtd_link.board = board;
    qtd_link.max_payload = board->max_payload;
    qtd_link.window = board->window;
    qtd_rx_reset(&g_rx);
    cache_clear();
    qtd_stream_reset();
    g_event_seq = 0;
    qtd_model_unload(); /* a reboot loses RAM: MODEL_LOAD again after RESET */
    memset(g_errors, 0, sizeof g_errors);
    g_baud = board->uart_baud;
    g_baud_deadline = 0;
    hal_uart_set_baud(g_baud);
    hal_fpga_hold_bus(false);
    qtd_power_init(board); /* before the boot configuration, so its energy is counted */
    qtd_fpga_init(board);
    qtd_status_t st = qtd_flash_init(board);
    if (st == QTD_ST_OK) {
        st = qtd_slots_load(board);
    }
    if (st == QTD_ST_OK) {
        /* boot the last good image; a failure is reported by FPGA_STATUS, not fatal here */
        uint8_t slot = qtd_slots_boot_slot();
        if (slot != QTD_LINK_NO_SLOT) {
            (void)qtd_fpga_configure(slot);
        }
    }
    qtd_link.boot_status = (uint8_t)st; /* BUILD_INFO reports it */
    return st;
}

static void after_response(void) {
    if (qtd_link.new_baud != 0) {
        g_old_baud = g_baud;
        g_baud = qtd_link.new_baud;
        qtd_link.new_baud = 0;
        hal_uart_set_baud(g_baud);
        g_baud_deadline = hal_time_us() + BAUD_REVERT_US;
    }
}

bool qtd_app_poll(void) {
    uint8_t chunk[64];
    size_t n = hal_uart_read(chunk, sizeof chunk);
    for (size_t i = 0; i < n && !qtd_link.reset_requested; i++) {
        qtd_frame_t f = {0};
        qtd_frame_err_t err = QTD_FRAME_OK;
        qtd_rx_event_t ev = qtd_rx_feed(&g_rx, chunk[i], &f, &err);
        if (ev == QTD_RX_FRAME) {
            g_baud_deadline = 0; /* a good frame at the current rate: keep it */
            on_frame(&f);
            after_response();
        } else if (ev == QTD_RX_ERROR) {
            on_bad_frame(err, &f);
        }
    }
    if (!qtd_link.reset_requested) {
        qtd_stream_poll(n > 0); /* queued stream windows run between requests */
        qtd_power_poll();       /* monitors: keep-alive REFRESH, stream samples, PowerEvents */
    }
    if (g_baud_deadline != 0 && hal_time_us() > g_baud_deadline) {
        g_baud = g_old_baud;
        g_baud_deadline = 0;
        hal_uart_set_baud(g_baud);
    }
    return !qtd_link.reset_requested;
}
