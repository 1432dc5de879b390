"""What the accelerator must store, in bits, against the XC7S15's block RAM: a lower bound.

Synthesis counts (qtdeploy.rtl.synth) say what a design *uses*; this says what *any* design with
run-time-loaded weights must hold for a model, whatever the packing: every weight at its bit
width, the per-channel bias / multiplier / shift at the blob's widths (int32, int32, uint8), the
(T, d) int32 `in.bias`, and the activation buffers that are live at the same time. When the
content alone exceeds the block RAM, the rest must sit in distributed RAM (LUTs of SLICEMs) or the
model cannot be built on the part: the report says so instead of leaving it to a failed place.
"""

from __future__ import annotations

from qtdeploy.rtl.config import RtlConfig

RAMB36_BITS = 36 * 1024  # 32 Kib data + 4 Kib parity, all usable at 72-bit width
XC7S15_RAMB36 = 10
XC7S15_LUTRAM_BITS = 150 * 1024  # DS180: 150 Kb distributed RAM (every SLICEM LUT as RAM)


def content_bits(cfg: RtlConfig) -> dict[str, int]:
    """Bits each class of contents needs at perfect packing (protocol/model.md, layers = 1)."""
    t, m, d, f, h = cfg.window, cfg.features, cfg.d_model, cfg.ffn, cfg.horizon
    wb, ab = cfg.weight_bits, cfg.act_bits
    weights = wb * (d * m + 4 * d * d + 2 * d * f + h * d)
    per_channel = 32 * (5 * d + f + h) + (32 + 8) * (6 * d + f)  # biases; multipliers + shifts
    in_bias = 32 * t * d
    # h0, q, k, v, ctx, res1 (t x d), ffn1 (t x f), probs (t x t), scores (t x t, 10 bit)
    activations = ab * (6 * t * d + t * f + t * t) + 10 * t * t
    return {"weights": weights, "per_channel": per_channel, "in_bias": in_bias, "activations": activations}


def budget(cfg: RtlConfig) -> dict:
    """Content bits against the XC7S15's block RAM (and its distributed RAM for what overflows)."""
    parts = content_bits(cfg)
    total = sum(parts.values())
    bram = XC7S15_RAMB36 * RAMB36_BITS
    return {
        "bits": parts,
        "total_bits": total,
        "bram_bits": bram,
        "weights_share_of_bram": parts["weights"] / bram,
        "total_share_of_bram": total / bram,
        "overflow_bits": max(0, total - bram),
        "lutram_bits": XC7S15_LUTRAM_BITS,
        "bound_fits_bram": total <= bram,
    }
