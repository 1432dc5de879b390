"""How sure a comparison of two forecasts on the same windows is: the Diebold-Mariano statistic.

numpy only, so that `eval` (base package: no torch, no scipy) and `train`'s choices (``qat``: the
persistence fallback, `auto`'s scheme) read one number the same way. ``qat._critical`` turns a
margin into the statistic a choice needs on a span (Student's t, with scipy); `eval` only reports.
"""

from __future__ import annotations

import numpy as np

#: how many standard errors of the per-window difference in squared error a quantised model must
#: beat persistence by on validation to ship (see ``qat._persistence_fallback``; ``TrainSettings``
#: and `train --persistence-margin` change it). Like every margin of `train`'s in "standard errors",
#: it is read through ``qat._critical``: at its one-sided level on Student's t, so on a span of a few
#: windows it is wider. Measured against other rules on 27 series x 3 seeds at 8 bits (README,
#: "Session 20"): a margin of 1.64 or 1.28, a test on absolute errors or on ranks each met fewer
#: targets (so again over 59 series in session 28, bench/fallback_study.py). Here, torch-free, so that `eval`'s warning (``evaluate.SE_WARN``) takes the same number
FALLBACK_MARGIN_SE = 2.0


def paired_z(diff: np.ndarray, horizon: int = 1) -> float:
    """How far below zero a per-window difference in loss is: the Diebold-Mariano statistic with
    Harvey, Leybourne and Newbold's small-sample correction (1997), to be read against Student's t
    on n-1 degrees of freedom. Why this and not mean / SE against a fixed z: the windows overlap, so
    with a horizon h the losses of windows up to h-1 apart share targets (the variance adds their
    autocovariances), and on a short span the spread itself is an estimate from a few windows. For
    h = 1 it is the paired t statistic, mean / (sd / sqrt(n)). -inf when every window is lower by
    the same amount; 0 when the spread is unknown (one window).
    """
    x = np.asarray(diff, dtype=np.float64).reshape(-1)
    n, h = len(x), max(1, horizon)
    if n < 2:
        return 0.0
    mean = float(x.mean())
    d = x - mean
    gamma = [float((d[k:] * d[: n - k]).sum()) / n for k in range(min(h, n))]
    var = (gamma[0] + 2 * sum(gamma[1:])) / n
    if var <= 0:  # the autocovariances can outweigh the variance on a short span: use the variance
        var = gamma[0] / n
    hln = (n + 1 - 2 * h + h * (h - 1) / n) / n
    if hln <= 0:  # a span barely longer than the horizon: no test
        return 0.0
    if var <= 0:
        return float("-inf") if mean < 0 else 0.0
    return mean / var**0.5 * hln**0.5


def se_ahead(pred: np.ndarray, baseline: np.ndarray, true: np.ndarray) -> float | None:
    """How many standard errors ``pred`` (N, H) is ahead of ``baseline`` in mean squared error per
    window (``paired_z`` of the difference, negated: > 0 is ahead); None where that is infinite
    (every window ahead by the same amount) or undefined (under 2 windows, or the same squared error
    on every window: a model that ships persistence)."""
    err = np.mean((np.asarray(pred) - true) ** 2, axis=1)
    base = np.mean((np.asarray(baseline) - true) ** 2, axis=1)
    if len(err) < 2 or np.array_equal(err, base):
        return None
    z = paired_z(err - base, np.asarray(true).shape[1])
    return -z if np.isfinite(z) else None
