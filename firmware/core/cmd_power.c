/* POWER_READ / POWER_STREAM / POWER_ENERGY / POWER_MARK (link.md 7.20-7.23) over the board's
 * PAC193x monitors (qtd/pac193x.h), and the poll that keeps their energy current (qtd/power.h).
 *
 * Energy is the driver's running total per channel (energy_nj, folded at every REFRESH with the
 * rate of the latched window), so a marker is a snapshot of those totals and POWER_ENERGY is a
 * subtraction: nothing is lost between requests, whatever ran in between.
 *
 * A stream sample's power is the mean over the interval since the previous sample, taken from
 * those totals (energy difference / time difference), and its current is that power over the
 * bus voltage. Why not the chip's instantaneous VPOWER: a host that integrates the samples then
 * gets exactly the board's accumulated energy at any sample rate, so a slow field log still
 * counts every short inference between two samples. POWER_READ answers the instantaneous
 * values (the last conversion), as link.md 7.20 says. */
#include "qtd/power.h"

#include <string.h>

#include "hal.h"
#include "qtd/app.h"
#include "qtd/commands.h"
#include "qtd/le.h"
#include "qtd/pac193x.h"

#define SAMPLE_HEADER    12u
#define READING_SIZE     12u
#define EVENT_HEADER     8u
#define STREAM_SIZE      8u
#define MARK_SIZE        12u
#define REPORT_HEADER    24u
#define RAIL_ENERGY_SIZE 12u
#define FLAG_INVALID     0x01u
/* link.md 7.21 caps rate_hz at the PAC rate; a sample also needs the 1 ms REFRESH wait plus a
 * poll, so the firmware grants at most this many. */
#define GRANT_MAX_HZ 500u

typedef struct {
    uint32_t id; /* 0: free */
    uint64_t t_us;
    int64_t nj[QTD_MAX_RAILS];
} marker_t;

static struct {
    const qtd_board_t *board;
    qtd_pac_t pac[QTD_MAX_MONITORS];
    bool ok[QTD_MAX_MONITORS];
    qtd_pac_block_t blk[QTD_MAX_MONITORS]; /* last block read, for the instantaneous values */
    bool refreshing;                       /* REFRESH sent, blocks not collected yet */
    uint64_t refresh_us, next_us, boot_us;
    /* stream */
    bool streaming;
    uint16_t rate_hz;
    uint32_t mask, period_us, sample_seq, batch_first;
    uint8_t batch_n;
    uint16_t batch_len;
    uint64_t batch_t0, last_t;
    uint64_t last_n_mon[QTD_MAX_MONITORS]; /* each monitor's conversion count at the previous sample */
    int64_t last_nj[QTD_MAX_RAILS];
    /* markers */
    marker_t mark[QTD_POWER_MARKERS];
    uint32_t next_marker;
} g;

static uint8_t g_batch[QTD_POWER_BATCH_BYTES];

static void put_le64(uint8_t *p, uint64_t v) {
    qtd_put_le32(p, (uint32_t)v);
    qtd_put_le32(p + 4, (uint32_t)(v >> 32));
}

static unsigned rail_count(void) {
    return g.board == NULL ? 0u : g.board->rail_count < QTD_MAX_RAILS ? g.board->rail_count : QTD_MAX_RAILS;
}

static unsigned monitor_count(void) {
    return g.board == NULL                             ? 0u
           : g.board->monitor_count < QTD_MAX_MONITORS ? g.board->monitor_count
                                                       : QTD_MAX_MONITORS;
}

static int64_t rail_nj(unsigned r) {
    const qtd_rail_t *rl = &g.board->rails[r];
    return g.pac[rl->monitor].energy_nj[rl->channel];
}

