/* The accelerator design and its engine (accel_design.h). Written from protocol/model.md,
 * independently of the firmware's kernel (core/kernel.c): it is what the firmware and its
 * accelerator driver are checked against on the virtual board. */
#define _DEFAULT_SOURCE
#include "accel_design.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accel_cycles.h"
#include "qtd/protocol.h"
#include "qtd/sha256.h"

#define N_RANGES      14u
#define MAX_T         64u
#define DESIGN_PREFIX "qtdeploy-sim-design/1|"
#define ABI_PREFIX    "qtdeploy-abi/1|"

/* tensor roles, blob table order for one layer */
enum {
    R_X,
    R_H0,
    R_Q,
    R_K,
    R_V,
    R_SC,
    R_PR,
    R_CTX,
    R_ATTN,
    R_RES1,
    R_FFN1,
    R_FFN2,
    R_RES2,
    R_POOL,
    T_IN = 14,
    T_Q = 18,
    T_K = 22,
    T_V = 26,
    T_SCM = 30,
    T_SCS,
    T_CTXM,
    T_CTXS,
    T_O = 34,
    T_R1M = 38,
    T_R1S,
    T_F1 = 40,
    T_F2 = 44,
    T_R2M = 48,
    T_R2S,
    T_POOLM,
    T_POOLS,
    T_HEADW,
    T_HEADB,
};

static accel_design_t *G; /* the design being parsed or run (one call at a time) */

/* The canonical table order (qtdeploy export's, the one the RTL's loader hard-codes): the roles. */
static const char *const k_roles[ACCEL_N_TENSORS] = {
    "x.range",         "h0.range",        "l0.q.range",    "l0.k.range",    "l0.v.range",
    "l0.scores.range", "l0.probs.range",  "l0.ctx.range",  "l0.attn.range", "l0.res1.range",
    "l0.ffn1.range",   "l0.ffn2.range",   "l0.res2.range", "pool.range",    "in.weight",
    "in.bias",         "in.mult",         "in.shift",      "l0.q.weight",   "l0.q.bias",
    "l0.q.mult",       "l0.q.shift",      "l0.k.weight",   "l0.k.bias",     "l0.k.mult",
    "l0.k.shift",      "l0.v.weight",     "l0.v.bias",     "l0.v.mult",     "l0.v.shift",
    "l0.scores.mult",  "l0.scores.shift", "l0.ctx.mult",   "l0.ctx.shift",  "l0.o.weight",
    "l0.o.bias",       "l0.o.mult",       "l0.o.shift",    "l0.res1.mult",  "l0.res1.shift",
    "l0.ffn1.weight",  "l0.ffn1.bias",    "l0.ffn1.mult",  "l0.ffn1.shift", "l0.ffn2.weight",
    "l0.ffn2.bias",    "l0.ffn2.mult",    "l0.ffn2.shift", "l0.res2.mult",  "l0.res2.shift",
    "pool.mult",       "pool.shift",      "head.weight",   "head.bias",
};

/* s starts with the n bytes of lit. Not strncmp: libFuzzer intercepts strncmp and memcmp in the
 * whole process and records every comparison, and the descriptor is parsed at each boot of the
 * command fuzzer's board (fuzz/fuzz_cmd.c): a fifth of its time, and descriptor keys in the
 * dictionary it mutates commands with. */
bool accel_starts_with(const char *s, const char *lit, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (s[i] != lit[i]) {
            return false;
        }
    }
    return true;
}

/* The memory that holds a role's tensor (the blob's table order may differ from the roles'). */
static accel_bram_t *R(unsigned role) {
    return &G->t[G->tab[role]];
}

/* "names=a,b,...|": which role each table index holds; absent: the canonical order. */
static bool map_names(const char *s, const char *end) {
    for (unsigned i = 0; i < ACCEL_N_TENSORS; i++) {
        G->tab[i] = (uint8_t)i;
    }
    const char *p = s;
    while (p + 6 <= end && !((p == s || p[-1] == '|') && accel_starts_with(p, "names=", 6))) {
        p++;
    }
    if (p + 6 > end) {
        return true;
    }
    p += 6;
    bool seen[ACCEL_N_TENSORS] = {false};
    for (unsigned i = 0; i < ACCEL_N_TENSORS; i++) {
        const char *q = p;
        while (q < end && *q != ',' && *q != '|') {
            q++;
        }
        unsigned role = 0;
        while (role < ACCEL_N_TENSORS && !(strlen(k_roles[role]) == (size_t)(q - p) &&
                                           accel_starts_with(p, k_roles[role], (size_t)(q - p)))) {
            role++;
        }
        if (role == ACCEL_N_TENSORS || seen[role] || (i + 1 < ACCEL_N_TENSORS && (q >= end || *q != ','))) {
            return false;
        }
        seen[role] = true;
        G->tab[role] = (uint8_t)i;
        p = q + 1;
    }
    return true;
}

