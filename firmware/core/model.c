/* Binding a parsed blob to the integer model of protocol/model.md: every tensor by name, its
 * shape and width, and every value whose range the kernel's arithmetic relies on. After a
 * successful bind the kernel cannot overflow, divide by zero or index out of bounds, whatever
 * the blob held. See qtd/model.h for the limits. */
#include "qtd/model.h"

#include <string.h>

#define INT32_MAX_ 2147483647LL
#define EXP_ONE    32767

typedef struct {
    const qtd_blob_t *blob;
    const char **why;
    char name[QTD_BLOB_NAME_MAX];
} binder_t;

static qtd_status_t fail(binder_t *b, qtd_status_t st, const char *text) {
    *b->why = text;
    return st;
}

/* name = prefix ("" or "l<i>.") + op + suffix, truncated safely (names are < 32 chars). */
static const char *mkname(binder_t *b, int layer, const char *op, const char *suffix) {
    size_t n = 0;
    const char *parts[2] = {op, suffix};
    if (layer >= 0) {
        b->name[n++] = 'l';
        b->name[n++] = (char)('0' + layer); /* layers <= 8: one digit */
        b->name[n++] = '.';
    }
    for (unsigned p = 0; p < 2; p++) {
        for (const char *c = parts[p]; *c && n + 1 < sizeof b->name; c++) {
            b->name[n++] = *c;
        }
    }
    b->name[n] = 0;
    return b->name;
}

/* Find a tensor; BLOB_INVALID if absent, of the wrong width/signedness/count, or with a zero
 * point (model.md: all zero points are 0). bits 0 accepts 2..8; sign < 0 accepts either. */
static qtd_status_t get(binder_t *b, const char *name, uint8_t bits, int sign, uint32_t count,
                        qtd_tensor_t *t) {
    if (!qtd_blob_find(b->blob, name, t)) {
        return fail(b, QTD_ST_BLOB_INVALID, "a tensor protocol/model.md needs is missing");
    }
    bool width_ok = bits ? t->v.bits == bits : (t->v.bits >= 2 && t->v.bits <= 8);
    if (!width_ok || (sign >= 0 && t->v.is_signed != (sign > 0)) || t->v.count != count ||
        t->zero_point != 0) {
        return fail(b, QTD_ST_BLOB_INVALID, "a model tensor has the wrong width, sign, size or a zero point");
    }
    return QTD_ST_OK;
}

/* An activation's clamp range, which must fit the buffer type the kernel keeps it in. */
static qtd_status_t get_range(binder_t *b, int layer, const char *act, int32_t lo_min, int32_t hi_max,
                              qtd_range_t *r) {
    qtd_tensor_t t;
    if (!qtd_blob_find(b->blob, mkname(b, layer, act, ".range"), &t) || t.v.count != 2 || t.v.bits > 8 ||
        t.zero_point != 0) {
        return fail(b, QTD_ST_BLOB_INVALID, "an activation range is missing or not 2 values of <= 8 bits");
    }
    int32_t lo = qtd_tensor_get(&t.v, 0), hi = qtd_tensor_get(&t.v, 1);
    if (lo > hi || lo < lo_min || hi > hi_max) {
        return fail(b, QTD_ST_BLOB_INVALID, "an activation range is empty or does not fit its buffer");
    }
    r->lo = (int16_t)lo;
    r->hi = (int16_t)hi;
    return QTD_ST_OK;
}

static qtd_status_t check_requant(binder_t *b, const qtd_vec_t *mult, const qtd_vec_t *shift) {
    for (uint32_t i = 0; i < mult->count; i++) {
        if (qtd_tensor_get(mult, i) < 1) {
            return fail(b, QTD_ST_BLOB_INVALID, "a requant multiplier is not in 1..2^31-1");
        }
    }
    for (uint32_t i = 0; i < shift->count; i++) {
        int32_t s = qtd_tensor_get(shift, i);
        if (s < 1 || s > 62) {
            return fail(b, QTD_ST_BLOB_INVALID, "a requant shift is not in 1..62");
        }
    }
    return QTD_ST_OK;
}

static qtd_status_t get_linear(binder_t *b, int layer, const char *op, uint16_t n_out, uint16_t n_in,
                               uint32_t bias_count, qtd_linear_t *l) {
    qtd_tensor_t w, bias, mult, shift;
    qtd_status_t st;
    if ((st = get(b, mkname(b, layer, op, ".weight"), 0, 1, (uint32_t)n_out * n_in, &w)) != QTD_ST_OK ||
        (st = get(b, mkname(b, layer, op, ".bias"), 32, 1, bias_count, &bias)) != QTD_ST_OK ||
        (st = get(b, mkname(b, layer, op, ".mult"), 32, 1, n_out, &mult)) != QTD_ST_OK ||
        (st = get(b, mkname(b, layer, op, ".shift"), 0, 0, n_out, &shift)) != QTD_ST_OK) {
        return st;
    }
    if (w.ndim != 2 || w.shape[0] != n_out || w.shape[1] != n_in) {
        return fail(b, QTD_ST_BLOB_INVALID, "a weight's shape is not (out, in)");
    }
    if (bias_count != n_out && (bias.ndim != 2 || bias.shape[1] != n_out)) {
        return fail(b, QTD_ST_BLOB_INVALID, "in.bias is not (window, d_model)");
    }
    *l = (qtd_linear_t){w.v, shift.v, bias.v.data, mult.v.data, n_out, n_in};
    return check_requant(b, &mult.v, &shift.v);
}