/* (Re)initialise monitor m; a monitor that comes back keeps its energy totals. */
static bool init_monitor(unsigned m) {
    qtd_pac_t *pac = &g.pac[m];
    int64_t keep[QTD_PAC_CHANNELS];
    uint64_t keep_n = pac->samples;
    memcpy(keep, pac->energy_nj, sizeof keep);
    memset(pac, 0, sizeof *pac);
    pac->addr7 = g.board->monitors[m].addr7;
    for (unsigned r = 0; r < rail_count(); r++) {
        const qtd_rail_t *rl = &g.board->rails[r];
        if (rl->monitor == m && rl->channel < QTD_PAC_CHANNELS)
            pac->shunt_uohm[rl->channel] = rl->shunt_uohm;
    }
    g.ok[m] = qtd_pac_init(pac, QTD_POWER_PAC_RATE) == QTD_PAC_OK;
    for (unsigned ch = 0; ch < QTD_PAC_CHANNELS; ch++)
        pac->energy_nj[ch] += keep[ch];
    pac->samples += keep_n; /* stream samples divide by the conversions counted since the last */
    return g.ok[m];
}

void qtd_power_init(const qtd_board_t *board) {
    memset(&g, 0, sizeof g);
    g.board = board;
    g.next_marker = 1;
    g.boot_us = hal_time_us();
    for (unsigned m = 0; m < monitor_count(); m++)
        init_monitor(m);
    g.next_us = hal_time_us() + QTD_POWER_KEEPALIVE_US;
}

static void refresh_all(void) {
    g.refresh_us = hal_time_us();
    for (unsigned m = 0; m < monitor_count(); m++)
        if (g.ok[m] && qtd_pac_refresh(&g.pac[m], true) != QTD_PAC_OK)
            g.ok[m] = false;
    g.refreshing = true;
}

static void collect_all(void) {
    for (unsigned m = 0; m < monitor_count(); m++)
        if (g.ok[m] && qtd_pac_collect(&g.pac[m], &g.blk[m]) != QTD_PAC_OK)
            g.ok[m] = false;
    g.refreshing = false;
}

static void take_sample(void);

/* A REFRESH of every monitor now, waited for: what the request handlers answer from. A stream
 * sample whose REFRESH is pending is completed first (else requests arriving faster than the
 * 1 ms wait would starve the stream); it may send a PowerEvent, so handlers call this before
 * they write their reply payload (qtd/app.h). */
static void sync_update(void) {
    if (g.refreshing) {
        uint64_t ready = g.refresh_us + QTD_PAC_REFRESH_WAIT_US, now = hal_time_us();
        if (now < ready)
            hal_delay_us((uint32_t)(ready - now));
        collect_all();
        if (g.streaming)
            take_sample();
    }
    refresh_all();
    hal_delay_us(QTD_PAC_REFRESH_WAIT_US);
    collect_all();
}

static uint32_t resolve_mask(uint32_t mask) {
    uint32_t all = rail_count() >= 32u ? 0xFFFFFFFFu : (1u << rail_count()) - 1u;
    return mask == 0 ? all : mask;
}

/* SENSOR_ERROR unless every rail of mask is known and on a monitor that answers (a monitor that
 * did not answer is tried once more first: it may have been powered up since). */
static qtd_status_t check_rails(uint32_t mask, qtd_reply_t *rep) {
    if (rail_count() == 0)
        return qtd_fail(rep, QTD_ST_SENSOR_ERROR, "this board file has no power rails", 0, 0);
    if (mask & ~resolve_mask(0))
        return qtd_fail(rep, QTD_ST_BAD_ARGUMENT, "rail_mask names rails the board lacks", mask, 1);
    for (unsigned r = 0; r < rail_count(); r++) {
        unsigned m = g.board->rails[r].monitor;
        if ((mask & (1u << r)) && !g.ok[m] && !init_monitor(m))
            return qtd_fail(rep, QTD_ST_SENSOR_ERROR, "power monitor does not answer on I2C at address",
                            g.pac[m].addr7, 1);
    }
    return QTD_ST_OK;
}

/* One RailReading: the instantaneous values of rail r from the last block. */
static uint16_t put_reading(uint8_t *p, unsigned r) {
    const qtd_rail_t *rl = &g.board->rails[r];
    qtd_pac_reading_t v = qtd_pac_reading(&g.pac[rl->monitor], &g.blk[rl->monitor], rl->channel);
    p[0] = (uint8_t)r;
    p[1] = (uint8_t)((v.saturated || !g.ok[rl->monitor]) ? FLAG_INVALID : 0u);
    qtd_put_le16(p + 2, v.bus_mv);
    qtd_put_le32(p + 4, (uint32_t)v.current_ua);
    qtd_put_le32(p + 8, (uint32_t)v.power_uw);
    return READING_SIZE;
}

