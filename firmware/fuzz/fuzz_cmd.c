/* libFuzzer harness for everything a broken or hostile host can reach: each input is a sequence
 * of requests (fuzz_records.h), each wrapped in a valid frame (right seq, CRC, COBS) and fed
 * through the real receiver and dispatcher of the virtual board (fuzz_board.h), whose flash is
 * the NOR model in memory. The NOR model's rules and the FPGA bus rule stay armed: a rule broken
 * aborts. Checked after every request (abort on violation):
 *   - exactly one answer, echoing seq and command, in the order sent (silence for frames flagged
 *     RESPONSE/EVENT; after an answered RESET the unread rest of a burst may be lost); a header
 *     with a good CRC but another version or a lying length is answered BAD_VERSION / BAD_FRAME;
 *     only RESPONSE or EVENT frames, events only from STREAM_DATA / POWER_STREAM;
 *   - no frame longer than the negotiated max_payload; answers of cached (non re-run) commands
 *     fit LINK_DETAIL_MAX (link.md 5);
 *   - flash writes only inside the request's own range and never into the metadata or the active
 *     slot (FLASH_ERASE / FLASH_WRITE), only into the metadata (SLOT_COMMIT / SLOT_SELECT),
 *     nowhere for every other command, the boot and a reboot;
 *   - the active slot and its metadata entry unchanged, unless SLOT_COMMIT answered OK with
 *     hashes that match the flash (checked here on the array itself) or SLOT_SELECT answered OK;
 *   - a committed slot whose image a raw write touched is no longer vouched for (slots.h);
 * and after the input, the board still answers HELLO.
 *
 *   make fuzz && python3 fuzz/make_base.py build/fuzz/base && \
 *   QTD_FUZZ_BASE=build/fuzz/base build/fuzz/fuzz_cmd -max_len=12000 fuzz/corpus/cmd
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_board.h"
#include "fuzz_records.h"
#include "qtd/commands.h"
#include "qtd/le.h"
#include "qtd/sha256.h"
#include "qtd/slots.h"

#define IDLE_US         50000u
#define LONG_IDLE_STEPS 24u /* x IDLE_US = 1.2 s: past link.md 7.3's 1 s SET_BAUD revert */

static bool g_trace; /* QTD_FUZZ_TRACE=1: one line per request on stderr (replaying an input) */

static struct {
    uint16_t seq;
    uint16_t max_payload; /* negotiated */
    uint32_t next_window; /* STREAM_DATA's next window_seq, for REC_FIXUP */
    uint8_t active;
    qtd_slot_entry_t entry; /* the active slot's entry */
} g;

static _Noreturn void fail(const char *what, uint8_t command, unsigned value) {
    fprintf(stderr, "fuzz_cmd: invariant broken: %s (command 0x%02x, value 0x%x)\n", what, command, value);
    abort();
}

static void snapshot(void) {
    const qtd_slot_table_t *t = qtd_slots_table();
    g.active = t->active;
    memset(&g.entry, 0, sizeof g.entry);
    if (t->active < QTD_SLOT_COUNT) {
        g.entry = t->slot[t->active];
    }
}

static void sha_of(uint32_t offset, uint32_t len, uint8_t out[32]) {
    qtd_sha256_t s;
    qtd_sha256_init(&s);
    qtd_sha256_update(&s, fb_flash() + offset, len);
    qtd_sha256_final(&s, out);
}

/* The len bytes from region r's start hash to sha, on the array. */
static bool region_matches(const qtd_region_t *r, uint32_t len, const uint8_t sha[32]) {
    uint8_t h[32];
    sha_of(r->offset, len, h);
    return memcmp(h, sha, 32) == 0;
}

/* The slot's committed image (its entry's sizes, inside its regions) hashes to its entry's SHA-256s. */
static bool image_intact(uint8_t slot, const qtd_slot_entry_t *e) {
    const qtd_slot_layout_t *lay = &fb_board.slots[slot];
    return e->bitstream_size <= lay->bitstream.size && e->blob_size <= lay->blob.size &&
           region_matches(&lay->bitstream, e->bitstream_size, e->bitstream_sha256) &&
           region_matches(&lay->blob, e->blob_size, e->blob_sha256);
}

