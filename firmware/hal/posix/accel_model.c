/* The accelerator's C model (see accel_model.h). Written from protocol/regmap.md and
 * protocol/model.md, independently of the firmware's kernel (core/kernel.c) and driver
 * (core/accel.c): it is what they are checked against on the virtual board. */
#define _DEFAULT_SOURCE
#include "accel_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accel_cycles.h"
#include "hal.h"
#include "qtd/protocol.h"
#include "qtd/sha256.h"

#define N_TENSORS 54u /* layers = 1 (blob table order, protocol/model.md) */
#define N_RANGES 14u
#define MAX_T 64u
#define DESIGN_PREFIX "qtdeploy-sim-design/1|"
#define ABI_PREFIX "qtdeploy-abi/1|"
#define VERSION_BUILD 0xC0u   /* VERSION[31:16]: "C model" (the RTL puts its build number there) */
#define FEATURES (QTD_AFEAT_IRQ | QTD_AFEAT_SPI_CRC | QTD_AFEAT_AUTO_START) /* what the RTL has */

/* tensor roles, blob table order for one layer */
enum {
    R_X, R_H0, R_Q, R_K, R_V, R_SC, R_PR, R_CTX, R_ATTN, R_RES1, R_FFN1, R_FFN2, R_RES2, R_POOL,
    T_IN = 14, T_Q = 18, T_K = 22, T_V = 26, T_SCM = 30, T_SCS, T_CTXM, T_CTXS, T_O = 34, T_R1M = 38,
    T_R1S, T_F1 = 40, T_F2 = 44, T_R2M = 48, T_R2S, T_POOLM, T_POOLS, T_HEADW, T_HEADB,
};

typedef struct {
    uint8_t bits;
    bool is_signed;
    uint32_t count, bytes;
    uint8_t *mem;     /* the bytes as written through the port */
    int32_t *val;     /* its elements, unpacked at START when written since (the RTL unpacks on load) */
    bool stale;
} bram_t;

static struct {
    bool configured, engine;
    uint32_t abi;
    uint32_t T, M, D, F, H, lanes, clock_hz, cycles;
    bram_t t[N_TENSORS];
    bram_t lut;
    uint32_t lut_len;
    /* where the loader's stream stands (the RTL unpacks as bytes arrive: no random access) */
    bool cur_valid;
    uint32_t cur_tensor, next_off;
    /* registers */
    uint32_t ctrl, status, error_code, irq_enable, cycles_reg, infer_count, spi_last;
    uint32_t wload_tensor, wload_offset, lut_select, lut_offset, multiboot_addr;
    uint8_t iprog[4];
    uint8_t input[QTD_RM_INPUT_SIZE];
    uint8_t output[QTD_RM_OUTPUT_SIZE];
    int32_t pending_y[16];
    uint64_t busy_until;
} g;

static void (*g_busy_hook)(bool busy, uint64_t t_us);

void accel_model_set_busy_hook(void (*hook)(bool busy, uint64_t t_us)) { g_busy_hook = hook; }

static void set_busy(bool busy, uint64_t t_us) {
    if (g_busy_hook) {
        g_busy_hook(busy, t_us);
    }
}

/* ---- design descriptor -------------------------------------------------------------------- */

static const char *field(const char *s, const char *end, const char *key, uint32_t *out) {
    size_t n = strlen(key);
    for (const char *p = s; p + n < end; p++) {
        if ((p == s || p[-1] == '|') && strncmp(p, key, n) == 0 && p[n] == '=') {
            *out = (uint32_t)strtoul(p + n + 1, NULL, 10);
            return p;
        }
    }
    return NULL;
}

