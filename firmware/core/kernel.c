/* The MCU-only integer kernel: protocol/model.md executed in C, bit for bit.
 *
 * No float, no heap, no recursion. Arithmetic widths follow model.md's bound table: int32 dot
 * products (|sum| <= 512 * 255 * 128 < 2^24 at the kernel's limits), the bias added in int64, and
 * every requantisation in int64 with an arithmetic right shift (round half up). The softmax is a
 * table look-up, one unsigned 32-bit division per row (a software routine, __aeabi_uidiv, on the
 * divider-less Cortex-M0+: about 100 cycles, T times per layer) and a multiply per element.
 *
 * Buffers: the static work area holds H, Q, K, V (T x d int8) and F (T x ffn uint8), reused as
 * the layer proceeds (ctx overwrites Q row by row once that row's scores are done; attn and
 * later ffn2 go to K; res1 and res2 overwrite H in place). */
#include <string.h>

#include "qtd/le.h"
#include "qtd/model.h"

static uint8_t g_work[QTD_KERNEL_WORK_BYTES];
static int8_t g_wrow[QTD_KERNEL_MAX_FFN];       /* one unpacked weight row */
static int32_t g_row[3][QTD_KERNEL_MAX_WINDOW]; /* scores, exp, probs of one attention row */
static int32_t g_pool[QTD_KERNEL_MAX_DMODEL];

typedef struct {
    qtd_trace_fn fn;
    void *ctx;
    unsigned layer;
} tracer_t;

static void trace_rows(const tracer_t *tr, qtd_trace_id_t id, const void *v, qtd_trace_type_t type,
                       unsigned rows, unsigned n) {
    if (tr->fn == NULL) {
        return;
    }
    unsigned size = type == QTD_TR_I32 ? 4u : 1u;
    for (unsigned r = 0; r < rows; r++) {
        tr->fn(tr->ctx, id, tr->layer, r, (const uint8_t *)v + (size_t)r * n * size, type, n);
    }
}

static inline int32_t clamp(int64_t v, qtd_range_t r) {
    return v < r.lo ? r.lo : v > r.hi ? r.hi : (int32_t)v;
}

/* model.md "Requantisation": clamp((acc * M + 2^(s-1)) >> s) in int64 (GCC's >> on a negative
 * int64 is arithmetic on every target we build, as model.md requires). */
static inline int32_t requant(int64_t acc, int32_t mult, unsigned shift, qtd_range_t r) {
    return clamp((acc * mult + ((int64_t)1 << (shift - 1))) >> shift, r);
}

/* Dot products, the kernel's hot loops (~95 % of the MACs): unrolled by 4 with pointer bumps,
 * so Thumb-1 immediate-offset loads serve four MACs per loop branch on the M0+. */
static int32_t dot_s8(const int8_t *x, const int8_t *w, unsigned n) {
    int32_t acc = 0;
    const int8_t *end4 = x + (n & ~3u), *end = x + n;
    while (x != end4) {
        acc += x[0] * w[0] + x[1] * w[1] + x[2] * w[2] + x[3] * w[3];
        x += 4;
        w += 4;
    }
    while (x != end) {
        acc += *x++ * *w++;
    }
    return acc;
}

static int32_t dot_u8(const uint8_t *x, const int8_t *w, unsigned n) {
    int32_t acc = 0;
    const uint8_t *end4 = x + (n & ~3u), *end = x + n;
    while (x != end4) {
        acc += x[0] * w[0] + x[1] * w[1] + x[2] * w[2] + x[3] * w[3];
        x += 4;
        w += 4;
    }
    while (x != end) {
        acc += *x++ * *w++;
    }
    return acc;
}

/* out[t][j] = requant(W[j] . in[t] + bias[t*bias_stride + j]) for t < rows, j < n_out.
 * j outer: each packed weight row is unpacked once and used for all rows. in is int8 or, for
 * ffn2, the uint8 ReLU output; out is written as the range requires (int8 or uint8 bytes). */
