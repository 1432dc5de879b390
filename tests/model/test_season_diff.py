"""The "season-diff" host scaling: each change minus the change a period before in, the deviation
from the last reading plus the change a season before out (ARIMA(0,1,0)(0,1,0)'s forecast).

Why a scheme of its own: seasonal naive repeats a whole level, and where the level wanders from
one season to the next (a day of half-hourly electricity demand) what is left for the model to
output is that level change, which 4-bit activations could not carry (README, "Session 27").
These tests hold its inputs and anchor to arithmetic done here on the raw series, its first windows
to finite values that are never made up, and `auto` to trying it wherever "season" is tried (its
persistence fallback is tested beside "season"'s, test_season.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from qtdeploy.errors import FormatError, UsageError
from qtdeploy.model import baselines as B
from qtdeploy.model import data as D
from qtdeploy.model.config import ModelConfig
from qtdeploy.model.evaluate import advice, evaluate
from qtdeploy.train import export as E
from qtdeploy.train.qat import TrainSettings, schemes_tried, train


def _daily(n: int = 900, seed: int = 1, p: int = 24) -> D.Series:
    """A daily shape of ``p`` readings on a level that wanders from day to day, as electricity
    demand does: seasonal naive misses by the day-to-day level change, persistence by the shape."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    level = np.cumsum(rng.normal(scale=0.6, size=n // p + 1))
    y = 3 * np.sin(2 * np.pi * t / p) + np.repeat(level, p)[:n] + 0.05 * rng.normal(size=n)
    y = y + np.convolve(rng.normal(scale=0.2, size=n), np.ones(p) / p, mode="same")  # a smooth drift
    return D.Series(features=["load"], target="load", x=y[:, None], y=y, source="synthetic daily")