/* "tensors=4s,32s,8u|" -> widths; returns how many. */
static unsigned widths(const char *s, const char *end, const char *key, bram_t *out, unsigned max) {
    size_t n = strlen(key);
    const char *p = s;
    while (p + n < end && !((p == s || p[-1] == '|') && strncmp(p, key, n) == 0 && p[n] == '=')) {
        p++;
    }
    if (p + n >= end) {
        return 0;
    }
    p += n + 1;
    unsigned k = 0;
    while (p < end && *p != '|' && k < max) {
        char *q;
        unsigned long bits = strtoul(p, &q, 10);
        if (q == p || q >= end || (*q != 's' && *q != 'u')) {
            return 0;
        }
        out[k].bits = (uint8_t)bits;
        out[k].is_signed = *q == 's';
        k++;
        p = q + 1;
        if (p < end && *p == ',') {
            p++;
        }
    }
    return k;
}

static uint32_t abi_of(const char *s, size_t n) {
    qtd_sha256_t h;
    uint8_t d[QTD_SHA256_SIZE];
    qtd_sha256_init(&h);
    qtd_sha256_update(&h, (const uint8_t *)s, n);
    qtd_sha256_final(&h, d);
    uint32_t v = ((uint32_t)d[0] << 24) | ((uint32_t)d[1] << 16) | ((uint32_t)d[2] << 8) | d[3];
    return v == 0 ? 1u : v == 0xFFFFFFFFu ? 0xFFFFFFFEu : v; /* abi.py RESERVED_IDS */
}

static void free_brams(void) {
    for (unsigned i = 0; i < N_TENSORS; i++) {
        free(g.t[i].mem);
        free(g.t[i].val);
    }
    free(g.lut.mem);
    free(g.lut.val);
}

void accel_model_unconfigure(void) {
    free_brams();
    memset(&g, 0, sizeof g);
}

static bool refuse(char *err, size_t err_len, const char *why) {
    snprintf(err, err_len, "design descriptor: %s", why);
    return false;
}

static bool parse_design(const char *d, size_t len, uint32_t abi, char *err, size_t err_len) {
    const char *end = d + len;
    const char *abi_s = NULL;
    for (const char *p = d; p + strlen(ABI_PREFIX) <= end; p++) {
        if (strncmp(p, ABI_PREFIX, strlen(ABI_PREFIX)) == 0) {
            abi_s = p;
            break;
        }
    }
    if (len < strlen(DESIGN_PREFIX) || strncmp(d, DESIGN_PREFIX, strlen(DESIGN_PREFIX)) != 0 || abi_s == NULL) {
        return refuse(err, err_len, "not a qtdeploy-sim-design/1 string");
    }
    if (abi_of(abi_s, (size_t)(end - abi_s)) != abi) {
        return refuse(err, err_len, "its ABI string does not hash to the bitstream's AXSS");
    }
    uint32_t heads = 0, layers = 0;
    if (!field(d, abi_s, "lanes", &g.lanes) || !field(d, abi_s, "clock_hz", &g.clock_hz) ||
        !field(abi_s, end, "window", &g.T) || !field(abi_s, end, "features", &g.M) ||
        !field(abi_s, end, "d_model", &g.D) || !field(abi_s, end, "ffn", &g.F) ||
        !field(abi_s, end, "horizon", &g.H) || !field(abi_s, end, "heads", &heads) ||
        !field(abi_s, end, "layers", &layers)) {
        return refuse(err, err_len, "a field is missing");
    }
    if (heads != 1 || layers != 1) {
        return refuse(err, err_len, "the accelerator builds heads = 1, layers = 1");
    }
    if (g.lanes < 1 || g.lanes > 64 || g.clock_hz == 0 || g.T < 1 || g.T > MAX_T || g.M < 1 || g.M > 16 ||
        g.D < 2 || g.D > 256 || g.F < 2 || g.F > 1024 || g.H < 1 || g.H > 16 || g.T * g.M > QTD_RM_INPUT_SIZE) {
        return refuse(err, err_len, "a parameter is outside the RTL's limits");
    }
    if (widths(abi_s, end, "tensors", g.t, N_TENSORS) != N_TENSORS || widths(abi_s, end, "luts", &g.lut, 1) != 1) {
        return refuse(err, err_len, "expected 54 tensor widths and 1 LUT width");
    }
    const uint32_t T = g.T, M = g.M, D = g.D, F = g.F, H = g.H;
    for (unsigned i = 0; i < N_RANGES; i++) {
        g.t[i].count = 2;
    }
    const uint32_t lin[4][2] = {{D, M}, {D, D}, {F, D}, {D, F}}; /* (out, in) of in / qkvo / ffn1 / ffn2 */
    const struct { unsigned at, shape; } lins[] = {{T_IN, 0}, {T_Q, 1}, {T_K, 1}, {T_V, 1}, {T_O, 1}, {T_F1, 2}, {T_F2, 3}};
    for (unsigned k = 0; k < sizeof lins / sizeof lins[0]; k++) {
        uint32_t out = lin[lins[k].shape][0], in = lin[lins[k].shape][1];
        g.t[lins[k].at].count = out * in;
        g.t[lins[k].at + 1].count = lins[k].at == T_IN ? T * D : out; /* in.bias carries the PE: (T, d) */
        g.t[lins[k].at + 2].count = out;
        g.t[lins[k].at + 3].count = out;
    }
    g.t[T_SCM].count = g.t[T_SCS].count = g.t[T_CTXM].count = g.t[T_CTXS].count = 1;
    g.t[T_R1M].count = g.t[T_R2M].count = 2;
    g.t[T_R1S].count = g.t[T_R2S].count = g.t[T_POOLM].count = g.t[T_POOLS].count = 1;
    g.t[T_HEADW].count = H * D;
    g.t[T_HEADB].count = H;
    for (unsigned i = 0; i < N_TENSORS; i++) {
        bram_t *b = &g.t[i];
        if (b->bits < 2 || (b->bits > 8 && b->bits != 16 && b->bits != 32)) {
            return refuse(err, err_len, "a tensor width is not 2..8, 16 or 32");
        }
        b->bytes = (b->count * b->bits + 7u) / 8u;
        b->mem = calloc(b->bytes, 1);
        b->val = calloc(b->count, sizeof *b->val);
    }
    if (g.t[R_SC].bits > 8 || g.lut.bits != 16) {
        return refuse(err, err_len, "the exp LUT must be 16-bit with <= 2^8 entries");
    }
    g.lut.count = 1u << g.t[R_SC].bits; /* model.md: at most 2^b(scores) entries */
    g.lut.bytes = 2u * g.lut.count;
    g.lut.mem = calloc(g.lut.bytes, 1);
    g.lut.val = calloc(g.lut.count, sizeof *g.lut.val);
    g.cycles = accel_cycles(T, M, D, F, H, g.lanes);
    return true;
}

