"""Synthetic series the model tests share."""

from __future__ import annotations

import numpy as np

from qtdeploy.model import data as D


def random_walk(n: int = 400) -> D.Series:
    """A Gaussian random walk (seed 3): nothing on its windows beats persistence but by chance."""
    y = np.cumsum(np.random.default_rng(3).normal(size=n))
    return D.Series(features=["y"], target="y", x=y[:, None], y=y, source="synthetic random walk")


def wandering_season(n: int = 400, seed: int = 0) -> D.Series:
    """A season of 12 readings on a wandering level: persistence misses by the season's turn, the
    last reading plus a season's change (the fallback where a period is given) by the level's steps
    and the noise only."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = 10 * np.sin(2 * np.pi * t / 12) + np.cumsum(rng.normal(0, 0.3, n)) + rng.normal(0, 0.2, n)
    return D.Series(features=["y"], target="y", x=y[:, None], y=y, source="synthetic seasonal")