static uint16_t put_sample_header(uint8_t *p, uint64_t t_us, unsigned n) {
    put_le64(p, t_us);
    p[8] = (uint8_t)n;
    p[9] = p[10] = p[11] = 0;
    return SAMPLE_HEADER;
}

static unsigned popcount(uint32_t x) {
    unsigned n = 0;
    for (; x; x &= x - 1u)
        n++;
    return n;
}

qtd_status_t qtd_cmd_power_read(const qtd_frame_t *req, qtd_reply_t *rep) {
    if (req->length != 4)
        return qtd_fail(rep, QTD_ST_BAD_LENGTH, "PowerRead is 4 bytes, got", req->length, 1);
    uint32_t mask = resolve_mask(qtd_le32(req->payload));
    qtd_status_t st = check_rails(mask, rep);
    if (st != QTD_ST_OK)
        return st;
    sync_update();
    uint8_t *p = rep->payload;
    uint16_t len = put_sample_header(p, g.refresh_us, popcount(mask));
    for (unsigned r = 0; r < rail_count(); r++)
        if (mask & (1u << r))
            len = (uint16_t)(len + put_reading(p + len, r));
    rep->len = len;
    return QTD_ST_OK;
}

/* ---- stream ---------------------------------------------------------------------------- */

static uint16_t sample_size(void) {
    return (uint16_t)(SAMPLE_HEADER + READING_SIZE * popcount(g.mask));
}

static uint16_t batch_cap(void) {
    uint16_t cap = (uint16_t)(qtd_link.max_payload - EVENT_HEADER);
    return cap < QTD_POWER_BATCH_BYTES ? cap : (uint16_t)QTD_POWER_BATCH_BYTES;
}

static void flush_batch(void) {
    if (g.batch_n == 0)
        return;
    uint8_t *p = qtd_app_event_payload();
    qtd_put_le32(p, g.batch_first);
    p[4] = g.batch_n;
    p[5] = p[6] = p[7] = 0;
    memcpy(p + EVENT_HEADER, g_batch, g.batch_len);
    qtd_app_send_event(QTD_CMD_POWER_STREAM, QTD_ST_OK, (uint16_t)(EVENT_HEADER + g.batch_len));
    g.batch_n = 0;
    g.batch_len = 0;
}

static void baseline(void) {
    g.last_t = g.refresh_us;
    for (unsigned m = 0; m < monitor_count(); m++)
        g.last_n_mon[m] = g.pac[m].samples;
    for (unsigned r = 0; r < rail_count(); r++)
        g.last_nj[r] = rail_nj(r);
}

/* One stream sample at the last REFRESH: mean power since the previous sample per rail. */
static void take_sample(void) {
    uint64_t dt = g.refresh_us - g.last_t;
    if (dt == 0)
        return;
    if (g.batch_len + sample_size() > batch_cap() || g.batch_n == 255u)
        flush_batch();
    if (g.batch_n == 0) {
        g.batch_first = g.sample_seq;
        g.batch_t0 = g.refresh_us;
    }
    uint8_t *p = g_batch + g.batch_len;
    uint16_t len = put_sample_header(p, g.refresh_us, popcount(g.mask));
    for (unsigned r = 0; r < rail_count(); r++) {
        if (!(g.mask & (1u << r)))
            continue;
        const qtd_rail_t *rl = &g.board->rails[r];
        int64_t nj = rail_nj(r);
        /* the mean over the conversions in the window: energy x rate / conversions (nJ x 1/s
         * = nW). Dividing by the wall time instead would make each sample jitter by one
         * conversion in ten at 100 samples/s; the sum over samples is the same either way. */
        const qtd_pac_t *pac = &g.pac[rl->monitor];
        uint64_t n = pac->samples - g.last_n_mon[rl->monitor];
        uint8_t *rd = p + len;
        len = (uint16_t)(len + put_reading(rd, r)); /* instantaneous, kept if no conversion ran */
        uint16_t mv = qtd_le16(rd + 2);
        if (n > 0 && g.ok[rl->monitor]) {
            int64_t uw = (nj - g.last_nj[r]) * (int64_t)pac->rate_sps / (int64_t)n / 1000;
            qtd_put_le32(rd + 4, (uint32_t)(int32_t)(mv ? uw * 1000 / mv : 0));
            qtd_put_le32(rd + 8, (uint32_t)(int32_t)uw);
        }
    }
    g.batch_len = (uint16_t)(g.batch_len + len);
    g.batch_n++;
    g.sample_seq++;
    baseline();
}

