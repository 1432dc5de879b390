"""Integer building blocks of protocol/model.md, and the export-time float-to-integer conversions.

The functions named ``*_int`` are the device arithmetic (int64 NumPy, no float). The others run once
at export on the host and turn float scales into the integers the device uses; they are the only
place floats meet the integer model.
"""

from __future__ import annotations

import math

import numpy as np

from qtdeploy.errors import CompatibilityError

INT32_MAX = (1 << 31) - 1
EXP_ONE = 32767  # exp_lut[0]: exp(0) in the table's fixed point
RECIP_SHIFT = 22  # probs = (exp * R + 2^21) >> 22
SHIFT_MIN, SHIFT_MAX = 1, 62


def round_half_up(x: np.ndarray | float) -> np.ndarray:
    """Host-side rounding used for every float->int conversion: floor(x + 0.5), like the device's."""
    return np.floor(np.asarray(x, dtype=np.float64) + 0.5).astype(np.int64)


def dyadic(m: float) -> tuple[int, int]:
    """A positive real multiplier as (M, s) with m ~= M / 2^s, M in [2^30, 2^31) where s allows.

    Normalising M to 31 bits keeps ~9 decimal digits of the scale; s is clipped to [1, 62] so the
    int64 rounding term never overflows (protocol/model.md, requantisation).
    """
    if not m > 0 or not math.isfinite(m):
        raise CompatibilityError(
            f"requantisation multiplier {m!r} is not a positive finite number.",
            "Retrain: a scale collapsed to zero or diverged.",
        )
    mant, exp = math.frexp(m)  # m = mant * 2^exp, mant in [0.5, 1)
    shift = 31 - exp
    mult = int(round_half_up(mant * (1 << 31)))
    if mult == 1 << 31:
        mult, shift = 1 << 30, shift - 1
    if shift > SHIFT_MAX:
        mult = int(round_half_up(m * 2.0**SHIFT_MAX))
        shift = SHIFT_MAX
    if shift < SHIFT_MIN:
        raise CompatibilityError(
            f"requantisation multiplier {m:.3g} is too large for a shift >= 1.",
            "Retrain with activation scales that are not degenerate.",
        )
    return max(mult, 1), shift


def dyadic_pair(ma: float, mb: float) -> tuple[tuple[int, int], int]:
    """Two multipliers with one common shift (the residual add): the larger one sets the shift."""
    big, shift = dyadic(max(ma, mb))
    small = int(round_half_up(min(ma, mb) * 2.0**shift))
    if small > INT32_MAX:
        small = INT32_MAX
    mults = (big, max(small, 1)) if ma >= mb else (max(small, 1), big)
    return mults, shift


def requant_int(acc: np.ndarray, mult: np.ndarray, shift: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """clamp((acc * M + 2^(s-1)) >> s, lo, hi) in int64; M, s broadcast over the last axis."""
    acc = acc.astype(np.int64)
    mult = np.asarray(mult, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    out = (acc * mult + (np.int64(1) << (shift - 1))) >> shift
    return np.clip(out, lo, hi)


def softmax_int(scores: np.ndarray, lut: np.ndarray, p_max: int) -> dict[str, np.ndarray]:
    """Integer softmax over the last axis: table look-up, integer sum, one division per row."""
    scores = scores.astype(np.int64)
    lut = lut.astype(np.int64)
    idx = np.minimum(scores.max(axis=-1, keepdims=True) - scores, len(lut) - 1)
    e = lut[idx]
    z = e.sum(axis=-1)
    recip = (np.int64(p_max) * (1 << RECIP_SHIFT) + (z >> 1)) // z
    probs = np.minimum((e * recip[..., None] + (1 << (RECIP_SHIFT - 1))) >> RECIP_SHIFT, p_max)
    return {"exp": e, "expsum": z, "recip": recip, "probs": probs}


def exp_lut(score_scale: float, score_bits: int) -> np.ndarray:
    """exp_lut[i] = round(32767 * exp(-i * S)), cut after the first zero or at 2^bits entries."""
    n = 1 << score_bits
    table = round_half_up(EXP_ONE * np.exp(-np.arange(n) * score_scale))
    zeros = np.nonzero(table == 0)[0]
    if zeros.size:
        table = table[: zeros[0] + 1]
    return table.astype(np.int64)


def positional_encoding(window: int, d_model: int) -> np.ndarray:
    """Sinusoidal PE (sin on even channels, cos on odd, base 10000), float, shape (T, d)."""
    pos = np.arange(window, dtype=np.float64)[:, None]
    i = np.arange(d_model, dtype=np.float64)[None, :]
    angle = pos / np.power(10000.0, (2 * np.floor(i / 2)) / d_model)
    return np.where(np.arange(d_model)[None, :] % 2 == 0, np.sin(angle), np.cos(angle))


def saturate_bias(bias: np.ndarray, fan_in: int, in_max: int, w_max: int) -> tuple[np.ndarray, int]:
    """Clamp an int32 bias so |sum(x*w) + bias| <= 2^31-1 for every input in range.

    Returns the bias and how many entries were saturated (0 in every model we have trained; the
    exporter reports it rather than silently wrapping).
    """
    limit = INT32_MAX - fan_in * in_max * w_max
    if limit <= 0:
        raise CompatibilityError(
            f"a linear layer with fan-in {fan_in} at these widths can overflow int32.",
            "Use a smaller layer or narrower widths.",
        )
    clipped = np.clip(bias, -limit, limit)
    return clipped.astype(np.int64), int(np.count_nonzero(clipped != bias))


def quantise_input(x: np.ndarray, input_scale: float, lo: int, hi: int) -> np.ndarray:
    """Host-side input quantisation (floats allowed here: this runs before the device)."""
    return np.clip(np.floor(np.asarray(x, dtype=np.float64) / input_scale + 0.5), lo, hi).astype(np.int64)
