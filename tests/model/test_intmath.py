"""The integer building blocks: rounding rule, dyadic multipliers, integer softmax, tables."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from qtdeploy.model.intmath import INT32_MAX, dyadic, dyadic_pair, exp_lut, requant_int, softmax_int


def test_requant_rounds_half_up_and_clamps() -> None:
    acc = np.array([-5, -3, -1, 1, 3, 5, 1000, -1000])
    # multiply by 1/2 exactly: M = 2^30, s = 31
    out = requant_int(acc, np.array(1 << 30), np.array(31), -128, 127)
    assert out.tolist() == [-2, -1, 0, 1, 2, 3, 127, -128]  # -2.5 -> -2, 2.5 -> 3


@given(st.floats(min_value=1e-12, max_value=1e6, allow_nan=False))
def test_dyadic_is_accurate_and_in_range(m: float) -> None:
    mult, shift = dyadic(m)
    assert 1 <= mult <= INT32_MAX and 1 <= shift <= 62
    if shift < 62:
        assert mult >= 1 << 30
        assert math.isclose(mult / 2.0**shift, m, rel_tol=2.0**-30)


@given(st.floats(1e-6, 100), st.floats(1e-6, 100))
def test_dyadic_pair_shares_one_shift(a: float, b: float) -> None:
    (ma, mb), s = dyadic_pair(a, b)
    assert max(ma, mb) <= INT32_MAX and 1 <= s <= 62
    big = max(a, b)
    assert math.isclose(max(ma, mb) / 2.0**s, big, rel_tol=2.0**-30)
    assert abs(min(ma, mb) / 2.0**s - min(a, b)) <= 2.0**-s


def test_exp_lut_starts_at_32767_and_ends_at_zero_or_full() -> None:
    lut = exp_lut(0.1, 8)
    assert lut[0] == 32767 and np.all(np.diff(lut) <= 0) and lut[-1] == 0 and len(lut) < 256
    assert len(exp_lut(1e-4, 4)) == 16  # wide table, cut at 2^bits


@given(st.integers(2, 8), st.integers(1, 16), st.integers(0, 2**32 - 1))
def test_integer_softmax_bounds(bits: int, t: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores = rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), size=(3, t, t))
    p_max = 255
    out = softmax_int(scores, exp_lut(0.05, bits), p_max)
    assert out["probs"].min() >= 0 and out["probs"].max() <= p_max
    assert np.all(out["expsum"] >= 32767) and np.all(out["expsum"] <= t * 32767)
    assert np.all(out["recip"] < 1 << 15)
    assert np.all(out["exp"] * out["recip"][..., None] + (1 << 21) < 1 << 30)
    # rows sum to about P: each element is off by at most one rounding plus the reciprocal's error
    assert np.all(np.abs(out["probs"].sum(-1) - p_max) <= t)
