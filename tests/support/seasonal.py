"""A series that repeats with a short period, for the "season" scaling's tests."""

from __future__ import annotations

import numpy as np

LEVELS = np.array([0.0, 2.3, -1.5, 0.7])


def interleaved(n: int = 700, seed: int = 0) -> np.ndarray:
    """Four quantities read in turn (period 4), each drifting slowly: what is left to predict once
    the pattern is known is about 1 % of the step between phases, as in held-out set 22's appliances."""
    rng = np.random.default_rng(seed)
    drift = np.cumsum(0.004 * rng.normal(size=n))
    return LEVELS[np.arange(n) % 4] + drift + 0.002 * rng.normal(size=n)