bool accel_model_configure(const char *design, size_t len, uint32_t abi, char *err, size_t err_len) {
    accel_model_unconfigure();
    g.configured = true;
    g.abi = abi;
    g.status = QTD_ASTAT_ALIVE;
    err[0] = 0;
    if (design == NULL || len == 0) {
        return true; /* an ID/ABI-only fabric: no engine */
    }
    if (!parse_design(design, len, abi, err, err_len)) {
        free_brams();
        memset(g.t, 0, sizeof g.t);
        memset(&g.lut, 0, sizeof g.lut);
        return false;
    }
    g.engine = true;
    return true;
}

/* ---- the engine: protocol/model.md from the BRAM contents ---------------------------------- */

static int32_t unpack(const bram_t *b, uint32_t i) {
    if (b->bits == 32 || b->bits == 16 || b->bits == 8) {
        uint32_t n = b->bits / 8u, v = 0;
        for (uint32_t k = 0; k < n; k++) {
            v |= (uint32_t)b->mem[i * n + k] << (8u * k);
        }
        if (b->is_signed && n < 4 && (v >> (b->bits - 1u)) & 1u) {
            v |= ~0u << b->bits;
        }
        return (int32_t)v;
    }
    uint32_t bit = i * b->bits, v = 0;
    for (uint32_t k = 0; k < b->bits; k++, bit++) {
        v |= (uint32_t)((b->mem[bit / 8u] >> (bit % 8u)) & 1u) << k; /* LSB-first (blob.md) */
    }
    if (b->is_signed && (v >> (b->bits - 1u)) & 1u) {
        v |= ~0u << b->bits;
    }
    return (int32_t)v;
}