/* ---- REC_FIXUP: make the fields that cannot be guessed agree ------------------------------ */
static uint16_t fixup(uint8_t command, uint8_t flags, uint8_t *p, uint16_t len) {
    if (command == QTD_CMD_SLOT_COMMIT && len == 76) {
        const qtd_slot_layout_t *lay = &fb_board.slots[p[0] % QTD_SLOT_COUNT];
        uint32_t bit = qtd_le32(p + 4) % (lay->bitstream.size + 1u);
        uint32_t blob = qtd_le32(p + 40) % (lay->blob.size + 1u);
        qtd_put_le32(p + 4, bit);
        qtd_put_le32(p + 40, blob);
        sha_of(lay->bitstream.offset, bit, p + 8);
        sha_of(lay->blob.offset, blob, p + 44);
        if (p[2] & 1u) { /* reserved bit 0 asks for one hash byte spoiled (bits 1-6 pick it) */
            unsigned j = (p[2] >> 1) & 63u;
            p[j < 32u ? 8u + j : 12u + j] ^= 0x80u;
        }
    } else if (command == QTD_CMD_INFER && len >= 4) {
        qtd_put_le16(p + 2, (uint16_t)(len - 4u));
    } else if (command == QTD_CMD_POWER_BENCH && len >= 8) {
        /* count = the window's bytes sent; N kept to 0..3 so that a burst stays short (0: refused) */
        qtd_put_le16(p + 2, (uint16_t)(len - 8u));
        qtd_put_le32(p + 4, qtd_le32(p + 4) % 4u);
    } else if (command == QTD_CMD_STREAM_DATA && len >= 8) {
        uint16_t count = qtd_le16(p + 6);
        uint16_t windows = count ? (uint16_t)((len - 8u) / count) : 0;
        qtd_put_le32(p, g.next_window);
        qtd_put_le16(p + 4, windows ? windows : 1u);
        len = (uint16_t)(8u + (uint32_t)windows * count);
    } else if (command == QTD_CMD_FLASH_WRITE && len >= 12) {
        if (!(flags & QTD_FLAG_COMPRESSED)) {
            qtd_put_le32(p + 4, len - 12u);
            p[8] = QTD_CODEC_NONE;
        } else {
            p[8] = QTD_CODEC_HEATSHRINK;
        }
    }
    return len;
}

/* ---- the checks --------------------------------------------------------------------------- */
static bool overlaps(uint32_t a, uint32_t alen, const qtd_region_t *r) {
    return alen > 0 && r->size > 0 && a < r->offset + r->size && r->offset < a + alen;
}

static bool inside(uint32_t a, uint32_t alen, uint32_t lo, uint32_t len) {
    return a >= lo && alen <= len && a - lo <= len - alen;
}

/* One write w, done while executing (command, p, len) (command 0: no request was executing). */
static void check_write(const fb_write_t *w, uint8_t command, const uint8_t *p, uint16_t len) {
    uint32_t a = w->addr, n = w->len;
    if (n == 0) {
        fail("status register written from the link", command, 0);
    }
    bool meta = overlaps(a, n, &fb_board.meta[0]) || overlaps(a, n, &fb_board.meta[1]);
    if (command == QTD_CMD_SLOT_COMMIT || command == QTD_CMD_SLOT_SELECT) {
        if (!inside(a, n, fb_board.meta[0].offset, fb_board.meta[0].size) &&
            !inside(a, n, fb_board.meta[1].offset, fb_board.meta[1].size)) {
            fail("slot record written outside the metadata copies", command, a);
        }
        return;
    }
    if ((command != QTD_CMD_FLASH_ERASE && command != QTD_CMD_FLASH_WRITE) || len < 8) {
        fail("flash written by a command that does not write", command, a);
    }
    uint32_t lo = qtd_le32(p), span = qtd_le32(p + 4);
    if (!inside(a, n, lo, span)) {
        fail("flash written outside the request's range", command, a);
    }
    if (meta) {
        fail("metadata written by a raw flash command", command, a);
    }
    if (w->active < QTD_SLOT_COUNT && (overlaps(a, n, &fb_board.slots[w->active].bitstream) ||
                                       overlaps(a, n, &fb_board.slots[w->active].blob))) {
        fail("active slot written", command, a);
    }
}

