"""The host integer reference's answers for a forecast source: what every checked window must equal."""

from __future__ import annotations

import numpy as np

from qtdeploy.forecast.sources import Columns, open_source
from qtdeploy.forecast.window import Scaling, Windower
from qtdeploy.model import reference
from qtdeploy.model.intmodel import load
from qtdeploy.paths import repo_root

FORECASTER = repo_root() / "examples" / "forecaster" / "temps-w12-d32-w4a8.qtb"


def expected(spec: str, count: int) -> np.ndarray:
    """The reference's integer outputs for the first ``count`` windows of source ``spec``."""
    im = load(FORECASTER)
    sc = Scaling.from_model(im)
    w = Windower(sc, im.config.window, im.config.horizon)
    xs = []
    for r in open_source(spec, Columns(sc.features, sc.target), norm=sc.norm):
        win = w.push(r)
        if win is not None:
            xs.append(win.x)
        if len(xs) == count:
            break
    return reference.forward(im, np.stack(xs).astype(np.int64))
