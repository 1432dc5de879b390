/* See fuzz_board.h. The HAL pieces the pty board takes from uart_pty.c and posix_time.c are
 * here instead (UART, time); everything else is hal/posix as the virtual board links it. */
#define _DEFAULT_SOURCE
#include "fuzz_board.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board_posix.h"
#include "hal.h"
#include "qtd/app.h"
#include "qtd/board_config.h"
#include "fuzz_records.h"
#include "qtd/cobs.h"
#include "qtd/crc32.h"
#include "qtd/le.h"
#include "qtd/model.h"
#include "qtd/sha256.h"
#include "qtd/slots.h"

#define OUT_CAP     (64u * (QTD_LINK_MAX_ENCODED + 1u)) /* bytes: events are short */
#define JUNK_ROOM   16u
#define IDLE_POLLS  6u   /* polls after a request is read: queued stream windows run here */
#define POLL_STEP   200u /* virtual microseconds per idle poll */
#define MAX_SECTORS 4096u

const qtd_board_t fb_board = QTD_BOARD_INIT;

static uint8_t *g_flash, *g_base;
static uint8_t g_dirty[MAX_SECTORS];
static uint16_t g_dirty_list[MAX_SECTORS]; /* the sectors marked in g_dirty, in the order written */
static unsigned g_n_dirty;
static uint8_t g_arena[QTD_MODEL_ARENA_SIZE];
static uint64_t g_now;
static uint8_t g_in[FB_MAX_BURST * (QTD_LINK_MAX_ENCODED + 1u + JUNK_ROOM)];
static size_t g_in_len, g_in_pos;
static uint8_t g_out[OUT_CAP];
static size_t g_out_len;
static bool g_out_overflow;
static bool g_trace_baud; /* QTD_FUZZ_TRACE: each rate change on stderr (the replay test reads them) */
static fb_result_t g_res;
static size_t g_write_at[FB_MAX_WRITES]; /* output offset when each write happened */

static void on_violation(const char *msg) {
    fprintf(stderr, "fuzz_cmd: hardware rule broken: %s\n", msg);
    abort();
}

static void on_write(nor_model_t *m, uint32_t addr, uint32_t len) {
    (void)m;
    if (g_res.n_writes < FB_MAX_WRITES) {
        g_write_at[g_res.n_writes] = g_out_len;
        g_res.writes[g_res.n_writes++] = (fb_write_t){addr, len, qtd_slots_table()->active, FB_MAX_OUT};
    }
    for (uint32_t s = addr / fb_board.sector_size; len != 0 && s <= (addr + len - 1u) / fb_board.sector_size;
         s++) {
        uint32_t d = s < MAX_SECTORS ? s : MAX_SECTORS - 1u;
        if (!g_dirty[d]) {
            g_dirty[d] = 1;
            g_dirty_list[g_n_dirty++] = (uint16_t)d;
        }
    }
}

/* ---- HAL: time and UART ------------------------------------------------------------------- */
uint64_t hal_time_us(void) {
    return ++g_now; /* every look at the clock costs a microsecond: busy-waits end */
}
void hal_delay_us(uint32_t us) {
    g_now += us;
}
void hal_wake_by(uint64_t t_us) {
    (void)t_us;
}
bool hal_uart_set_baud(uint32_t baud) {
    static uint32_t last;
    if (g_trace_baud && baud != last) {
        fprintf(stderr, "fuzz_cmd: UART at %u baud\n", (unsigned)baud);
    }
    last = baud;
    return baud != 0;
}
size_t hal_uart_read(uint8_t *buf, size_t cap) {
    size_t n = g_in_len - g_in_pos < cap ? g_in_len - g_in_pos : cap;
    memcpy(buf, g_in + g_in_pos, n);
    g_in_pos += n;
    return n;
}
void hal_uart_write(const uint8_t *buf, size_t len) {
    if (len > OUT_CAP - g_out_len) {
        g_out_overflow = true;
        return;
    }
    memcpy(g_out + g_out_len, buf, len);
    g_out_len += len;
}

/* ---- lifecycle ---------------------------------------------------------------------------- */
/* Not a memset: out[] and writes[] are filled before they are read (15 KB per exchange). */
static void clear_result(void) {
    g_res.n_out = g_res.n_writes = 0;
    g_res.rebooted = false;
}

