/* POWER_BENCH (link.md 7.24): N inferences back to back on the board, with no host in the loop,
 * and the PAC193x energy of that burst beside an idle span of about the same length just before.
 *
 * Why: a single inference (about 0.1 ms on the accelerator) is far shorter than one monitor
 * conversion (1/1024 s), and a host round trip around it measures the USB link, not the model.
 * A burst of N inferences lasts long enough for the accumulators to resolve; subtracting the idle
 * power measured just before (over the burst's own length) leaves the energy the inferences added.
 *
 * Order: CALIBRATION inferences (not measured) estimate the burst's length; a burst estimated
 * longer than BENCH_MAX_SPAN_US is refused (BENCH_LIMIT), so the request is answered within a
 * bounded time and nothing keeps running after the answer. Then REFRESH (t0), idle for the
 * estimate, REFRESH (t1), the burst, REFRESH (t2). Each window's energy is the difference of the
 * driver's running totals (cmd_power.c); the host divides by the windows' own lengths. */
#include <string.h>

#include "hal.h"
#include "qtd/commands.h"
#include "qtd/crc32.h"
#include "qtd/infer.h"
#include "qtd/le.h"
#include "qtd/power.h"
#include "qtd/protocol.h"

#define BENCH_REQ_HEADER 8u
#define BENCH_REP_HEADER 56u
#define BENCH_RAIL_SIZE  20u
#define IDLE_CHUNK_US    100000u /* the idle span is slept in pieces: hal_delay_us takes a u32 */

static void put_le64(uint8_t *p, uint64_t v) {
    qtd_put_le32(p, (uint32_t)v);
    qtd_put_le32(p + 4, (uint32_t)(v >> 32));
}

typedef struct {
    uint64_t busy_us; /* sum of t_end - t_start */
    uint32_t min_us, max_us, cycles, crc;
} burst_t;

/* n inferences of window x; stops at the first error (the engine is idle again when it returns). */
static qtd_status_t run_burst(uint8_t engine, const int8_t *x, uint32_t n, burst_t *b, const char **why) {
    memset(b, 0, sizeof *b);
    b->min_us = 0xFFFFFFFFu;
    qtd_infer_result_t r;
    for (uint32_t i = 0; i < n; i++) {
        qtd_status_t st = qtd_infer_run(engine, x, &r, why);
        if (st != QTD_ST_OK)
            return st;
        uint64_t d = r.t_end_us - r.t_start_us;
        uint32_t d32 = d > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)d;
        b->busy_us += d;
        b->min_us = d32 < b->min_us ? d32 : b->min_us;
        b->max_us = d32 > b->max_us ? d32 : b->max_us;
        b->cycles = r.accel_cycles;
    }
    uint8_t y[4u * QTD_KERNEL_MAX_HORIZON];
    for (unsigned h = 0; h < r.out_count; h++)
        qtd_put_le32(y + 4u * h, (uint32_t)r.y[h]);
    b->crc = qtd_crc32(0, y, 4u * r.out_count);
    return QTD_ST_OK;
}

static void idle_for(uint64_t us) {
    while (us > 0) {
        uint32_t step = us > IDLE_CHUNK_US ? IDLE_CHUNK_US : (uint32_t)us;
        hal_delay_us(step);
        us -= step;
    }
}