static void refresh(bram_t *b) {
    if (b->stale) {
        for (uint32_t i = 0; i < b->count; i++) {
            b->val[i] = unpack(b, i);
        }
        b->stale = false;
    }
}

static inline int32_t el(const bram_t *b, uint32_t i) { return b->val[i]; }

static int64_t clampr(int64_t v, unsigned range) {
    int64_t lo = el(&g.t[range], 0), hi = el(&g.t[range], 1);
    return v < lo ? lo : v > hi ? hi : v;
}

static unsigned shift_ok(int32_t s) { return s < 1 ? 1u : s > 62 ? 62u : (unsigned)s; }

static int64_t rq(int64_t acc, int32_t mult, int32_t shift, unsigned range) {
    unsigned s = shift_ok(shift);
    return clampr((acc * mult + ((int64_t)1 << (s - 1u))) >> s, range);
}

/* out[t][j] = requant(W[j] . in[t] + bias, ...) for a linear at table index `at` */
static void linear(unsigned at, const int64_t *in, uint32_t n_in, int64_t *out, uint32_t n_out, unsigned range) {
    for (uint32_t t = 0; t < g.T; t++) {
        for (uint32_t j = 0; j < n_out; j++) {
            int64_t acc = 0;
            for (uint32_t i = 0; i < n_in; i++) {
                acc += (int64_t)el(&g.t[at], j * n_in + i) * in[t * n_in + i];
            }
            acc += el(&g.t[at + 1], at == T_IN ? t * n_out + j : j);
            out[t * n_out + j] = rq(acc, el(&g.t[at + 2], j), el(&g.t[at + 3], j), range);
        }
    }
}

static void residual(const int64_t *skip, const int64_t *branch, unsigned mult, unsigned shift, unsigned range,
                     int64_t *out) {
    unsigned s = shift_ok(el(&g.t[shift], 0));
    int64_t m0 = el(&g.t[mult], 0), m1 = el(&g.t[mult], 1);
    for (uint32_t i = 0; i < g.T * g.D; i++) {
        out[i] = clampr((skip[i] * m0 + branch[i] * m1 + ((int64_t)1 << (s - 1u))) >> s, range);
    }
}