void qtd_power_stream_reset(void) {
    g.streaming = false;
    g.batch_n = 0;
    g.batch_len = 0;
    g.next_us = hal_time_us() + QTD_POWER_KEEPALIVE_US;
}

bool qtd_power_streaming(void) {
    return g.streaming;
}

/* What the UART can carry: samples may use half the board's boot baud (10 bits a byte). */
static uint16_t link_cap_hz(uint32_t mask) {
    uint32_t bytes = SAMPLE_HEADER + READING_SIZE * popcount(mask) + 2u;
    uint32_t hz = g.board->uart_baud / 10u / 2u / bytes;
    return (uint16_t)(hz < 1u ? 1u : hz > 0xFFFFu ? 0xFFFFu : hz);
}

qtd_status_t qtd_cmd_power_stream(const qtd_frame_t *req, qtd_reply_t *rep) {
    if (req->length != STREAM_SIZE)
        return qtd_fail(rep, QTD_ST_BAD_LENGTH, "PowerStream is 8 bytes, got", req->length, 1);
    uint8_t op = req->payload[0];
    uint16_t rate = qtd_le16(req->payload + 2);
    uint32_t mask = resolve_mask(qtd_le32(req->payload + 4));
    uint8_t *p = rep->payload;
    if (op == 0) {
        flush_batch(); /* the samples taken so far still go out, before the answer */
        qtd_power_stream_reset();
        memset(p, 0, STREAM_SIZE);
        rep->len = STREAM_SIZE;
        return QTD_ST_OK;
    }
    if (op != 1)
        return qtd_fail(rep, QTD_ST_BAD_ARGUMENT, "op (0 stop, 1 start)", op, 1);
    if (rate == 0 || rate > QTD_POWER_MAX_RATE)
        return qtd_fail(rep, QTD_ST_BAD_ARGUMENT, "rate_hz (1..1024)", rate, 1);
    qtd_status_t st = check_rails(mask, rep);
    if (st != QTD_ST_OK)
        return st;
    uint16_t cap = link_cap_hz(mask);
    if (rate > GRANT_MAX_HZ)
        rate = GRANT_MAX_HZ;
    if (rate > cap)
        rate = cap;
    flush_batch(); /* a running stream's last samples, then the new stream */
    g.streaming = false;
    sync_update();
    g.streaming = true;
    g.rate_hz = rate;
    g.mask = mask;
    g.period_us = 1000000u / rate;
    g.sample_seq = 0;
    g.batch_n = 0;
    g.batch_len = 0;
    baseline();
    g.next_us = g.refresh_us + g.period_us;
    memset(p, 0, STREAM_SIZE);
    p[0] = 1;
    qtd_put_le16(p + 2, rate);
    qtd_put_le32(p + 4, mask);
    rep->len = STREAM_SIZE;
    return QTD_ST_OK;
}

void qtd_power_poll(void) {
    if (monitor_count() == 0)
        return;
    uint64_t now = hal_time_us();
    if (g.refreshing && now - g.refresh_us >= QTD_PAC_REFRESH_WAIT_US) {
        collect_all();
        if (g.streaming)
            take_sample();
    }
    if (!g.refreshing && now >= g.next_us) {
        refresh_all();
        if (g.streaming) {
            g.next_us += g.period_us;
            if (g.next_us < now)
                g.next_us = now; /* fell behind: no burst of catch-up samples */
        } else {
            g.next_us = now + QTD_POWER_KEEPALIVE_US;
        }
    }
    if (g.batch_n && (now - g.batch_t0 >= QTD_POWER_BATCH_US || g.batch_len + sample_size() > batch_cap()))
        flush_batch();
    if (g.streaming) /* the next step of the sample cycle: collect after the REFRESH wait, or the next REFRESH
                      */
        hal_wake_by(g.refreshing ? g.refresh_us + QTD_PAC_REFRESH_WAIT_US : g.next_us);
}