static qtd_status_t get_rq(binder_t *b, int layer, const char *op, qtd_rq_t *rq) {
    qtd_tensor_t mult, shift;
    qtd_status_t st;
    if ((st = get(b, mkname(b, layer, op, ".mult"), 32, 1, 1, &mult)) != QTD_ST_OK ||
        (st = get(b, mkname(b, layer, op, ".shift"), 0, 0, 1, &shift)) != QTD_ST_OK ||
        (st = check_requant(b, &mult.v, &shift.v)) != QTD_ST_OK) {
        return st;
    }
    rq->mult = qtd_tensor_get(&mult.v, 0);
    rq->shift = (uint8_t)qtd_tensor_get(&shift.v, 0);
    return QTD_ST_OK;
}

static qtd_status_t get_res(binder_t *b, int layer, const char *op, qtd_res_t *res) {
    qtd_tensor_t mult, shift;
    qtd_status_t st;
    if ((st = get(b, mkname(b, layer, op, ".mult"), 32, 1, 2, &mult)) != QTD_ST_OK ||
        (st = get(b, mkname(b, layer, op, ".shift"), 0, 0, 1, &shift)) != QTD_ST_OK ||
        (st = check_requant(b, &mult.v, &shift.v)) != QTD_ST_OK) {
        return st;
    }
    res->mult[0] = qtd_tensor_get(&mult.v, 0);
    res->mult[1] = qtd_tensor_get(&mult.v, 1);
    res->shift = (uint8_t)qtd_tensor_get(&shift.v, 0);
    return QTD_ST_OK;
}

static qtd_status_t get_lut(binder_t *b, int layer, qtd_vec_t *lut) {
    qtd_tensor_t t;
    if (!qtd_blob_find(b->blob, mkname(b, layer, "exp_lut", ""), &t) || t.v.bits != 16 || t.v.is_signed) {
        return fail(b, QTD_ST_BLOB_INVALID, "exp_lut missing or not unsigned 16-bit");
    }
    *lut = t.v;
    /* model.md: exp_lut[0] = 32767 and no entry above it; this is what keeps expsum >= 1 and
     * the reciprocal and probability products inside uint32 */
    if (qtd_tensor_get(lut, 0) != EXP_ONE) {
        return fail(b, QTD_ST_BLOB_INVALID, "exp_lut[0] is not 32767");
    }
    for (uint32_t i = 1; i < lut->count; i++) {
        if (qtd_tensor_get(lut, i) > EXP_ONE) {
            return fail(b, QTD_ST_BLOB_INVALID, "exp_lut entry above 32767");
        }
    }
    return QTD_ST_OK;
}

static qtd_status_t bind_layer(binder_t *b, const qtd_hparams_t *hp, int i, qtd_layer_t *L) {
    qtd_status_t st;
    const uint16_t d = hp->d_model, f = hp->ffn;
    qtd_range_t probs;
    if ((st = get_linear(b, i, "q", d, d, d, &L->q)) != QTD_ST_OK ||
        (st = get_linear(b, i, "k", d, d, d, &L->k)) != QTD_ST_OK ||
        (st = get_linear(b, i, "v", d, d, d, &L->v)) != QTD_ST_OK ||
        (st = get_linear(b, i, "o", d, d, d, &L->o)) != QTD_ST_OK ||
        (st = get_linear(b, i, "ffn1", f, d, f, &L->ffn1)) != QTD_ST_OK ||
        (st = get_linear(b, i, "ffn2", d, f, d, &L->ffn2)) != QTD_ST_OK ||
        (st = get_rq(b, i, "scores", &L->scores)) != QTD_ST_OK ||
        (st = get_rq(b, i, "ctx", &L->ctx)) != QTD_ST_OK ||
        (st = get_res(b, i, "res1", &L->res1)) != QTD_ST_OK ||
        (st = get_res(b, i, "res2", &L->res2)) != QTD_ST_OK ||
        (st = get_lut(b, i, &L->exp_lut)) != QTD_ST_OK ||
        (st = get_range(b, i, "q", -128, 127, &L->r_q)) != QTD_ST_OK ||
        (st = get_range(b, i, "k", -128, 127, &L->r_k)) != QTD_ST_OK ||
        (st = get_range(b, i, "v", -128, 127, &L->r_v)) != QTD_ST_OK ||
        (st = get_range(b, i, "scores", -255, 255, &L->r_scores)) != QTD_ST_OK ||
        (st = get_range(b, i, "probs", 0, 255, &probs)) != QTD_ST_OK ||
        (st = get_range(b, i, "ctx", -128, 127, &L->r_ctx)) != QTD_ST_OK ||
        (st = get_range(b, i, "attn", -128, 127, &L->r_attn)) != QTD_ST_OK ||
        (st = get_range(b, i, "res1", -128, 127, &L->r_res1)) != QTD_ST_OK ||
        (st = get_range(b, i, "ffn1", 0, 255, &L->r_ffn1)) != QTD_ST_OK ||
        (st = get_range(b, i, "ffn2", -128, 127, &L->r_ffn2)) != QTD_ST_OK ||
        (st = get_range(b, i, "res2", -128, 127, &L->r_res2)) != QTD_ST_OK) {
        return st;
    }
    if (probs.lo != 0 || probs.hi < 1) {
        return fail(b, QTD_ST_BLOB_INVALID, "probs.range is not [0, P] with P >= 1");
    }
    L->p_max = (uint16_t)probs.hi;
    return QTD_ST_OK;
}