static void compute(void) {
    const uint32_t T = g.T, D = g.D, F = g.F;
    for (unsigned i = 0; i < N_TENSORS; i++) {
        refresh(&g.t[i]);
    }
    refresh(&g.lut);
    int64_t *x = calloc((size_t)T * g.M, sizeof *x), *h = calloc((size_t)T * D, sizeof *h);
    int64_t *q = calloc((size_t)T * D, sizeof *q), *k = calloc((size_t)T * D, sizeof *k);
    int64_t *v = calloc((size_t)T * D, sizeof *v), *c = calloc((size_t)T * D, sizeof *c);
    int64_t *a = calloc((size_t)T * D, sizeof *a), *r1 = calloc((size_t)T * D, sizeof *r1);
    int64_t *f1 = calloc((size_t)T * F, sizeof *f1), *f2 = calloc((size_t)T * D, sizeof *f2);
    for (uint32_t i = 0; i < T * g.M; i++) {
        x[i] = (int8_t)g.input[i];
    }
    linear(T_IN, x, g.M, h, D, R_H0);
    linear(T_Q, h, D, q, D, R_Q);
    linear(T_K, h, D, k, D, R_K);
    linear(T_V, h, D, v, D, R_V);
    const int64_t p_max = el(&g.t[R_PR], 1);
    const uint32_t lut_len = g.lut_len ? g.lut_len : 1u;
    for (uint32_t t = 0; t < T; t++) {
        int64_t s[MAX_T], e[MAX_T], pr[MAX_T], mx = 0;
        for (uint32_t u = 0; u < T; u++) {
            int64_t acc = 0;
            for (uint32_t j = 0; j < D; j++) {
                acc += q[t * D + j] * k[u * D + j];
            }
            s[u] = rq(acc, el(&g.t[T_SCM], 0), el(&g.t[T_SCS], 0), R_SC);
            mx = u == 0 || s[u] > mx ? s[u] : mx;
        }
        uint64_t z = 0;
        for (uint32_t u = 0; u < T; u++) {
            uint64_t idx = (uint64_t)(mx - s[u]);
            e[u] = (uint16_t)el(&g.lut, idx < lut_len - 1u ? (uint32_t)idx : lut_len - 1u);
            z += (uint64_t)e[u];
        }
        uint64_t r = z ? (((uint64_t)p_max << 22) + (z >> 1)) / z : 0xFFFFFFFFu;
        for (uint32_t u = 0; u < T; u++) {
            int64_t p = (int64_t)(((uint64_t)e[u] * r + (1u << 21)) >> 22);
            pr[u] = p > p_max ? p_max : p;
        }
        for (uint32_t j = 0; j < D; j++) {
            int64_t acc = 0;
            for (uint32_t u = 0; u < T; u++) {
                acc += pr[u] * v[u * D + j];
            }
            c[t * D + j] = rq(acc, el(&g.t[T_CTXM], 0), el(&g.t[T_CTXS], 0), R_CTX);
        }
    }
    linear(T_O, c, D, a, D, R_ATTN);
    residual(h, a, T_R1M, T_R1S, R_RES1, r1);
    linear(T_F1, r1, D, f1, F, R_FFN1);
    linear(T_F2, f1, F, f2, D, R_FFN2);
    residual(r1, f2, T_R2M, T_R2S, R_RES2, h); /* res2 into h */
    for (uint32_t o = 0; o < g.H; o++) {
        int64_t y = el(&g.t[T_HEADB], o);
        for (uint32_t j = 0; j < D; j++) {
            int64_t sum = 0;
            for (uint32_t t = 0; t < T; t++) {
                sum += h[t * D + j];
            }
            int64_t pool = rq(sum, el(&g.t[T_POOLM], 0), el(&g.t[T_POOLS], 0), R_POOL);
            y += (int64_t)el(&g.t[T_HEADW], o * D + j) * pool;
        }
        g.pending_y[o] = (int32_t)y;
    }
    free(x), free(h), free(q), free(k), free(v), free(c), free(a), free(r1), free(f1), free(f2);
}

/* ---- registers ------------------------------------------------------------------------------ */

static void error(uint32_t code) {
    if (!(g.status & QTD_ASTAT_ERROR)) {
        g.error_code = code; /* the first error is kept */
    }
    g.status |= QTD_ASTAT_ERROR;
}

static void update(void) {
    if ((g.status & QTD_ASTAT_BUSY) && hal_time_us() >= g.busy_until) {
        g.status = (g.status & ~(uint32_t)QTD_ASTAT_BUSY) | QTD_ASTAT_DONE;
        g.cycles_reg = g.cycles;
        g.infer_count++;
        memset(g.output, 0, sizeof g.output);
        for (uint32_t o = 0; o < g.H; o++) {
            uint32_t y = (uint32_t)g.pending_y[o];
            for (unsigned b = 0; b < 4; b++) {
                g.output[4u * o + b] = (uint8_t)(y >> (8u * b));
            }
        }
        set_busy(false, g.busy_until); /* DONE rose at busy_until, whenever it is noticed */
    }
}

static uint32_t status_now(void) {
    uint32_t st = g.status & ~(uint32_t)(QTD_ASTAT_IRQ | QTD_ASTAT_MODEL_VALID);
    if (g.ctrl & QTD_ACTRL_MODEL_VALID) {
        st |= QTD_ASTAT_MODEL_VALID;
    }
    if (st & g.irq_enable) {
        st |= QTD_ASTAT_IRQ;
    }
    return st;
}