/* executed: the request wrote the flash (a RETRY answered from the cache writes nothing and must
 * leave everything as it was) */
static void check_slots(uint8_t command, const uint8_t *p, uint16_t len, const fb_frame_t *answer,
                        bool executed) {
    const qtd_slot_table_t *t = qtd_slots_table();
    bool ok = answer != NULL && answer->status == QTD_ST_OK && !(answer->flags & QTD_FLAG_EVENT);
    const qtd_slot_entry_t *now = t->active < QTD_SLOT_COUNT ? &t->slot[t->active] : NULL;
    bool same = t->active == g.active && (now == NULL || memcmp(now, &g.entry, sizeof *now) == 0);
    if (ok && command == QTD_CMD_SLOT_COMMIT && len == 76 && executed) {
        /* the image it vouches for is in the flash, as the request said */
        uint8_t slot = p[0];
        if (slot >= QTD_SLOT_COUNT || slot == g.active) {
            fail("SLOT_COMMIT accepted a slot it must refuse", command, slot);
        }
        const qtd_slot_layout_t *lay = &fb_board.slots[slot];
        if (!region_matches(&lay->bitstream, qtd_le32(p + 4), p + 8)) {
            fail("SLOT_COMMIT accepted a bitstream hash that does not match", command, slot);
        }
        if (!region_matches(&lay->blob, qtd_le32(p + 40), p + 44)) {
            fail("SLOT_COMMIT accepted a blob hash that does not match", command, slot);
        }
        if (!same && t->active != slot && t->active != g.active) {
            fail("SLOT_COMMIT activated another slot", command, t->active);
        }
        if (t->active == g.active && !same) {
            fail("SLOT_COMMIT changed the active slot's entry", command, slot);
        }
        return;
    }
    if (ok && command == QTD_CMD_SLOT_SELECT && len == 1 && executed) {
        if (t->active != p[0] || t->slot[p[0]].state != QTD_SLOT_STATE_COMMITTED) {
            fail("SLOT_SELECT answered OK but another slot is active", command, t->active);
        }
        return;
    }
    if (!same) {
        fail("active slot or its metadata changed without a commit", command, t->active);
    }
}

/* A request of the burst being sent. */
typedef struct {
    uint8_t command, flags, wire;
    uint16_t seq, len;
    bool expect;              /* owed an answer (not flagged RESPONSE/EVENT, or a header refused) */
    uint8_t refused;          /* the status a refused header must get (0: a good frame) */
    const fb_frame_t *answer; /* its answer, once matched */
    bool wrote;
    uint8_t p[REC_MAX_LEN];
} sent_t;

static sent_t g_sent[FB_MAX_BURST];

/* POWER_BENCH's N, whether fixed up or not: one the board accepts (1..QTD_BENCH_MAX_INFERENCES)
 * is cut to BENCH_FUZZ_MAX_N. Why: the fuzz board's clock charges a microsecond per look, so no
 * burst reaches the 5 s span limit and up to 100,000 inferences of this ASan build run, 10-30 s
 * per request; a corpus that keeps such inputs fell from ~1,100 to ~130 runs/s. The loop does the
 * same for any N; 0 and N above the maximum are left as sent (both refused, before any burst). */
