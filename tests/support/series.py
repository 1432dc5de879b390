"""Synthetic series the model tests share."""

from __future__ import annotations

import numpy as np

from qtdeploy.model import data as D


def random_walk(n: int = 400) -> D.Series:
    """A Gaussian random walk (seed 3): nothing on its windows beats persistence but by chance."""
    y = np.cumsum(np.random.default_rng(3).normal(size=n))
    return D.Series(features=["y"], target="y", x=y[:, None], y=y, source="synthetic random walk")
