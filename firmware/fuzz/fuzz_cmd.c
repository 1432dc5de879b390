/* libFuzzer harness for everything a broken or hostile host can reach: each input is a sequence
 * of requests (fuzz_records.h), each wrapped in a valid frame (right seq, CRC, COBS) and fed
 * through the real receiver and dispatcher of the virtual board (fuzz_board.h), whose flash is
 * the NOR model in memory. The NOR model's rules and the FPGA bus rule stay armed: a rule broken
 * aborts. Checked after every request (abort on violation):
 *   - exactly one answer, echoing seq and command (silence for frames flagged RESPONSE/EVENT);
 *     only RESPONSE or EVENT frames, events only from STREAM_DATA / POWER_STREAM;
 *   - no frame longer than the negotiated max_payload; answers of cached (non re-run) commands
 *     fit LINK_DETAIL_MAX (link.md 5);
 *   - flash writes only inside the request's own range and never into the metadata or the active
 *     slot (FLASH_ERASE / FLASH_WRITE), only into the metadata (SLOT_COMMIT / SLOT_SELECT),
 *     nowhere for every other command, the boot and a reboot;
 *   - the active slot and its metadata entry unchanged, unless SLOT_COMMIT answered OK with
 *     hashes that match the flash (checked here on the array itself) or SLOT_SELECT answered OK;
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

#define IDLE_US 50000u

static bool g_trace; /* QTD_FUZZ_TRACE=1: one line per request on stderr (replaying an input) */

static struct {
    uint16_t seq;
    uint16_t max_payload; /* negotiated */
    uint32_t next_window; /* STREAM_DATA's next window_seq, for REC_FIXUP */
    uint8_t active;
    qtd_slot_entry_t entry; /* the active slot's entry */
} g;