#define BENCH_FUZZ_MAX_N 3u
static void cap_bench(uint8_t *p) {
    uint32_t n = qtd_le32(p + 4);
    if (n > BENCH_FUZZ_MAX_N && n <= QTD_BENCH_MAX_INFERENCES) {
        qtd_put_le32(p + 4, BENCH_FUZZ_MAX_N);
    }
}

/* Turn a record into the request to send (seq, fixed-up fields). fresh_seq: a RESET goes ahead
 * of it in the burst, so it takes a new seq whatever ctl says: after the reboot some of the
 * burst may be lost, and answers can only be told apart by seq. */
static void prepare(const rec_t *rec, sent_t *s, bool fresh_seq) {
    memcpy(s->p, rec->payload, rec->length);
    s->command = rec->command;
    s->flags = rec->ctl & REC_WIRE;
    s->len = rec->length;
    if (rec->ctl & REC_FIXUP) {
        s->len = fixup(rec->command, s->flags, s->p, s->len);
        if (rec->command == QTD_CMD_STREAM_DATA && s->len >= 8) {
            g.next_window += qtd_le16(s->p + 4); /* the next one in the burst follows it */
        }
    }
    if (rec->command == QTD_CMD_STREAM_START) {
        g.next_window = 0;
    }
    if (rec->command == QTD_CMD_POWER_BENCH && s->len >= 8) {
        cap_bench(s->p);
    }
    if (fresh_seq || !(rec->ctl & (REC_SAME_SEQ | QTD_FLAG_RETRY))) {
        g.seq++;
    }
    s->seq = g.seq;
    s->wire = rec->wire & (WIRE_VERSION | WIRE_LENGTH | WIRE_JUNK | WIRE_STATUS) ? rec->wire : 0;
    /* a header with a good CRC but another version or a wrong length is answered, whatever its
     * flags (link.md 4), and runs nothing */
    s->refused = (s->wire & WIRE_VERSION)  ? QTD_ST_BAD_VERSION
                 : (s->wire & WIRE_LENGTH) ? QTD_ST_BAD_FRAME
                                           : 0;
    s->expect = s->refused || !(s->flags & (QTD_FLAG_RESPONSE | QTD_FLAG_EVENT));
    s->answer = NULL;
    s->wrote = false;
}

static void check_frame(const fb_frame_t *f) {
    bool resp = f->flags & QTD_FLAG_RESPONSE, ev = f->flags & QTD_FLAG_EVENT;
    if (resp == ev) {
        fail("board frame is neither a response nor an event", f->command, f->flags);
    }
    if (f->length > g.max_payload) {
        fail("frame longer than the negotiated max_payload", f->command, f->length);
    }
    if (ev && f->command != QTD_CMD_STREAM_DATA && f->command != QTD_CMD_POWER_STREAM) {
        fail("event from a command that has none", f->command, f->flags);
    }
}

/* Match the answers to the burst, in order: each request owed one gets exactly one, in the order
 * sent. After an answered RESET the board reboots and the rest of the burst may be lost (the
 * UART bytes it had not read yet): those may go unanswered, never answered twice or out of order. */