static void linear(const qtd_linear_t *l, const uint8_t *in, int in_unsigned, unsigned rows,
                   unsigned bias_stride, uint8_t *out, qtd_range_t r) {
    const unsigned k_in = l->n_in, n_out = l->n_out;
    for (unsigned j = 0; j < n_out; j++) {
        const int8_t *w = g_wrow;
        if (l->w.bits == 8) {
            w = (const int8_t *)l->w.data + j * k_in; /* 8-bit rows are already int8 in the arena */
        } else {
            qtd_unpack_row(&l->w, j * k_in, k_in, g_wrow);
        }
        const int32_t mult = (int32_t)qtd_le32(l->mult + 4u * j);
        const unsigned shift = (unsigned)qtd_tensor_get(&l->shift, j);
        int32_t bias = (int32_t)qtd_le32(l->bias + 4u * j);
        for (unsigned t = 0; t < rows; t++) {
            const uint8_t *x = in + t * k_in;
            int32_t acc = in_unsigned ? dot_u8(x, w, k_in) : dot_s8((const int8_t *)x, w, k_in);
            if (bias_stride != 0) {
                bias = (int32_t)qtd_le32(l->bias + 4u * (t * bias_stride + j)); /* in.bias is (T, d) */
            }
            out[t * n_out + j] = (uint8_t)requant((int64_t)acc + bias, mult, shift, r);
        }
    }
}

/* model.md rows 10 and 13, in place into skip: (skip*M0 + branch*M1 + 2^(s-1)) >> s, clamped. */
static void residual(const qtd_res_t *res, int8_t *skip, const int8_t *branch, unsigned n, qtd_range_t r) {
    const int64_t half = (int64_t)1 << (res->shift - 1);
    for (unsigned i = 0; i < n; i++) {
        int64_t v = (int64_t)skip[i] * res->mult[0] + (int64_t)branch[i] * res->mult[1] + half;
        skip[i] = (int8_t)clamp(v >> res->shift, r);
    }
}

/* Attention for query row t: scores, integer softmax, ctx (written over Q[t]). */
static void attention_row(const qtd_layer_t *L, unsigned T, unsigned d, int8_t *Q, const int8_t *K,
                          const int8_t *V, unsigned t, const tracer_t *tr) {
    int32_t *s = g_row[0], *e = g_row[1], *p = g_row[2];
    const int8_t *q = Q + t * d;
    int32_t rowmax = L->r_scores.lo;
    for (unsigned u = 0; u < T; u++) {
        s[u] = requant(dot_s8(q, K + u * d, d), L->scores.mult, L->scores.shift, L->r_scores);
        rowmax = s[u] > rowmax ? s[u] : rowmax;
    }
    /* exp_lut[min(rowmax - s, len - 1)]; Z >= exp_lut[0] = 32767 (bind checked), so Z > 0 */
    const uint32_t last = L->exp_lut.count - 1u;
    uint32_t z = 0;
    for (unsigned u = 0; u < T; u++) {
        uint32_t idx = (uint32_t)(rowmax - s[u]);
        e[u] = (int32_t)qtd_le16(L->exp_lut.data + 2u * (idx < last ? idx : last));
        z += (uint32_t)e[u];
    }
    /* R = (P * 2^22 + Z/2) // Z: < 2^31 / 32767 by model.md's bounds, all uint32 */
    const uint32_t recip = (((uint32_t)L->p_max << 22) + (z >> 1)) / z;
    for (unsigned u = 0; u < T; u++) {
        uint32_t pr = ((uint32_t)e[u] * recip + (1u << 21)) >> 22;
        p[u] = (int32_t)(pr < L->p_max ? pr : L->p_max);
    }
    int8_t *ctx = Q + t * d; /* q[t] is no longer needed: later rows read only their own q */
    for (unsigned j = 0; j < d; j++) {
        int32_t acc = 0;
        for (unsigned u = 0; u < T; u++) {
            acc += p[u] * V[u * d + j];
        }
        ctx[j] = (int8_t)requant(acc, L->ctx.mult, L->ctx.shift, L->r_ctx);
    }
    if (tr->fn != NULL) {
        const int32_t zz = (int32_t)z, rr = (int32_t)recip;
        tr->fn(tr->ctx, QTD_TR_SCORES, tr->layer, t, s, QTD_TR_I32, T);
        tr->fn(tr->ctx, QTD_TR_EXP, tr->layer, t, e, QTD_TR_I32, T);
        tr->fn(tr->ctx, QTD_TR_EXPSUM, tr->layer, t, &zz, QTD_TR_I32, 1);
        tr->fn(tr->ctx, QTD_TR_RECIP, tr->layer, t, &rr, QTD_TR_I32, 1);
        tr->fn(tr->ctx, QTD_TR_PROBS, tr->layer, t, p, QTD_TR_I32, T);
        tr->fn(tr->ctx, QTD_TR_CTX, tr->layer, t, ctx, QTD_TR_I8, d);
    }
}