static const char *field(const char *s, const char *end, const char *key, uint32_t *out) {
    size_t n = strlen(key);
    for (const char *p = s; p + n < end; p++) {
        if ((p == s || p[-1] == '|') && accel_starts_with(p, key, n) && p[n] == '=') {
            *out = (uint32_t)strtoul(p + n + 1, NULL, 10);
            return p;
        }
    }
    return NULL;
}

/* "tensors=4s,32s,8u|" -> widths; returns how many. */
static unsigned widths(const char *s, const char *end, const char *key, accel_bram_t *out, unsigned max) {
    size_t n = strlen(key);
    const char *p = s;
    while (p + n < end && !((p == s || p[-1] == '|') && accel_starts_with(p, key, n) && p[n] == '=')) {
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

void accel_design_free(accel_design_t *d) {
    G = d;
    for (unsigned i = 0; i < ACCEL_N_TENSORS; i++) {
        free(G->t[i].mem);
        free(G->t[i].val);
    }
    free(G->lut.mem);
    free(G->lut.val);
    free(G->work);
}

static bool refuse(char *err, size_t err_len, const char *why) {
    snprintf(err, err_len, "design descriptor: %s", why);
    return false;
}

static bool parse(const char *d, size_t len, uint32_t abi, char *err, size_t err_len) {
    const char *end = d + len;
    const char *abi_s = NULL;
    for (const char *p = d; p + strlen(ABI_PREFIX) <= end; p++) {
        if (accel_starts_with(p, ABI_PREFIX, strlen(ABI_PREFIX))) {
            abi_s = p;
            break;
        }
    }
    if (len < strlen(DESIGN_PREFIX) || !accel_starts_with(d, DESIGN_PREFIX, strlen(DESIGN_PREFIX)) ||
        abi_s == NULL) {
        return refuse(err, err_len, "not a qtdeploy-sim-design/1 string");
    }
    if (abi_of(abi_s, (size_t)(end - abi_s)) != abi) {
        return refuse(err, err_len, "its ABI string does not hash to the bitstream's AXSS");
    }
    uint32_t heads = 0, layers = 0;
    if (!field(d, abi_s, "lanes", &G->lanes) || !field(d, abi_s, "clock_hz", &G->clock_hz) ||
        !field(abi_s, end, "window", &G->T) || !field(abi_s, end, "features", &G->M) ||
        !field(abi_s, end, "d_model", &G->D) || !field(abi_s, end, "ffn", &G->F) ||
        !field(abi_s, end, "horizon", &G->H) || !field(abi_s, end, "heads", &heads) ||
        !field(abi_s, end, "layers", &layers)) {
        return refuse(err, err_len, "a field is missing");
    }
    if (heads != 1 || layers != 1) {
        return refuse(err, err_len, "the accelerator builds heads = 1, layers = 1");
    }
    if (G->lanes < 1 || G->lanes > 64 || G->clock_hz == 0 || G->T < 1 || G->T > MAX_T || G->M < 1 ||
        G->M > 16 || G->D < 2 || G->D > 256 || G->F < 2 || G->F > 1024 || G->H < 1 || G->H > 16 ||
        G->T * G->M > QTD_RM_INPUT_SIZE) {
        return refuse(err, err_len, "a parameter is outside the RTL's limits");
    }
    if (widths(abi_s, end, "tensors", G->t, ACCEL_N_TENSORS) != ACCEL_N_TENSORS ||
        widths(abi_s, end, "luts", &G->lut, 1) != 1) {
        return refuse(err, err_len, "expected 54 tensor widths and 1 LUT width");
    }
    if (!map_names(d, abi_s)) {
        return refuse(err, err_len, "names= does not list each of the 54 tensors of protocol/model.md once");
    }
    const uint32_t T = G->T, M = G->M, D = G->D, F = G->F, H = G->H;
    for (unsigned i = 0; i < N_RANGES; i++) {
        R(i)->count = 2;
    }
    const uint32_t lin[4][2] = {{D, M}, {D, D}, {F, D}, {D, F}}; /* (out, in) of in / qkvo / ffn1 / ffn2 */
    const struct {
        unsigned at, shape;
    } lins[] = {{T_IN, 0}, {T_Q, 1}, {T_K, 1}, {T_V, 1}, {T_O, 1}, {T_F1, 2}, {T_F2, 3}};
    for (unsigned k = 0; k < sizeof lins / sizeof lins[0]; k++) {
        uint32_t out = lin[lins[k].shape][0], in = lin[lins[k].shape][1];
        R(lins[k].at)->count = out * in;
        R(lins[k].at + 1)->count = lins[k].at == T_IN ? T * D : out; /* in.bias carries the PE: (T, d) */
        R(lins[k].at + 2)->count = out;
        R(lins[k].at + 3)->count = out;
    }
    R(T_SCM)->count = R(T_SCS)->count = R(T_CTXM)->count = R(T_CTXS)->count = 1;
    R(T_R1M)->count = R(T_R2M)->count = 2;
    R(T_R1S)->count = R(T_R2S)->count = R(T_POOLM)->count = R(T_POOLS)->count = 1;
    R(T_HEADW)->count = H * D;
    R(T_HEADB)->count = H;
    for (unsigned i = 0; i < ACCEL_N_TENSORS; i++) {
        accel_bram_t *b = &G->t[i];
        if (b->bits < 2 || (b->bits > 8 && b->bits != 16 && b->bits != 32)) {
            return refuse(err, err_len, "a tensor width is not 2..8, 16 or 32");
        }
        b->bytes = (b->count * b->bits + 7u) / 8u;
        b->mem = calloc(b->bytes, 1);
        b->val = calloc(b->count, sizeof *b->val);
    }
    if (G->lut.bits != 16) {
        return refuse(err, err_len, "the exp LUT must be 16-bit");
    }
    /* model.md: at most 2^b(scores) entries; b <= 8 even when the range is stored wider */
    G->lut.count = 1u << (R(R_SC)->bits < 8 ? R(R_SC)->bits : 8u);
    G->lut.bytes = 2u * G->lut.count;
    G->lut.mem = calloc(G->lut.bytes, 1);
    G->lut.val = calloc(G->lut.count, sizeof *G->lut.val);
    G->cycles = accel_cycles(T, M, D, F, H, G->lanes);
    G->work = calloc((size_t)T * (M + 8u * D + F), sizeof *G->work); /* x, h..r1 and f2, f1 */
    return true;
}

bool accel_design_parse(accel_design_t *dst, const char *s, size_t len, uint32_t abi, char *err,
                        size_t err_len) {
    memset(dst, 0, sizeof *dst);
    G = dst;
    if (!parse(s, len, abi, err, err_len)) {
        accel_design_free(dst);
        memset(dst, 0, sizeof *dst);
        return false;
    }
    return true;
}

/* ---- the engine: protocol/model.md from the BRAM contents ---------------------------------- */

static int32_t unpack(const accel_bram_t *b, uint32_t i) {
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

static void refresh(accel_bram_t *b) {
    if (b->stale) {
        for (uint32_t i = 0; i < b->count; i++) {
            b->val[i] = unpack(b, i);
        }
        b->stale = false;
    }
}

static inline int32_t el(const accel_bram_t *b, uint32_t i) {
    return b->val[i];
}

static int64_t clampr(int64_t v, unsigned range) {
    int64_t lo = el(R(range), 0), hi = el(R(range), 1);
    return v < lo ? lo : v > hi ? hi : v;
}

static unsigned shift_ok(int32_t s) {
    return s < 1 ? 1u : s > 62 ? 62u : (unsigned)s;
}

static int64_t rq(int64_t acc, int32_t mult, int32_t shift, unsigned range) {
    unsigned s = shift_ok(shift);
    return clampr((acc * mult + ((int64_t)1 << (s - 1u))) >> s, range);
}

/* out[t][j] = requant(W[j] . in[t] + bias, ...) for a linear at table index `at` */
static void linear(unsigned at, const int64_t *in, uint32_t n_in, int64_t *out, uint32_t n_out,
                   unsigned range) {
    const int32_t *w = R(at)->val, *bias = R(at + 1)->val, *mult = R(at + 2)->val, *shift = R(at + 3)->val;
    for (uint32_t t = 0; t < G->T; t++) {
        const int64_t *x = in + (size_t)t * n_in;
        for (uint32_t j = 0; j < n_out; j++) {
            const int32_t *wj = w + (size_t)j * n_in;
            int64_t acc = 0;
            for (uint32_t i = 0; i < n_in; i++) {
                acc += (int64_t)wj[i] * x[i];
            }
            acc += bias[at == T_IN ? t * n_out + j : j];
            out[t * n_out + j] = rq(acc, mult[j], shift[j], range);
        }
    }
}

static void residual(const int64_t *skip, const int64_t *branch, unsigned mult, unsigned shift,
                     unsigned range, int64_t *out) {
    unsigned s = shift_ok(el(R(shift), 0));
    int64_t m0 = el(R(mult), 0), m1 = el(R(mult), 1);
    for (uint32_t i = 0; i < G->T * G->D; i++) {
        out[i] = clampr((skip[i] * m0 + branch[i] * m1 + ((int64_t)1 << (s - 1u))) >> s, range);
    }
}

void accel_design_compute(accel_design_t *d, const uint8_t *input, int32_t *y_out) {
    G = d;
    const uint32_t T = G->T, D = G->D, F = G->F;
    for (unsigned i = 0; i < ACCEL_N_TENSORS; i++) {
        refresh(&G->t[i]);
    }
    refresh(&G->lut);
    int64_t *x = G->work, *h = x + T * G->M, *q = h + T * D, *k = q + T * D, *v = k + T * D;
    int64_t *c = v + T * D, *a = c + T * D, *r1 = a + T * D, *f2 = r1 + T * D, *f1 = f2 + T * D;
    for (uint32_t i = 0; i < T * G->M; i++) {
        x[i] = (int8_t)input[i];
    }
    linear(T_IN, x, G->M, h, D, R_H0);
    linear(T_Q, h, D, q, D, R_Q);
    linear(T_K, h, D, k, D, R_K);
    linear(T_V, h, D, v, D, R_V);
    const int64_t p_max = el(R(R_PR), 1);
    const uint32_t lut_len = G->lut_len ? G->lut_len : 1u;
    for (uint32_t t = 0; t < T; t++) {
        int64_t s[MAX_T], e[MAX_T], pr[MAX_T], mx = 0;
        for (uint32_t u = 0; u < T; u++) {
            int64_t acc = 0;
            for (uint32_t j = 0; j < D; j++) {
                acc += q[t * D + j] * k[u * D + j];
            }
            s[u] = rq(acc, el(R(T_SCM), 0), el(R(T_SCS), 0), R_SC);
            mx = u == 0 || s[u] > mx ? s[u] : mx;
        }
        uint64_t z = 0;
        for (uint32_t u = 0; u < T; u++) {
            uint64_t idx = (uint64_t)(mx - s[u]);
            e[u] = (uint16_t)el(&G->lut, idx < lut_len - 1u ? (uint32_t)idx : lut_len - 1u);
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
            c[t * D + j] = rq(acc, el(R(T_CTXM), 0), el(R(T_CTXS), 0), R_CTX);
        }
    }
    linear(T_O, c, D, a, D, R_ATTN);
    residual(h, a, T_R1M, T_R1S, R_RES1, r1);
    linear(T_F1, r1, D, f1, F, R_FFN1);
    linear(T_F2, f1, F, f2, D, R_FFN2);
    residual(r1, f2, T_R2M, T_R2S, R_RES2, h); /* res2 into h */
    for (uint32_t o = 0; o < G->H; o++) {
        int64_t y = el(R(T_HEADB), o);
        for (uint32_t j = 0; j < D; j++) {
            int64_t sum = 0;
            for (uint32_t t = 0; t < T; t++) {
                sum += h[t * D + j];
            }
            int64_t pool = rq(sum, el(R(T_POOLM), 0), el(R(T_POOLS), 0), R_POOL);
            y += (int64_t)el(R(T_HEADW), o * D + j) * pool;
        }
        y_out[o] = (int32_t)y;
    }
}