qtd_status_t qtd_cmd_power_bench(const qtd_frame_t *req, qtd_reply_t *rep) {
    if (req->length < BENCH_REQ_HEADER)
        return qtd_fail(rep, QTD_ST_BAD_LENGTH, "PowerBenchRequest is 8 + count bytes, got", req->length, 1);
    const uint8_t *p = req->payload;
    uint8_t engine = p[0];
    uint16_t count = qtd_le16(p + 2);
    uint32_t n = qtd_le32(p + 4);
    if (n == 0 || n > QTD_BENCH_MAX_INFERENCES)
        return qtd_fail(rep, QTD_ST_BENCH_LIMIT, "inferences must be 1..", QTD_BENCH_MAX_INFERENCES, 1);
    if (qtd_power_streaming())
        return qtd_fail(rep, QTD_ST_BUSY, "a power stream is running; stop it before POWER_BENCH", 0, 0);
    unsigned rails = qtd_power_rail_count();
    if (rails == 0)
        return qtd_fail(rep, QTD_ST_NO_POWER_MONITOR, "this board file has no power monitor or rail", 0, 0);
    if (BENCH_REP_HEADER + BENCH_RAIL_SIZE * rails > rep->cap)
        return qtd_fail(rep, QTD_ST_BAD_LENGTH, "BenchReport does not fit the negotiated payload", rails, 1);
    const char *why = "";
    uint16_t n_in, n_out;
    qtd_status_t st = qtd_infer_ready(engine, &n_in, &n_out, &why);
    if (st != QTD_ST_OK)
        return qtd_fail(rep, st, why, engine, 1);
    if (count != n_in || req->length != BENCH_REQ_HEADER + count)
        return qtd_fail(rep, QTD_ST_BAD_LENGTH, "count must equal the model's in_count", n_in, 1);
    const int8_t *x = (const int8_t *)(p + BENCH_REQ_HEADER);

    /* the burst's length, from a few inferences first: refused before anything is measured */
    burst_t b;
    uint64_t c0 = hal_time_us();
    if ((st = run_burst(engine, x, QTD_BENCH_CALIBRATION, &b, &why)) != QTD_ST_OK)
        return qtd_fail(rep, st, why, 0, 0);
    uint64_t per_us = (hal_time_us() - c0 + QTD_BENCH_CALIBRATION - 1u) / QTD_BENCH_CALIBRATION;
    uint64_t span_us = per_us * n;
    if (span_us > QTD_BENCH_MAX_SPAN_US) {
        uint64_t most = per_us ? QTD_BENCH_MAX_SPAN_US / per_us : QTD_BENCH_MAX_INFERENCES;
        return qtd_fail(rep, QTD_ST_BENCH_LIMIT, "burst would exceed 5 s; at most inferences", (uint32_t)most,
                        1);
    }

    static int64_t nj[3][QTD_MAX_RAILS];
    uint64_t t[3];
    if ((st = qtd_power_snapshot(rep, &t[0], nj[0])) != QTD_ST_OK)
        return st;
    idle_for(span_us);
    if ((st = qtd_power_snapshot(rep, &t[1], nj[1])) != QTD_ST_OK)
        return st;
    if ((st = run_burst(engine, x, n, &b, &why)) != QTD_ST_OK)
        return qtd_fail(rep, st, why, 0, 0);
    if ((st = qtd_power_snapshot(rep, &t[2], nj[2])) != QTD_ST_OK)
        return st;

    uint8_t *o = rep->payload;
    memset(o, 0, BENCH_REP_HEADER);
    o[0] = engine;
    o[1] = (uint8_t)rails;
    qtd_put_le32(o + 4, n);
    qtd_put_le32(o + 8, b.cycles);
    qtd_put_le32(o + 12, b.crc);
    put_le64(o + 16, t[0]);
    put_le64(o + 24, t[1]);
    put_le64(o + 32, t[2]);
    put_le64(o + 40, b.busy_us);
    qtd_put_le32(o + 48, b.min_us);
    qtd_put_le32(o + 52, b.max_us);
    uint16_t len = BENCH_REP_HEADER;
    for (unsigned r = 0; r < rails; r++, len = (uint16_t)(len + BENCH_RAIL_SIZE)) {
        memset(o + len, 0, BENCH_RAIL_SIZE);
        o[len] = (uint8_t)r;
        put_le64(o + len + 4, (uint64_t)(nj[1][r] - nj[0][r]));
        put_le64(o + len + 12, (uint64_t)(nj[2][r] - nj[1][r]));
    }
    rep->len = len;
    return QTD_ST_OK;
}
