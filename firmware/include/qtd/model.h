/* The integer forecaster bound to a parsed blob (protocol/model.md), and the MCU-only kernel
 * that runs it.
 *
 * Memory. The blob's packed tensors stay packed in RAM, in an arena the board hands over
 * (qtd_model_set_arena): the RP2040 has 264 KiB of SRAM and the paper's largest configuration
 * (d=64, ffn=256, 8-bit) is 62 KiB, so keeping the weights resident is cheap, and it keeps the
 * model independent of the shared SPI flash (which the FPGA also uses) once loaded. Weights are
 * unpacked one output row at a time, just before the T rows that use it, so the unpack cost is
 * paid once per row and the inner loop is int8 x int8 at every width. Activations live in a
 * static work area sized by the compile-time limits below; a model beyond them is UNSUPPORTED.
 *
 * Limits (the paper's configurations are T in {6, 12}, d in {32, 64}, ffn = 4d, m = 4, H = 1):
 *   window T <= 32, d_model <= 128, ffn <= 512, features <= 16, horizon <= 16, layers <= 4,
 *   heads = 1, and 4*T*d + T*ffn <= QTD_KERNEL_WORK_BYTES (8 KiB: T = 16 at d = 64, ffn = 256;
 *   T = 32 at d = 32, ffn = 128). Why these: the core's static RAM budget is 32 KiB (README),
 *   12 KiB of it taken by the link; the work area, one weight row and the bound model (~1.3 KiB
 *   at 4 layers) fit the rest with room for the streaming and power issues.
 * Activations are kept as int8 (unsigned ones, ffn1 and probs, as uint8 / int32 rows), so every
 * activation range must fit its buffer; bind checks it. */
#ifndef QTD_MODEL_H
#define QTD_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qtd/blob.h"
#include "qtd/status.h"

#define QTD_KERNEL_MAX_WINDOW   32u
#define QTD_KERNEL_MAX_DMODEL   128u
#define QTD_KERNEL_MAX_FFN      512u
#define QTD_KERNEL_MAX_FEATURES 16u
#define QTD_KERNEL_MAX_HORIZON  16u
#define QTD_KERNEL_MAX_LAYERS   4u
#define QTD_KERNEL_WORK_BYTES   8192u

/* The arena a board sets aside for the packed blob (outside the core's 32 KiB static budget):
 * 128 KiB of the RP2040's 264 KiB, twice the paper's largest model (62 KiB with its metadata). */
#define QTD_MODEL_ARENA_SIZE (128u * 1024u)

typedef struct {
    int16_t lo, hi;
} qtd_range_t;

/* One linear layer: packed weight (out, in), int32 bias, per-channel mult (int32) and shift (u8). */
typedef struct {
    qtd_vec_t w, shift;
    const uint8_t *bias, *mult; /* int32 little-endian, 4-byte aligned in the blob */
    uint16_t n_out, n_in;
} qtd_linear_t;

/* Per-tensor requant (scores, ctx, pool): one mult, one shift. */
typedef struct {
    int32_t mult;
    uint8_t shift;
} qtd_rq_t;

/* Residual add: two multipliers, one shift. */
typedef struct {
    int32_t mult[2];
    uint8_t shift;
} qtd_res_t;

typedef struct {
    qtd_linear_t q, k, v, o, ffn1, ffn2;
    qtd_rq_t scores, ctx;
    qtd_res_t res1, res2;
    qtd_range_t r_q, r_k, r_v, r_scores, r_ctx, r_attn, r_res1, r_ffn1, r_ffn2, r_res2;
    uint16_t p_max;    /* probs.range[1] */
    qtd_vec_t exp_lut; /* 16-bit unsigned, exp_lut[0] = 32767 */
} qtd_layer_t;

typedef struct {
    qtd_blob_t blob;
    qtd_hparams_t hp;
    qtd_range_t r_x, r_h0, r_pool;
    qtd_linear_t in; /* bias is (T, d): bias plus positional encoding */
    qtd_layer_t layer[QTD_KERNEL_MAX_LAYERS];
    qtd_rq_t pool;
    qtd_vec_t head_w;
    const uint8_t *head_b; /* int32 */
} qtd_model_t;

/* Bind a parsed blob: find every tensor of protocol/model.md by name, check shapes, widths,
 * zero points, requant parameters (1 <= M <= 2^31-1, 1 <= s <= 62), LUT and the limits above.
 * BLOB_INVALID for a blob that breaks protocol/model.md, UNSUPPORTED for one beyond the limits. */
qtd_status_t qtd_model_bind(qtd_model_t *m, const qtd_blob_t *blob, const char **why);

/* ---- the kernel ---------------------------------------------------------------------------- */

/* Intermediate tensors, for tests and debugging (protocol/model.md vector names). */
typedef enum {
    QTD_TR_H0,
    QTD_TR_Q,
    QTD_TR_K,
    QTD_TR_V,
    QTD_TR_SCORES,
    QTD_TR_EXP,
    QTD_TR_EXPSUM,
    QTD_TR_RECIP,
    QTD_TR_PROBS,
    QTD_TR_CTX,
    QTD_TR_ATTN,
    QTD_TR_RES1,
    QTD_TR_FFN1,
    QTD_TR_FFN2,
    QTD_TR_RES2,
    QTD_TR_POOL,
    QTD_TR_Y,
} qtd_trace_id_t;

typedef enum { QTD_TR_I8, QTD_TR_U8, QTD_TR_I32 } qtd_trace_type_t;

/* Called with one row of a tensor (row index within its first axis; 0 for pool and y), in the
 * kernel's order: a tensor's rows ascend, tensors follow protocol/model.md's table. v points at
 * n elements of the given type. */
typedef void (*qtd_trace_fn)(void *ctx, qtd_trace_id_t id, unsigned layer, unsigned row, const void *v,
                             qtd_trace_type_t type, unsigned n);

/* One window x (T*m int8, row-major) -> y (H int32). BAD_ARGUMENT if x leaves x.range. */
qtd_status_t qtd_kernel_run(const qtd_model_t *m, const int8_t *x, int32_t *y, qtd_trace_fn trace,
                            void *trace_ctx);

/* ---- the loaded model (MODEL_LOAD / INFER state) ------------------------------------------- */

/* The board's RAM for a loaded blob; without one MODEL_LOAD for the MCU engine is UNSUPPORTED. */
void qtd_model_set_arena(uint8_t *arena, uint32_t size);
/* Copy the blob at a flash range into the arena, hashing it on the way (the metadata JSON at
 * its end is hashed, not kept), then parse and bind it. On any error nothing stays loaded. */
qtd_status_t qtd_model_load_flash(uint32_t addr, uint32_t region_size, const char **why);
void qtd_model_unload(void);
/* The loaded model, NULL if none. */
const qtd_model_t *qtd_model_loaded(void);

#endif /* QTD_MODEL_H */