static void fail(const char *what, uint8_t command, unsigned value) {
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
    } else if (command == QTD_CMD_INFER && len >= 4) {
        qtd_put_le16(p + 2, (uint16_t)(len - 4u));
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

static void check_writes(const fb_result_t *r, uint8_t command, const uint8_t *p, uint16_t len) {
    for (unsigned i = 0; i < r->n_writes; i++) {
        uint32_t a = r->writes[i].addr, n = r->writes[i].len;
        if (n == 0) {
            fail("status register written from the link", command, 0);
        }
        bool meta = overlaps(a, n, &fb_board.meta[0]) || overlaps(a, n, &fb_board.meta[1]);
        if (command == QTD_CMD_SLOT_COMMIT || command == QTD_CMD_SLOT_SELECT) {
            if (!inside(a, n, fb_board.meta[0].offset, fb_board.meta[0].size) &&
                !inside(a, n, fb_board.meta[1].offset, fb_board.meta[1].size)) {
                fail("slot record written outside the metadata copies", command, a);
            }
            continue;
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
        if (g.active < QTD_SLOT_COUNT && (overlaps(a, n, &fb_board.slots[g.active].bitstream) ||
                                          overlaps(a, n, &fb_board.slots[g.active].blob))) {
            fail("active slot written", command, a);
        }
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
        uint8_t sha[32];
        sha_of(lay->bitstream.offset, qtd_le32(p + 4), sha);
        if (memcmp(sha, p + 8, 32) != 0) {
            fail("SLOT_COMMIT accepted a bitstream hash that does not match", command, slot);
        }
        sha_of(lay->blob.offset, qtd_le32(p + 40), sha);
        if (memcmp(sha, p + 44, 32) != 0) {
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

static void check_frames(const fb_result_t *r, uint8_t command, uint16_t seq, bool expect_answer) {
    unsigned answers = 0;
    for (unsigned i = 0; i < r->n_out; i++) {
        const fb_frame_t *f = &r->out[i];
        bool resp = f->flags & QTD_FLAG_RESPONSE, ev = f->flags & QTD_FLAG_EVENT;
        if (resp == ev || f->status == 0xFFu) {
            fail("board frame is neither a response nor an event", f->command, f->flags);
        }
        if (f->length > g.max_payload) {
            fail("frame longer than the negotiated max_payload", f->command, f->length);
        }
        if (ev && f->command != QTD_CMD_STREAM_DATA && f->command != QTD_CMD_POWER_STREAM) {
            fail("event from a command that has none", f->command, f->flags);
        }
        if (!resp) {
            continue;
        }
        answers++;
        if (!expect_answer || f->seq != seq || f->command != command) {
            fail("an answer to a request that was not asked", f->command, f->seq);
        }
        const qtd_command_t *c = qtd_command_find(command);
        if ((c == NULL || !c->rerun) && f->length > QTD_LINK_DETAIL_MAX) {
            fail("a cached command's answer exceeds LINK_DETAIL_MAX", command, f->length);
        }
    }
    if (answers != (expect_answer ? 1u : 0u)) {
        fail("request not answered exactly once", command, answers);
    }
}

static const fb_frame_t *answer_of(const fb_result_t *r) {
    for (unsigned i = 0; i < r->n_out; i++) {
        if (r->out[i].flags & QTD_FLAG_RESPONSE) {
            return &r->out[i];
        }
    }
    return NULL;
}

/* ---- one request -------------------------------------------------------------------------- */
static const fb_frame_t *request(const rec_t *rec) {
    static uint8_t p[REC_MAX_LEN];
    uint16_t len = rec->length;
    memcpy(p, rec->payload, len);
    uint8_t flags = rec->ctl & REC_WIRE;
    if (rec->ctl & REC_FIXUP) {
        len = fixup(rec->command, flags, p, len);
    }
    if (rec->ctl & REC_IDLE) {
        snapshot();
        const fb_result_t *r = fb_idle(IDLE_US);
        check_frames(r, 0, 0, false);
        check_writes(r, 0, NULL, 0);
        check_slots(0, NULL, 0, NULL, false);
    }
    if (!(rec->ctl & (REC_SAME_SEQ | QTD_FLAG_RETRY))) {
        g.seq++;
    }
    snapshot();
    const fb_result_t *r = fb_exchange(flags, g.seq, rec->command, p, len);
    bool expect = !(flags & (QTD_FLAG_RESPONSE | QTD_FLAG_EVENT));
    const fb_frame_t *ans = answer_of(r);
    if (ans != NULL && rec->command == QTD_CMD_HELLO && ans->status == QTD_ST_OK && ans->length >= 36) {
        g.max_payload = qtd_le16(ans->payload + 20); /* HELLO's own answer is held to the new size */
    }
    if (r->rebooted) {
        g.max_payload = fb_board.max_payload;
    }
    if (g_trace) {
        fprintf(stderr, "fuzz_cmd: seq 0x%04x command 0x%02x len %u -> %s, %u frame(s), %u flash write(s)\n",
                g.seq, rec->command, len, ans ? qtd_status_name(ans->status) : "(silence)", r->n_out,
                r->n_writes);
    }
    check_frames(r, rec->command, g.seq, expect);
    check_writes(r, rec->command, p, len);
    check_slots(rec->command, p, len, ans, r->n_writes > 0);
    if (ans != NULL && ans->status == QTD_ST_OK) {
        if (rec->command == QTD_CMD_STREAM_START) {
            g.next_window = 0;
        } else if (rec->command == QTD_CMD_STREAM_DATA && len >= 8) {
            g.next_window = qtd_le32(p) + qtd_le16(p + 4);
        }
    }
    return ans;
}

static void still_answers_hello(void) {
    uint8_t hello[4] = {QTD_LINK_PROTOCOL_VERSION, 8, 0x00, 0x10};
    rec_t rec = {QTD_CMD_HELLO, 0, sizeof hello, hello, 0};
    const fb_frame_t *ans = request(&rec);
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
    for (size_t at = 0; rec_parse(data, size, at, &rec); at = rec.next) {
        request(&rec);
    }
    still_answers_hello();
    return 0;
}