static void power_on(void) {
    board_posix_options_t opt = {NULL,
                                 0,
                                 0.1, /* flash busy and configuration times, in virtual microseconds */
                                 false,
                                 QTD_BOARD_PAGE_PROGRAM_TYP_US,
                                 QTD_BOARD_SECTOR_ERASE_TYP_US,
                                 QTD_BOARD_FPGA_CONFIG_BITS_PER_S,
                                 g_flash,
                                 on_violation};
    g_now = 1000;
    if (!board_posix_init(&opt, &fb_board)) {
        abort();
    }
    board_posix_nor()->on_write = on_write;
    qtd_model_set_arena(g_arena, sizeof g_arena);
    clear_result();
    qtd_status_t st = qtd_app_init(&fb_board);
    if (st != QTD_ST_OK) {
        fprintf(stderr, "fuzz_cmd: boot failed: %s\n", qtd_status_name(st));
        abort();
    }
    if (g_res.n_writes != 0) {
        fprintf(stderr, "fuzz_cmd: invariant: the boot wrote to the flash at 0x%08x\n", g_res.writes[0].addr);
        abort();
    }
}

/* Split g_out into frames (the board must only ever send well-formed ones). */
static void collect(void) {
    if (g_out_overflow) {
        fprintf(stderr, "fuzz_cmd: invariant: more than %u bytes of output for one exchange\n",
                (unsigned)OUT_CAP);
        abort();
    }
    size_t start = 0;
    unsigned w = 0;
    for (size_t i = 0; i < g_out_len; i++) {
        if (g_out[i] != 0) {
            continue;
        }
        qtd_frame_t f;
        if (g_res.n_out >= FB_MAX_OUT) {
            fprintf(stderr, "fuzz_cmd: invariant: more than %u frames for one exchange\n", FB_MAX_OUT);
            abort();
        }
        qtd_frame_err_t err =
            i == start ? QTD_FRAME_ERR_SHORT : qtd_frame_decode(g_out + start, i - start, &f);
        if (err != QTD_FRAME_OK) {
            fprintf(stderr, "fuzz_cmd: invariant: the board sent a malformed frame (%d, %zu bytes)\n",
                    (int)err, i - start);
            abort();
        }
        if (f.flags & QTD_FLAG_RESPONSE) { /* the writes before this answer were its request's */
            for (; w < g_res.n_writes && g_write_at[w] <= start; w++) {
                g_res.writes[w].answer = g_res.n_out;
            }
        }
        g_res.out[g_res.n_out++] = (fb_frame_t){f.flags, f.command, f.status, f.seq, f.length, f.payload};
        start = i + 1;
    }
    if (start != g_out_len) {
        fprintf(stderr, "fuzz_cmd: invariant: a frame without its delimiter\n");
        abort();
    }
}

static void run(unsigned idle_polls, uint32_t step_us) {
    unsigned idle = 0;
    while (g_in_pos < g_in_len || idle < idle_polls) {
        if (g_in_pos >= g_in_len) {
            idle++;
            g_now += step_us;
        }
        if (!qtd_app_poll()) {
            hal_system_reset(); /* as main.c: the RESET answer is out; reboot with RAM lost */
            g_res.rebooted = true;
            unsigned before = g_res.n_writes;
            if (qtd_app_init(&fb_board) != QTD_ST_OK || g_res.n_writes != before) {
                fprintf(stderr, "fuzz_cmd: reboot after RESET failed or wrote to the flash\n");
                abort();
            }
        }
    }
    collect();
}

static void begin(void) {
    clear_result();
    g_out_len = 0;
    g_out_overflow = false;
    g_in_len = g_in_pos = 0;
}

void fb_begin(void) {
    begin();
}

void fb_queue(uint8_t flags, uint16_t seq, uint8_t command, const uint8_t *payload, uint16_t length,
              uint8_t wire) {
    static uint8_t raw[QTD_FRAME_MAX_RAW];
    static const uint8_t junk[] = {0x03, 0x01, 0x7F, 0xFF, 0x02, 0x10, 0x55, 0xAA, 0x01};
    uint8_t version = QTD_LINK_PROTOCOL_VERSION;
    if (wire & WIRE_VERSION) {
        version = (uint8_t)(QTD_LINK_PROTOCOL_VERSION + 1u + (wire >> 4));
    }
    uint8_t status = (wire & WIRE_STATUS) ? wire : 0;
    qtd_frame_t f = {version, flags, seq, command, status, length, payload};
    size_t n = qtd_frame_build(&f, raw, sizeof raw);
    if (n != 0 && (wire & WIRE_LENGTH)) { /* a header that lies about the length, under a good CRC */
        qtd_put_le16(raw + 6, (uint16_t)(length + 1u + ((wire >> 4) & 7u)));
        qtd_put_le32(raw + n - QTD_LINK_CRC_SIZE, qtd_crc32(0, raw, n - QTD_LINK_CRC_SIZE));
    }
    if ((wire & WIRE_JUNK) && sizeof g_in - g_in_len > sizeof junk + 1u) {
        memcpy(g_in + g_in_len, junk, sizeof junk);
        g_in[g_in_len + sizeof junk] = QTD_LINK_DELIMITER;
        g_in_len += sizeof junk + 1u;
    }
    size_t room = sizeof g_in - g_in_len;
    size_t e = n && room > QTD_LINK_MAX_ENCODED ? qtd_cobs_encode(raw, n, g_in + g_in_len, room - 1u) : 0;
    if (e == 0) {
        abort(); /* the harness builds only frames the link allows, at most FB_MAX_BURST */
    }
    g_in[g_in_len + e] = QTD_LINK_DELIMITER;
    g_in_len += e + 1u;
}