static void layer(const qtd_layer_t *L, unsigned T, unsigned d, unsigned f, tracer_t *tr) {
    int8_t *H = (int8_t *)g_work, *Q = H + T * d, *K = Q + T * d, *V = K + T * d;
    uint8_t *F = (uint8_t *)(V + T * d);
    linear(&L->q, (const uint8_t *)H, 0, T, 0, (uint8_t *)Q, L->r_q);
    linear(&L->k, (const uint8_t *)H, 0, T, 0, (uint8_t *)K, L->r_k);
    linear(&L->v, (const uint8_t *)H, 0, T, 0, (uint8_t *)V, L->r_v);
    trace_rows(tr, QTD_TR_Q, Q, QTD_TR_I8, T, d);
    trace_rows(tr, QTD_TR_K, K, QTD_TR_I8, T, d);
    trace_rows(tr, QTD_TR_V, V, QTD_TR_I8, T, d);
    for (unsigned t = 0; t < T; t++) {
        attention_row(L, T, d, Q, K, V, t, tr);
    }
    linear(&L->o, (const uint8_t *)Q, 0, T, 0, (uint8_t *)K, L->r_attn); /* attn -> K */
    trace_rows(tr, QTD_TR_ATTN, K, QTD_TR_I8, T, d);
    residual(&L->res1, H, K, T * d, L->r_res1); /* res1 -> H */
    trace_rows(tr, QTD_TR_RES1, H, QTD_TR_I8, T, d);
    linear(&L->ffn1, (const uint8_t *)H, 0, T, 0, F, L->r_ffn1);
    trace_rows(tr, QTD_TR_FFN1, F, QTD_TR_U8, T, f);
    linear(&L->ffn2, F, 1, T, 0, (uint8_t *)K, L->r_ffn2); /* ffn2 -> K */
    trace_rows(tr, QTD_TR_FFN2, K, QTD_TR_I8, T, d);
    residual(&L->res2, H, K, T * d, L->r_res2); /* res2 -> H: the next layer's input */
    trace_rows(tr, QTD_TR_RES2, H, QTD_TR_I8, T, d);
}

qtd_status_t qtd_kernel_run(const qtd_model_t *m, const int8_t *x, int32_t *y, qtd_trace_fn trace,
                            void *trace_ctx) {
    const unsigned T = m->hp.window, d = m->hp.d_model, f = m->hp.ffn;
    const unsigned n_in = T * m->hp.features;
    tracer_t tr = {trace, trace_ctx, 0};
    for (unsigned i = 0; i < n_in; i++) {
        if (x[i] < m->r_x.lo || x[i] > m->r_x.hi) {
            return QTD_ST_BAD_ARGUMENT;
        }
    }
    int8_t *H = (int8_t *)g_work;
    /* h0 = requant(in.weight @ x[t] + in.bias[t, j]): the bias carries the positional encoding */
    linear(&m->in, (const uint8_t *)x, 0, T, d, (uint8_t *)H, m->r_h0);
    trace_rows(&tr, QTD_TR_H0, H, QTD_TR_I8, T, d);
    for (unsigned i = 0; i < m->hp.layers; i++) {
        tr.layer = i;
        layer(&m->layer[i], T, d, f, &tr);
    }
    tr.layer = 0;
    for (unsigned j = 0; j < d; j++) {
        int32_t acc = 0;
        for (unsigned t = 0; t < T; t++) {
            acc += H[t * d + j];
        }
        g_pool[j] = requant(acc, m->pool.mult, m->pool.shift, m->r_pool);
    }
    trace_rows(&tr, QTD_TR_POOL, g_pool, QTD_TR_I32, 1, d);
    /* y = head.weight @ pool + head.bias, int32, not requantised (bind checked the headroom) */
    for (unsigned h = 0; h < m->hp.horizon; h++) {
        qtd_unpack_row(&m->head_w, h * d, d, g_wrow);
        int32_t acc = 0;
        for (unsigned j = 0; j < d; j++) {
            acc += g_pool[j] * g_wrow[j];
        }
        y[h] = acc + (int32_t)qtd_le32(m->head_b + 4u * h);
    }
    trace_rows(&tr, QTD_TR_Y, y, QTD_TR_I32, 1, m->hp.horizon);
    return QTD_ST_OK;
}