static void start(void) {
    if (g.status & QTD_ASTAT_BUSY) {
        error(QTD_AERR_START_BUSY);
        return;
    }
    if (!(g.ctrl & QTD_ACTRL_MODEL_VALID) || !g.engine) {
        error(QTD_AERR_NO_MODEL);
        return;
    }
    g.status = (g.status & ~(uint32_t)QTD_ASTAT_DONE) | QTD_ASTAT_BUSY;
    uint64_t now = hal_time_us(); /* BUSY runs from here, however long the host takes to compute */
    compute();
    uint64_t us = ((uint64_t)g.cycles * 1000000u + g.clock_hz - 1u) / g.clock_hz;
    g.busy_until = now + us;
    set_busy(true, now);
}

static void reset(void) {
    bool was_busy = g.status & QTD_ASTAT_BUSY;
    g.status &= ~(uint32_t)(QTD_ASTAT_BUSY | QTD_ASTAT_DONE | QTD_ASTAT_ERROR);
    g.error_code = g.cycles_reg = g.infer_count = 0;
    if (was_busy) {
        set_busy(false, hal_time_us());
    }
}

static void wload(uint8_t byte) {
    if (g.status & QTD_ASTAT_BUSY) {
        error(QTD_AERR_LOAD_BUSY);
        return;
    }
    if (!g.engine || g.wload_tensor >= N_TENSORS) {
        error(QTD_AERR_BAD_TENSOR);
        return;
    }
    bram_t *b = &g.t[g.wload_tensor];
    bool cont = g.cur_valid && g.cur_tensor == g.wload_tensor && g.next_off == g.wload_offset;
    if (g.wload_offset >= b->bytes || (!cont && g.wload_offset != 0)) {
        error(QTD_AERR_TENSOR_RANGE); /* past the end, or not where the stream left off */
        return;
    }
    b->mem[g.wload_offset++] = byte;
    b->stale = true;
    g.cur_valid = true;
    g.cur_tensor = g.wload_tensor;
    g.next_off = g.wload_offset;
}

static void lutload(uint8_t byte) {
    if (g.status & QTD_ASTAT_BUSY) {
        error(QTD_AERR_LOAD_BUSY);
        return;
    }
    if (!g.engine || g.lut_select >= 1u) {
        error(QTD_AERR_BAD_LUT);
        return;
    }
    if (g.lut_offset >= g.lut.bytes) {
        error(QTD_AERR_LUT_RANGE);
        return;
    }
    uint32_t entry = g.lut_offset / 2u;
    g.lut.mem[g.lut_offset++] = byte;
    g.lut.stale = true;
    g.lut_len = entry == 0 ? 1u : (entry + 1u > g.lut_len ? entry + 1u : g.lut_len);
}

static uint32_t reg_value(uint16_t reg, bool *mapped) {
    *mapped = true;
    switch (reg) {
    case QTD_REG_ID: return QTD_RM_MAGIC;
    case QTD_REG_ABI: return g.abi;
    case QTD_REG_VERSION: return (VERSION_BUILD << 16) | (QTD_RM_VERSION_MAJOR << 8) | QTD_RM_VERSION_MINOR;
    case QTD_REG_FEATURES: return FEATURES;
    case QTD_REG_CTRL: return g.ctrl;
    case QTD_REG_STATUS: return status_now();
    case QTD_REG_ERROR_CODE: return g.error_code;
    case QTD_REG_IRQ_ENABLE: return g.irq_enable;
    case QTD_REG_CYCLES: return g.cycles_reg;
    case QTD_REG_CLOCK_HZ: return g.engine ? g.clock_hz : 0;
    case QTD_REG_INFER_COUNT: return g.infer_count;
    case QTD_REG_SPI_LAST: return g.spi_last;
    case QTD_REG_INPUT_LEN: return g.engine ? g.T * g.M : 0;
    case QTD_REG_OUTPUT_LEN: return g.engine ? 4u * g.H : 0;
    case QTD_REG_WLOAD_TENSOR: return g.wload_tensor;
    case QTD_REG_WLOAD_OFFSET: return g.wload_offset;
    case QTD_REG_LUT_SELECT: return g.lut_select;
    case QTD_REG_LUT_OFFSET: return g.lut_offset;
    case QTD_REG_MULTIBOOT_ADDR: return g.multiboot_addr;
    case QTD_REG_WLOAD_DATA: case QTD_REG_LUT_DATA: case QTD_REG_MULTIBOOT_TRIGGER: return 0; /* write-only */
    default: *mapped = false; return 0;
    }
}

