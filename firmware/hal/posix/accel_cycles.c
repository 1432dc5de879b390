/* The RTL's cycles per inference (protocol/regmap.md "Accelerator timing on the virtual board").
 *
 * ONE place for the formula: whoever changes the sequencer in rtl/qtd_engine.v updates this file,
 * and tests/firmware/test_accel_cycles.py compares it with cycles measured from the Verilated RTL
 * (recorded numbers in the default slice, a live simulation with -m slow).
 *
 * Derived from qtd_engine.v's sequencer: START reaches the engine and leaves IDLE (2 cycles,
 * counted by qtd_top's CYCLES); the input copy takes T*M cycles; each of the 11 matrix phases
 * takes 1 setup cycle, no*ni*kg issue cycles (kg = ceil(reduction / LANES) words per dot product),
 * 16 drain cycles and 1 hand-over cycle; the softmax takes, per row, T (max) + T (exp and sum)
 * + 32 (restoring divider) + T (probabilities) cycles. Data never changes the count. */
#include "accel_cycles.h"

static uint64_t groups(uint64_t k, uint64_t lanes) {
    return (k + lanes - 1u) / lanes;
}

uint32_t accel_cycles(uint32_t T, uint32_t M, uint32_t D, uint32_t F, uint32_t H, uint32_t L) {
    const uint64_t t = T, d = D, f = F;
    const uint64_t kgm = groups(M, L), kgd = groups(D, L), kgf = groups(F, L), kgt = groups(T, L);
    const uint64_t phase_overhead = 1u + 16u + 1u; /* setup, drain, hand-over */
    uint64_t issue = t * d * kgm                   /* IN: h0 = in.weight @ x[t] */
                     + 3u * t * d * kgd            /* Q, K, V (V computed transposed: d x t x kgd) */
                     + t * t * kgd                 /* SCORES */
                     + t * d * kgt                 /* CTX = probs @ v */
                     + t * d * kgd                 /* O (+ res1) */
                     + t * f * kgd                 /* FFN1 */
                     + t * d * kgf                 /* FFN2 (+ res2, pooling sums) */
                     + d                           /* POOL */
                     + (uint64_t)H * kgd;          /* HEAD */
    uint64_t softmax = t * (3u * t + 32u);
    uint64_t total = 2u + t * M + issue + 11u * phase_overhead + softmax;
    return total > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)total;
}