const fb_result_t *fb_run(void) {
    run(IDLE_POLLS, POLL_STEP);
    return &g_res;
}

const fb_result_t *fb_exchange(uint8_t flags, uint16_t seq, uint8_t command, const uint8_t *payload,
                               uint16_t length) {
    fb_begin();
    fb_queue(flags, seq, command, payload, length, 0);
    return fb_run();
}

const fb_result_t *fb_idle(uint32_t us) {
    begin();
    run(us / 1000u + 1u, 1000u);
    return &g_res;
}

const uint8_t *fb_flash(void) {
    return g_flash;
}

void fb_reset(void) {
    for (unsigned i = 0; i < g_n_dirty; i++) {
        uint32_t at = g_dirty_list[i] * fb_board.sector_size;
        memcpy(g_flash + at, g_base + at, fb_board.sector_size);
        g_dirty[g_dirty_list[i]] = 0;
    }
    g_n_dirty = 0;
    power_on();
}

/* ---- the base image, written through the link as a host would ----------------------------- */
static uint8_t *read_file(const char *dir, const char *name, uint32_t *len) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "fuzz_cmd: cannot open %s\n", path);
        abort();
    }
    static uint8_t buf[2][1u << 20];
    static unsigned which;
    uint8_t *out = buf[which++ & 1u];
    *len = (uint32_t)fread(out, 1, sizeof buf[0], f);
    fclose(f);
    return out;
}

static uint16_t g_seq = 0x4000;

static void must(uint8_t command, const uint8_t *payload, uint16_t length) {
    const fb_result_t *r = fb_exchange(0, g_seq, command, payload, length);
    if (r->n_out != 1 || r->out[0].status != QTD_ST_OK || r->out[0].seq != g_seq) {
        fprintf(stderr, "fuzz_cmd: base image: command 0x%02x not answered OK (status 0x%02x)\n", command,
                r->n_out ? r->out[0].status : 0xFFu);
        abort();
    }
    g_seq++;
}

static void write_region(const qtd_region_t *r, const uint8_t *data, uint32_t len, uint8_t sha[32]) {
    uint8_t req[12 + 4096];
    uint32_t sector = fb_board.sector_size;
    for (uint32_t off = 0; off < len; off += sector) {
        qtd_put_le32(req, r->offset + off);
        qtd_put_le32(req + 4, sector);
        must(QTD_CMD_FLASH_ERASE, req, 8);
    }
    for (uint32_t off = 0; off < len;) {
        uint32_t n = len - off < 2048u ? len - off : 2048u;
        memset(req, 0, 12);
        qtd_put_le32(req, r->offset + off);
        qtd_put_le32(req + 4, n);
        memcpy(req + 12, data + off, n);
        must(QTD_CMD_FLASH_WRITE, req, (uint16_t)(12u + n));
        off += n;
    }
    qtd_sha256_t s;
    qtd_sha256_init(&s);
    qtd_sha256_update(&s, data, len);
    qtd_sha256_final(&s, sha);
}

void fb_setup(const char *base_dir) {
    g_trace_baud = getenv("QTD_FUZZ_TRACE") != NULL;
    g_flash = malloc(fb_board.flash_size);
    g_base = malloc(fb_board.flash_size);
    if (g_flash == NULL || g_base == NULL || fb_board.flash_size / fb_board.sector_size > MAX_SECTORS) {
        abort();
    }
    memset(g_flash, 0xFF, fb_board.flash_size);
    power_on();
    if (base_dir != NULL && *base_dir) {
        uint32_t bit_len, blob_len;
        const uint8_t *bit = read_file(base_dir, "bitstream.bin", &bit_len);
        const uint8_t *blob = read_file(base_dir, "model.qtb", &blob_len);
        uint8_t hello[4] = {QTD_LINK_PROTOCOL_VERSION, 8, 0, 0x10};
        must(QTD_CMD_HELLO, hello, 4);
        uint8_t commit[76] = {QTD_SLOT_A, 0x01};
        write_region(&fb_board.slots[0].bitstream, bit, bit_len, commit + 8);
        write_region(&fb_board.slots[0].blob, blob, blob_len, commit + 44);
        qtd_put_le32(commit + 4, bit_len);
        qtd_put_le32(commit + 40, blob_len);
        must(QTD_CMD_SLOT_COMMIT, commit, sizeof commit);
    }
    memcpy(g_base, g_flash, fb_board.flash_size);
    memset(g_dirty, 0, sizeof g_dirty);
    g_n_dirty = 0;
    power_on();
}