static uint8_t read_byte(uint16_t addr) {
    if (addr >= QTD_RM_INPUT_BASE && addr < QTD_RM_INPUT_BASE + QTD_RM_INPUT_SIZE) {
        return g.input[addr - QTD_RM_INPUT_BASE];
    }
    if (addr >= QTD_RM_OUTPUT_BASE && addr < QTD_RM_OUTPUT_BASE + QTD_RM_OUTPUT_SIZE) {
        return g.output[addr - QTD_RM_OUTPUT_BASE];
    }
    bool mapped = false;
    uint32_t v = addr < QTD_RM_CSR_SIZE ? reg_value((uint16_t)(addr & ~3u), &mapped) : 0;
    bool port = (addr & ~3u) == QTD_REG_WLOAD_DATA || (addr & ~3u) == QTD_REG_LUT_DATA;
    if (!mapped || (port && (addr & 3u))) {
        g.status |= QTD_ASTAT_SPI_ERROR;
        return 0;
    }
    return (uint8_t)(v >> (8u * (addr & 3u)));
}

static void set_byte(uint32_t *reg, unsigned b, uint8_t v) {
    *reg = (*reg & ~(0xFFu << (8u * b))) | ((uint32_t)v << (8u * b));
}

static void write_byte(uint16_t addr, uint8_t v) {
    if (addr >= QTD_RM_INPUT_BASE && addr < QTD_RM_INPUT_BASE + QTD_RM_INPUT_SIZE) {
        if (g.status & QTD_ASTAT_BUSY) {
            g.status |= QTD_ASTAT_INPUT_OVERRUN;
            return;
        }
        g.input[addr - QTD_RM_INPUT_BASE] = v;
        if ((g.ctrl & QTD_ACTRL_AUTO_START) && g.engine && addr - QTD_RM_INPUT_BASE == g.T * g.M - 1u) {
            start();
        }
        return;
    }
    if (addr >= QTD_RM_OUTPUT_BASE && addr < QTD_RM_OUTPUT_BASE + QTD_RM_OUTPUT_SIZE) {
        return; /* read-only window */
    }
    unsigned b = addr & 3u;
    uint16_t reg = (uint16_t)(addr & ~3u);
    bool mapped = false;
    if (addr < QTD_RM_CSR_SIZE) {
        (void)reg_value(reg, &mapped);
    }
    if (!mapped || ((reg == QTD_REG_WLOAD_DATA || reg == QTD_REG_LUT_DATA) && b)) {
        g.status |= QTD_ASTAT_SPI_ERROR;
        return;
    }
    switch (reg) {
    case QTD_REG_CTRL:
        if (b == 0) {
            g.ctrl = v & (QTD_ACTRL_MODEL_VALID | QTD_ACTRL_AUTO_START | QTD_ACTRL_CLOCK_GATE);
            if (v & QTD_ACTRL_RESET) {
                reset();
            }
            if (v & QTD_ACTRL_START) {
                start();
            }
        }
        break;
    case QTD_REG_STATUS:
        if (b == 0) {
            uint32_t w1c = v & (QTD_ASTAT_DONE | QTD_ASTAT_ERROR | QTD_ASTAT_INPUT_OVERRUN | QTD_ASTAT_SPI_ERROR);
            g.status &= ~w1c;
            if (w1c & QTD_ASTAT_ERROR) {
                g.error_code = 0;
            }
        }
        break;
    case QTD_REG_IRQ_ENABLE: set_byte(&g.irq_enable, b, v); break;
    case QTD_REG_WLOAD_TENSOR: set_byte(&g.wload_tensor, b, v); break;
    case QTD_REG_WLOAD_OFFSET: set_byte(&g.wload_offset, b, v); break;
    case QTD_REG_WLOAD_DATA: wload(v); break;
    case QTD_REG_LUT_SELECT: set_byte(&g.lut_select, b, v); break;
    case QTD_REG_LUT_OFFSET: set_byte(&g.lut_offset, b, v); break;
    case QTD_REG_LUT_DATA: lutload(v); break;
    case QTD_REG_MULTIBOOT_ADDR: set_byte(&g.multiboot_addr, b, v); break;
    case QTD_REG_MULTIBOOT_TRIGGER:
        g.iprog[b] = v;
        if (b == 3 && (uint32_t)(g.iprog[0] | g.iprog[1] << 8 | g.iprog[2] << 16 | (uint32_t)g.iprog[3] << 24) !=
                          QTD_RM_IPROG_KEY) {
            error(QTD_AERR_BAD_IPROG_KEY); /* the right key: no IPROG sequencer (FEATURES.MULTIBOOT 0) */
        }
        break;
    default: break; /* read-only registers ignore writes */
    }
}