static qtd_status_t check_limits(binder_t *b, const qtd_hparams_t *hp) {
    uint32_t work = 4u * hp->window * hp->d_model + (uint32_t)hp->window * hp->ffn;
    if (hp->heads != 1) {
        return fail(b, QTD_ST_UNSUPPORTED, "heads != 1 (this model version has one head)");
    }
    if (hp->window > QTD_KERNEL_MAX_WINDOW || hp->d_model > QTD_KERNEL_MAX_DMODEL ||
        hp->ffn > QTD_KERNEL_MAX_FFN || hp->features > QTD_KERNEL_MAX_FEATURES ||
        hp->horizon > QTD_KERNEL_MAX_HORIZON || hp->layers > QTD_KERNEL_MAX_LAYERS ||
        work > QTD_KERNEL_WORK_BYTES) {
        return fail(b, QTD_ST_UNSUPPORTED,
                    "model exceeds the MCU kernel limits (T<=32 d<=128 ffn<=512 m,H<=16 L<=4, 4Td+Tf<=8K)");
    }
    return QTD_ST_OK;
}

qtd_status_t qtd_model_bind(qtd_model_t *m, const qtd_blob_t *blob, const char **why) {
    binder_t b = {blob, why, {0}};
    const qtd_hparams_t *hp = &blob->hp;
    qtd_tensor_t head_w, head_b;
    qtd_status_t st;
    memset(m, 0, sizeof *m);
    m->blob = *blob;
    m->hp = *hp;
    if ((st = check_limits(&b, hp)) != QTD_ST_OK) {
        return st;
    }
    if ((st = get_range(&b, -1, "x", -128, 127, &m->r_x)) != QTD_ST_OK ||
        (st = get_range(&b, -1, "h0", -128, 127, &m->r_h0)) != QTD_ST_OK ||
        (st = get_range(&b, -1, "pool", -255, 255, &m->r_pool)) != QTD_ST_OK ||
        (st = get_linear(&b, -1, "in", hp->d_model, hp->features, (uint32_t)hp->window * hp->d_model,
                         &m->in)) != QTD_ST_OK ||
        (st = get_rq(&b, -1, "pool", &m->pool)) != QTD_ST_OK ||
        (st = get(&b, "head.weight", 0, 1, (uint32_t)hp->horizon * hp->d_model, &head_w)) != QTD_ST_OK ||
        (st = get(&b, "head.bias", 32, 1, hp->horizon, &head_b)) != QTD_ST_OK) {
        return st;
    }
    m->head_w = head_w.v;
    m->head_b = head_b.v.data;
    for (int i = 0; i < hp->layers; i++) {
        if ((st = bind_layer(&b, hp, i, &m->layer[i])) != QTD_ST_OK) {
            return st;
        }
    }
    /* y is int32 (model.md): |head.weight @ pool| <= d * A(pool) * 2^(b-1); the exporter
     * saturates head.bias so that the sum fits, and a blob that does not is refused here */
    int64_t a_pool = m->r_pool.hi > -m->r_pool.lo ? m->r_pool.hi : -m->r_pool.lo;
    int64_t headroom = INT32_MAX_ - (int64_t)hp->d_model * a_pool * ((int64_t)1 << (m->head_w.bits - 1));
    for (uint32_t h = 0; h < hp->horizon; h++) {
        int64_t bias = qtd_tensor_get(&head_b.v, h);
        if (bias > headroom || -bias > headroom) {
            return fail(&b, QTD_ST_BLOB_INVALID, "head.bias leaves no int32 headroom for y");
        }
    }
    return QTD_ST_OK;
}