static void match_answers(const fb_result_t *r, unsigned n, int owner[FB_MAX_OUT]) {
    unsigned j = 0;
    bool rebooted = false;
    for (unsigned i = 0; i < r->n_out; i++) {
        const fb_frame_t *f = &r->out[i];
        owner[i] = -1;
        check_frame(f);
        if (!(f->flags & QTD_FLAG_RESPONSE)) {
            continue;
        }
        if (rebooted && f->status == QTD_ST_DAMAGED) {
            /* the reboot lost the start of a frame; the board NAKs the damaged rest (app.c
             * on_bad_frame), naming whatever seq those bytes hold: a host drops a NAK for a seq
             * it has no request for. It answers nothing that was sent. */
            continue;
        }
        while (j < n && (!g_sent[j].expect ||
                         (rebooted && (g_sent[j].seq != f->seq || g_sent[j].command != f->command)))) {
            j++;
        }
        if (j == n || g_sent[j].seq != f->seq || g_sent[j].command != f->command) {
            fprintf(stderr, "fuzz_cmd: unmatched answer: seq 0x%04x command 0x%02x status %s\n", f->seq,
                    f->command, qtd_status_name(f->status));
            fail("an answer to a request that was not asked, or out of order", f->command, f->seq);
        }
        if (g_sent[j].refused && f->status != g_sent[j].refused) {
            fail("a refused header answered with another status", f->command, f->status);
        }
        const qtd_command_t *c = qtd_command_find(f->command);
        if ((c == NULL || !c->rerun) && f->length > QTD_LINK_DETAIL_MAX) {
            fail("a cached command's answer exceeds LINK_DETAIL_MAX", f->command, f->length);
        }
        g_sent[j].answer = f;
        owner[i] = (int)j;
        if (g_sent[j].refused) {
            j++;
            continue;
        }
        if (f->command == QTD_CMD_HELLO && f->status == QTD_ST_OK && f->length >= 36) {
            g.max_payload = qtd_le16(f->payload + 20); /* frames after it are held to the new size */
        }
        if (f->command == QTD_CMD_RESET && f->status == QTD_ST_OK) {
            rebooted = true; /* the board reboots once this answer is out */
            g.max_payload = fb_board.max_payload;
        }
        j++;
    }
    for (; !rebooted && j < n; j++) {
        if (g_sent[j].expect) {
            fail("request not answered", g_sent[j].command, g_sent[j].seq);
        }
    }
}

/* idle_steps: how many IDLE_US of board time pass before the burst, each checked like a request
 * that wrote nothing (events only, no flash write, the slots unchanged). */
static void burst(unsigned n, unsigned idle_steps) {
    for (unsigned k = 0; k < idle_steps; k++) {
        snapshot();
        const fb_result_t *r = fb_idle(IDLE_US);
        int owner[FB_MAX_OUT];
        match_answers(r, 0, owner);
        for (unsigned w = 0; w < r->n_writes; w++) {
            check_write(&r->writes[w], 0, NULL, 0);
        }
        check_slots(0, NULL, 0, NULL, false);
    }
    snapshot();
    fb_begin();
    for (unsigned i = 0; i < n; i++) {
        fb_queue(g_sent[i].flags, g_sent[i].seq, g_sent[i].command, g_sent[i].p, g_sent[i].len,
                 g_sent[i].wire);
    }
    const fb_result_t *r = fb_run();
    int owner[FB_MAX_OUT];
    match_answers(r, n, owner);
    for (unsigned w = 0; w < r->n_writes; w++) {
        int o = r->writes[w].answer < r->n_out ? owner[r->writes[w].answer] : -1;
        if (o < 0) {
            check_write(&r->writes[w], 0, NULL, 0); /* written while no request was executing: fails */
            continue;
        }
        g_sent[o].wrote = true;
        check_write(&r->writes[w], g_sent[o].command, g_sent[o].p, g_sent[o].len);
    }
    /* a committed slot whose image a raw write touched is no longer vouched for (slots.h) */
    const qtd_slot_table_t *t = qtd_slots_table();
    for (unsigned w = 0; w < r->n_writes; w++) {
        const sent_t *s = &g_sent[owner[r->writes[w].answer]];
        for (uint8_t slot = 0;
             s->command != QTD_CMD_SLOT_COMMIT && s->command != QTD_CMD_SLOT_SELECT && slot < QTD_SLOT_COUNT;
             slot++) {
            const qtd_slot_layout_t *lay = &fb_board.slots[slot];
            bool touched = overlaps(r->writes[w].addr, r->writes[w].len, &lay->bitstream) ||
                           overlaps(r->writes[w].addr, r->writes[w].len, &lay->blob);
            bool recommitted = false;
            for (const sent_t *later = s + 1; later < g_sent + n; later++) {
                recommitted |= later->command == QTD_CMD_SLOT_COMMIT && later->wrote && later->p[0] == slot;
            }
            if (touched && !recommitted && t->slot[slot].state == QTD_SLOT_STATE_COMMITTED) {
                /* a RESET in the burst reloaded the table, and the load re-hashes every committed
                 * slot: a write outside the committed bytes leaves the image rightly vouched for */
                if (r->rebooted && image_intact(slot, &t->slot[slot])) {
                    continue;
                }
                fail("SLOT_INFO still vouches for a slot whose image was written", s->command, slot);
            }
        }
    }
    bool changed_by_request = false;
    for (unsigned i = 0; i < n; i++) {
        const sent_t *s = &g_sent[i];
        if (g_trace) {
            char extra[24] = "";
            if (s->command == QTD_CMD_POWER_BENCH && s->len >= 8) {
                snprintf(extra, sizeof extra, " N=%u", (unsigned)qtd_le32(s->p + 4));
            }
            fprintf(stderr, "fuzz_cmd: seq 0x%04x command 0x%02x len %u%s%s -> %s\n", s->seq, s->command,
                    s->len, extra, n > 1 ? " (burst)" : "",
                    s->answer ? qtd_status_name(s->answer->status) : "(no answer)");
        }
        bool ok = s->answer != NULL && s->answer->status == QTD_ST_OK && s->wrote;
        changed_by_request |= ok && (s->command == QTD_CMD_SLOT_COMMIT || s->command == QTD_CMD_SLOT_SELECT);
        if (s->answer != NULL && s->answer->status == QTD_ST_OK && s->command == QTD_CMD_STREAM_DATA &&
            s->len >= 8) {
            g.next_window = qtd_le32(s->p) + qtd_le16(s->p + 4);
        }
    }
    if (n == 1) {
        check_slots(g_sent[0].command, g_sent[0].p, g_sent[0].len, g_sent[0].answer, g_sent[0].wrote);
    } else if (!changed_by_request) {
        check_slots(0, NULL, 0, NULL, false);
    }
}