static uint8_t crc8(uint8_t c, uint8_t byte) {
    c ^= byte;
    for (int i = 0; i < 8; i++) {
        c = (uint8_t)(c & 0x80u ? ((unsigned)c << 1) ^ (unsigned)QTD_RM_CRC8_POLY : (unsigned)c << 1);
    }
    return c;
}

/* One transaction of `total` bytes: MOSI is out[] then 0x00; each MISO byte goes to miso[p]
 * (full duplex) when miso is given, else the ones after out_len go to in[]. */
static void transaction(const uint8_t *out, size_t out_len, size_t total, uint8_t *miso_all, uint8_t *in) {
    if (!g.configured) {
        for (size_t p = 0; p < total; p++) {
            if (miso_all) {
                miso_all[p] = 0xFF;
            } else if (p >= out_len) {
                in[p - out_len] = 0xFF; /* no design answering: MISO floats high */
            }
        }
        return;
    }
    update();
    uint8_t cmd = out_len ? out[0] : 0x00;
    uint8_t rx_crc = 0, tx_crc = 0;
    uint16_t addr = out_len >= 3 ? (uint16_t)((out[1] << 8) | out[2]) : 0;
    const size_t data_at = cmd == QTD_SPI_CMD_READ ? 3u + QTD_RM_READ_TURNAROUND_BYTES : 3u;
    for (size_t p = 0; p < total; p++) {
        uint8_t mosi = p < out_len ? out[p] : 0x00;
        uint8_t miso = 0x00;
        rx_crc = crc8(rx_crc, mosi);
        if (p == 0 || cmd == QTD_SPI_CMD_STATUS) {
            miso = (uint8_t)status_now(); /* ST, sampled when CS falls (and live for STATUS) */
        } else if (cmd == QTD_SPI_CMD_READ && p >= data_at) {
            miso = read_byte(addr);
            tx_crc = crc8(tx_crc, miso);
            if (addr != QTD_REG_WLOAD_DATA && addr != QTD_REG_LUT_DATA) {
                addr++;
            }
        } else if (cmd == QTD_SPI_CMD_WRITE && p >= data_at) {
            write_byte(addr, mosi);
            if (addr != QTD_REG_WLOAD_DATA && addr != QTD_REG_LUT_DATA) {
                addr++;
            }
        }
        if (miso_all) {
            miso_all[p] = miso;
        } else if (p >= out_len) {
            in[p - out_len] = miso;
        }
    }
    if (cmd != QTD_SPI_CMD_STATUS && cmd != QTD_SPI_CMD_READ && cmd != QTD_SPI_CMD_WRITE) {
        g.status |= QTD_ASTAT_SPI_ERROR;
    }
    uint32_t n = total > 0xFFFFu ? 0xFFFFu : (uint32_t)total;
    g.spi_last = (n << 16) | ((uint32_t)(cmd == QTD_SPI_CMD_READ ? tx_crc : 0) << 8) | rx_crc;
}

void accel_model_xfer(const uint8_t *out, size_t out_len, uint8_t *in, size_t in_len) {
    transaction(out, out_len, out_len + in_len, NULL, in);
}

void accel_model_spi(const uint8_t *mosi, uint8_t *miso, size_t n) { transaction(mosi, n, n, miso, NULL); }