def _anchor_here(y: np.ndarray, t_last: np.ndarray, horizon: int, p: int) -> np.ndarray:
    """y[t] + y[t+h-k*p] - y[t-k*p] (k = ceil(h/p)), indexed here from the series itself."""
    out = np.empty((len(t_last), horizon))
    for h in range(1, horizon + 1):
        k = -(-h // p)
        out[:, h - 1] = y[t_last] + y[t_last + h - k * p] - y[t_last - k * p]
    return out


@pytest.mark.parametrize(("period", "horizon"), [(4, 1), (4, 6), (24, 1), (24, 3)])
def test_inputs_and_anchor_are_the_seasonal_random_walks(period: int, horizon: int) -> None:
    s, p = _daily(), period
    norm = D.fit_norm(s, 12, horizon, "season-diff", p)
    assert norm.lookback == p + 1 and norm.context(12) == 12 + p + 1 and norm.seasonal
    for name, rows in zip(("train", "val", "test"), D.series_rows(s)):
        w = D.windows(s, rows, 12, horizon, norm)
        assert w["anchor"].shape == (len(w["y"]), horizon)
        assert np.isfinite(w["x"]).all() and np.isfinite(w["anchor"]).all() and np.isfinite(w["t"]).all()
        assert np.allclose(norm.outputs(w["t"], w["anchor"], w["scale"]), w["y"], rtol=0, atol=1e-9)
        start = rows.start or 0
        t_last = start + np.arange(len(w["y"])) + 11
        whole = t_last - (-(-horizon // p)) * p >= 0  # every step's season lies inside the series
        assert whole[-1] and (name != "train" or p < 12 or not whole[0])  # p > T: the first lack it
        assert np.allclose(w["anchor"][whole], _anchor_here(s.y, t_last[whole], horizon, p), atol=1e-12)
        assert np.array_equal(w["anchor"][whole], B.seasonal_diff_naive(s, rows, 12, horizon, p)[whole])
        # inputs: (y[r] - y[r-1]) - (y[r-p] - y[r-p-1]) for the window's rows r, over x_scale
        r = t_last[whole][:, None] + np.arange(-11, 1)[None, :]
        ok = r - p - 1 >= 0
        dd = np.where(ok, s.y[r] - s.y[r - 1] - s.y[np.maximum(r - p, 0)] + s.y[np.maximum(r - p - 1, 0)], 0)
        assert np.allclose(w["x"][whole][..., 0] * norm.x_scale[0], dd, atol=1e-12)
        if name == "train":  # a step whose season precedes the series: the last reading, as "season"
            assert np.array_equal(w["anchor"][~whole, -1], w["raw"][~whole, -1, 0])
    if p == 24:  # the series' own period: the anchor leaves less to output than the others do
        assert norm.y_season < D.fit_norm(s, 12, horizon, "season", p).y_season
        assert norm.y_season < norm.y_scale
    back = D.Norm.from_dict(norm.to_dict())
    assert (back.scheme, back.period, back.lookback, back.y_season) == (
        "season-diff",
        p,
        p + 1,
        norm.y_season,
    )
    raw = D.windows(s, D.series_rows(s)[2], 12, horizon, norm)["raw"]
    assert np.array_equal(back.inputs(raw), norm.inputs(raw))
    with pytest.raises(FormatError, match="lookback of the period \\+ 1"):
        D.Norm.from_dict({**norm.to_dict(), "lookback": p})
    with pytest.raises(FormatError, match="period of 1"):
        D.Norm.from_dict({**norm.to_dict(), "period": 1})


@pytest.mark.parametrize("period", [None, 1, 316])
def test_season_diff_needs_the_period_rule_of_season(period: int | None) -> None:
    """900 readings: 630 in training, so 315 is the longest period (``data.season_fits``)."""
    with pytest.raises(UsageError, match="--period"):
        D.fit_norm(_daily(), 12, 1, "season-diff", period)
    assert D.fit_norm(_daily(), 12, 1, "season-diff", 315).context(12) == 12 + 316


def test_auto_tries_season_diff_wherever_it_tries_season() -> None:
    s = _daily()
    for period in (None, 1, 4, 24, 315, 316):
        tried = schemes_tried(TrainSettings(scheme="auto", period=period), s, 12)
        assert ("season" in tried) == ("season-diff" in tried) == D.season_fits(period, s)
    other = D.Series(features=["q"], target="load", x=s.x, y=s.y, source="target not an input")
    assert "season-diff" not in schemes_tried(TrainSettings(scheme="auto", period=24), other, 12)


def test_eval_reports_the_anchor_as_a_baseline_and_advises_on_it() -> None:
    """The baseline `eval` reports beside seasonal naive is this scheme's zero output."""
    s = _daily()
    base = B.baselines(s, "test", 12, 1, D.fit_norm(s, 12, 1, "last"), 24)
    assert base["seasonal_diff_rmse"] < min(base["seasonal_rmse"], base["persistence_rmse"])
    lost = {**base, "rmse": 1.01 * base["seasonal_diff_rmse"], "scheme": "last", "window": 12}
    (said,) = [a for a in advice(lost) if "change over the same steps a season before" in a]
    assert "--scaling season-diff --period P" in said
    own = [a for a in advice({**lost, "scheme": "season-diff"}) if "a season before does better" in a]
    assert len(own) == 1 and "the model forecasts the deviation from it" in own[0]
    assert not [
        a for a in advice({**lost, "rmse": 0.99 * base["seasonal_diff_rmse"]}) if "season before" in a
    ]


def test_season_diff_at_4_bits_beats_season_where_the_level_wanders() -> None:
    """The reason for the scheme, at the smallest model that shows it: integer-only, 4 bits, the
    same float budget. The anchor is closer, and what is left fits 4-bit activations."""
    s = _daily(1500)
    cfg = ModelConfig.uniform(window=12, features=1, d_model=8, bits=4)
    rmse = {}
    for scheme in ("season", "season-diff"):
        st = TrainSettings(epochs=3, patience=3, min_steps=0, scheme=scheme, period=24, fallback=False)
        res = train(s, cfg, st)
        im = E.export(res.model, {"norm": res.norm.to_dict(), "features": s.features, "target": s.target})
        r = evaluate(im, s, "test", 24)
        rmse[scheme] = r["rmse"]
        assert res.norm.scheme == scheme
    assert rmse["season-diff"] < 0.8 * rmse["season"]
    assert rmse["season-diff"] < r["persistence_rmse"]
