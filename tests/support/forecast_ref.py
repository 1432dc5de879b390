"""The host integer reference's answers for a forecast source: what every checked window must equal."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qtdeploy.forecast.sources import Columns, open_source
from qtdeploy.forecast.window import Scaling, Window, Windower
from qtdeploy.model import reference
from qtdeploy.model.intmodel import load
from qtdeploy.paths import repo_root

FORECASTER = repo_root() / "examples" / "forecaster" / "temps-w12-d32-w4a8.qtb"
#: four weather features in, max temperature out (the golden vectors' 4-bit model, scheme "last")
WEATHER = repo_root() / "protocol" / "vectors" / "model" / "w12_d32_b4" / "model.qtb"
#: a "season" model at horizon 3 (protocol/vectors/host: seattle-temps, period 4)
SEASON = repo_root() / "protocol" / "vectors" / "host" / "w12_d32_b8_season_h3" / "model.qtb"
#: a "season" model of this version: period 12 at window 12, its inputs reading the period before
#: the window (``Norm.lookback``); SEASON's blob predates that and reads none
SEASON12 = repo_root() / "protocol" / "vectors" / "host" / "w12_d32_b8_season12_h3" / "model.qtb"
#: period 24 at window 12 (session 26): a context of 36 readings; until a period has arrived a
#: live run's forecasts are relative to the last reading
SEASON24 = repo_root() / "protocol" / "vectors" / "host" / "w12_d32_b8_season24_h3" / "model.qtb"
#: "season-diff" (session 27), period 24 at window 12, 4 bits: a context of 37 readings, the
#: forecast relative to the last reading plus the change a season before
SEASONDIFF24 = repo_root() / "protocol" / "vectors" / "host" / "w12_d32_b4_seasondiff24_h3" / "model.qtb"


def windows(qtb: Path, spec: str, count: int) -> tuple[Scaling, list[Window]]:
    """The blob's scaling and the first ``count`` windows `forecast` makes of source ``spec``."""
    im = load(qtb)
    sc = Scaling.from_model(im)
    w = Windower(sc, im.config.window, im.config.horizon)
    wins: list[Window] = []
    for r in open_source(spec, Columns(sc.features, sc.target), norm=sc.norm):
        win = w.push(r)
        if win is not None:
            wins.append(win)
        if len(wins) == count:
            break
    return sc, wins


def expected(spec: str, count: int, qtb: Path = FORECASTER) -> np.ndarray:
    """The reference's integer outputs for the first ``count`` windows of source ``spec``."""
    _, wins = windows(qtb, spec, count)
    return reference.forward(load(qtb), np.stack([w.x for w in wins]).astype(np.int64))