static void still_answers_hello(void) {
    uint8_t hello[4] = {QTD_LINK_PROTOCOL_VERSION, 8, 0x00, 0x10};
    rec_t rec = {QTD_CMD_HELLO, 0, 0, sizeof hello, hello, 0};
    prepare(&rec, &g_sent[0], false);
    burst(1, 0);
    const fb_frame_t *ans = g_sent[0].answer;
    if (ans == NULL || ans->status != QTD_ST_OK || ans->length < 36 ||
        ans->payload[0] != QTD_LINK_PROTOCOL_VERSION) {
        fail("the board no longer answers HELLO", QTD_CMD_HELLO, ans ? ans->status : 0xFFFFu);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    const char *base = getenv("QTD_FUZZ_BASE");
    if (base == NULL || !*base) {
        fprintf(stderr, "fuzz_cmd: QTD_FUZZ_BASE not set: starting from an erased flash (no active slot, "
                        "no model; run fuzz/make_base.py for the deep paths)\n");
    }
    g_trace = getenv("QTD_FUZZ_TRACE") != NULL;
    fb_setup(base);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fb_reset();
    memset(&g, 0, sizeof g);
    g.seq = 0x1000;
    g.max_payload = fb_board.max_payload;
    rec_t rec;
    size_t at = 0;
    while (rec_parse(data, size, at, &rec)) {
        unsigned idle = !(rec.ctl & REC_IDLE) ? 0u : rec.wire == WIRE_LONG_IDLE ? LONG_IDLE_STEPS : 1u;
        unsigned n = 0;
        bool reset_ahead = false;
        for (;;) { /* records flagged REC_BURST go out back to back with the ones after them */
            prepare(&rec, &g_sent[n++], reset_ahead);
            reset_ahead |= rec.command == QTD_CMD_RESET;
            at = rec.next;
            if (!(rec.ctl & REC_BURST) || n == FB_MAX_BURST || !rec_parse(data, size, at, &rec)) {
                break;
            }
        }
        burst(n, idle);
    }
    still_answers_hello();
    return 0;
}