/* ---- markers and energy ------------------------------------------------------------------ */

qtd_status_t qtd_cmd_power_mark(const qtd_frame_t *req, qtd_reply_t *rep) {
    if (req->length != 0)
        return qtd_fail(rep, QTD_ST_BAD_LENGTH, "POWER_MARK takes no payload, got", req->length, 1);
    qtd_status_t st = check_rails(resolve_mask(0), rep);
    if (st != QTD_ST_OK)
        return st;
    sync_update();
    uint32_t id = g.next_marker++;
    if (g.next_marker == 0)
        g.next_marker = 1;
    marker_t *mk = &g.mark[id % QTD_POWER_MARKERS];
    mk->id = id;
    mk->t_us = g.refresh_us;
    for (unsigned r = 0; r < rail_count(); r++)
        mk->nj[r] = rail_nj(r);
    qtd_put_le32(rep->payload, id);
    put_le64(rep->payload + 4, mk->t_us);
    rep->len = MARK_SIZE;
    return QTD_ST_OK;
}

qtd_status_t qtd_cmd_power_energy(const qtd_frame_t *req, qtd_reply_t *rep) {
    if (req->length != 4)
        return qtd_fail(rep, QTD_ST_BAD_LENGTH, "PowerEnergy is 4 bytes, got", req->length, 1);
    uint32_t id = qtd_le32(req->payload);
    const marker_t *mk = NULL;
    if (id != 0) {
        mk = &g.mark[id % QTD_POWER_MARKERS];
        if (mk->id != id)
            return qtd_fail(rep, QTD_ST_BAD_ARGUMENT,
                            "marker unknown or overwritten (the board keeps the last 4):", id, 1);
    }
    qtd_status_t st = check_rails(resolve_mask(0), rep);
    if (st != QTD_ST_OK)
        return st;
    sync_update();
    uint8_t *p = rep->payload;
    qtd_put_le32(p, id);
    put_le64(p + 4, mk ? mk->t_us : g.boot_us);
    put_le64(p + 12, g.refresh_us);
    p[20] = (uint8_t)rail_count();
    p[21] = p[22] = p[23] = 0;
    uint16_t len = REPORT_HEADER;
    for (unsigned r = 0; r < rail_count(); r++, len = (uint16_t)(len + RAIL_ENERGY_SIZE)) {
        memset(p + len, 0, RAIL_ENERGY_SIZE);
        p[len] = (uint8_t)r;
        put_le64(p + len + 4, (uint64_t)(rail_nj(r) - (mk ? mk->nj[r] : 0)));
    }
    rep->len = len;
    return QTD_ST_OK;
}

/* ---- the bench's windows (core/cmd_bench.c) ---------------------------------------------- */

qtd_status_t qtd_power_snapshot(qtd_reply_t *rep, uint64_t *t_us, int64_t nj[QTD_MAX_RAILS]) {
    if (monitor_count() == 0 || rail_count() == 0)
        return qtd_fail(rep, QTD_ST_NO_POWER_MONITOR, "this board file has no power monitor or rail", 0, 0);
    qtd_status_t st = check_rails(resolve_mask(0), rep);
    if (st != QTD_ST_OK)
        return st;
    sync_update();
    for (unsigned m = 0; m < monitor_count(); m++)
        if (!g.ok[m])
            return qtd_fail(rep, QTD_ST_SENSOR_ERROR, "power monitor stopped answering at address",
                            g.pac[m].addr7, 1);
    *t_us = g.refresh_us;
    for (unsigned r = 0; r < rail_count(); r++)
        nj[r] = rail_nj(r);
    return QTD_ST_OK;
}

unsigned qtd_power_rail_count(void) {
    return rail_count();
}
