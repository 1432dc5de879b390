"""The "season" host scaling: seasonal differences in, the deviation from seasonal naive out.

Why a scheme of its own: on a series that repeats with a short period (interleaved channels,
quarterly data) a window relative to its last reading spends the 8-bit range on the known pattern
(README, "Session 23"). These tests hold its arithmetic to the seasonal-naive baseline's, its
persistence fallback to exact persistence, and `auto` to trying it only where it can work.
"""

from __future__ import annotations

import numpy as np
import pytest

from qtdeploy.errors import FormatError, UsageError
from qtdeploy.model import baselines as B
from qtdeploy.model import data as D
from qtdeploy.model.config import ModelConfig
from qtdeploy.model.evaluate import evaluate
from qtdeploy.train import export as E
from qtdeploy.train.qat import TrainSettings, schemes_tried, train
from support.seasonal import interleaved


def _interleaved(n: int = 700, seed: int = 0) -> D.Series:
    """``support.seasonal.interleaved`` as a one-feature series."""
    y = interleaved(n, seed)
    return D.Series(features=["p"], target="p", x=y[:, None], y=y, source="synthetic interleaved")


def _random_walk(n: int = 500) -> D.Series:
    y = np.cumsum(np.random.default_rng(3).normal(size=n))
    return D.Series(features=["y"], target="y", x=y[:, None], y=y, source="synthetic random walk")


@pytest.mark.parametrize("horizon", [1, 3, 6])
def test_anchor_is_seasonal_naive_and_outputs_invert_targets(horizon: int) -> None:
    s = _interleaved()
    norm = D.fit_norm(s, 12, horizon, "season", 4)
    for rows in D.series_rows(s):
        w = D.windows(s, rows, 12, horizon, norm)
        assert w["anchor"].shape == (len(w["y"]), horizon)
        assert np.array_equal(w["anchor"], B.seasonal_naive(s, rows, 12, horizon, 4))
        assert np.allclose(norm.outputs(w["t"], w["anchor"], w["scale"]), w["y"], rtol=0, atol=1e-12)
        # persistence in the model's units is not 0 here (it is under "last")
        assert np.allclose(norm.outputs(w["pt"], w["anchor"], w["scale"]), w["persist"], rtol=0, atol=1e-12)
        assert np.abs(w["pt"]).max() > 1
    # inputs: x[t] - x[t-4] over x_scale for every row, the first four read from the period of
    # context before the window (here from the validation span's last rows)
    te = D.series_rows(s)[2]
    raw = D.windows(s, te, 12, horizon, norm)["raw"]
    assert raw.shape[1] == norm.context(12) == 16
    assert np.array_equal(raw[0], s.x[te.start - 4 : te.start + 12])
    z = norm.inputs(raw)
    assert z.shape[1] == 12 and np.all(z != 0)
    assert np.allclose(z * norm.x_scale, raw[:, 4:] - raw[:, :-4])
    # the target's deviation from seasonal naive is ~1 % of its change from the last reading
    assert norm.y_season / norm.y_scale < 0.05
    back = D.Norm.from_dict(norm.to_dict())
    assert (back.scheme, back.period, back.lookback, back.y_season) == ("season", 4, 4, norm.y_season)
    assert np.array_equal(back.inputs(raw), z)
    with pytest.raises(FormatError, match="period of 0"):
        D.Norm.from_dict({**norm.to_dict(), "period": 0})
    with pytest.raises(FormatError, match="lookback of 3"):
        D.Norm.from_dict({**norm.to_dict(), "lookback": 3})


def test_the_first_windows_of_a_series_have_zeros_where_no_reading_precedes_them() -> None:
    """Training's first windows (and a live run's, ``Windower``) have no period before them: NaN
    context rows, read as a zero seasonal difference, never as a number made up."""
    s = _interleaved()
    norm = D.fit_norm(s, 12, 1, "season", 4)
    w = D.windows(s, D.series_rows(s)[0], 12, 1, norm)
    assert np.isnan(w["raw"][0, :4]).all() and np.isfinite(w["raw"][4]).all()
    assert np.all(w["x"][0, :4] == 0) and np.all(w["x"][0, 4:] != 0)
    assert np.all(w["x"][2, :2] == 0) and np.all(w["x"][2, 2:] != 0)
    assert np.isfinite(w["x"]).all() and np.isfinite(w["t"]).all() and np.isfinite(w["anchor"]).all()
    # the window itself is the model-independent one the baselines read
    plain = D.windows(s, D.series_rows(s)[0], 12, 1, D.fit_norm(s, 12, 1, "last"))["raw"]
    assert np.array_equal(w["raw"][:, -12:], plain)


def test_blobs_from_before_the_lookback_run_as_they_were_trained() -> None:
    """A blob written before ``lookback`` (no key) reads no context: zeros for t < p."""
    s = _interleaved()
    d = D.fit_norm(s, 12, 1, "season", 4).to_dict()
    del d["lookback"]
    legacy = D.Norm.from_dict(d)
    assert legacy.lookback == 0 and legacy.context(12) == 12
    raw = D.windows(s, D.series_rows(s)[2], 12, 1, legacy)["raw"]
    assert raw.shape[1] == 12
    z = legacy.inputs(raw)
    assert np.all(z[:, :4] == 0)
    assert np.allclose(z[:, 4:] * legacy.x_scale, raw[:, 4:] - raw[:, :-4])


@pytest.mark.parametrize("period", [None, 1, 13, 30])
def test_season_needs_a_period_of_at_most_the_window(period: int | None) -> None:
    with pytest.raises(UsageError, match="--period"):
        D.fit_norm(_interleaved(), 12, 1, "season", period)


def test_auto_tries_season_with_a_period_up_to_the_window_of_an_input_target() -> None:
    s = _interleaved()
    auto = TrainSettings(scheme="auto")
    assert "season" not in schemes_tried(auto, s, 12)
    assert schemes_tried(TrainSettings(scheme="auto", period=4), s, 12)[-1] == "season"
    assert "season" in schemes_tried(TrainSettings(scheme="auto", period=7), s, 12)
    assert "season" in schemes_tried(TrainSettings(scheme="auto", period=12), s, 12)  # monthly at 12
    assert "season" not in schemes_tried(TrainSettings(scheme="auto", period=13), s, 12)
    assert "season" not in schemes_tried(TrainSettings(scheme="auto", period=1), s, 12)
    other = D.Series(features=["q"], target="p", x=s.x, y=s.y, source="target not an input")
    assert "season" not in schemes_tried(TrainSettings(scheme="auto", period=4), other, 12)
    assert schemes_tried(TrainSettings(scheme="last", period=4), s, 12) == ("last",)


def test_auto_ships_season_on_interleaved_readings_and_it_beats_last() -> None:
    """At 8 bits, integer-only: with the period `auto` picks "season", whose model is several times
    closer than the one `auto` ships without it (which must learn the pattern at 8-bit resolution)."""
    s = _interleaved()
    cfg = ModelConfig.uniform(window=12, features=1, d_model=8, bits=8)
    st = TrainSettings(epochs=4, patience=4, min_steps=0, scheme="auto")
    rmse = {}
    for period in (None, 4):
        res = train(s, cfg, TrainSettings(**{**st.__dict__, "period": period}))
        im = E.export(res.model, {"norm": res.norm.to_dict(), "features": s.features, "target": s.target})
        r = evaluate(im, s, "test", 4)
        rmse[period] = r["rmse"]
        if period:
            assert res.norm.scheme == "season" and not res.metrics["persistence_fallback"]
            assert set(res.metrics["schemes_validated"]) == {"last", "diff", "diff-rms", "season"}
            assert r["rmse"] < 0.2 * r["persistence_rmse"]
            assert r["rmse"] < 1.5 * r["seasonal_rmse"]
    assert rmse[4] < 0.5 * rmse[None]


def test_season_falls_back_to_exact_persistence_under_last() -> None:
    """On a random walk seasonal naive is far behind persistence, and output 0 of a "season" model
    is seasonal naive: the fallback must ship persistence itself, which only "last" can express."""
    s = _random_walk()
    cfg = ModelConfig.uniform(window=12, features=1, d_model=8, bits=8)
    res = train(s, cfg, TrainSettings(epochs=1, patience=1, min_steps=0, scheme="season", period=4))
    assert res.metrics["persistence_fallback"] and res.metrics["fell_from"] == "season"
    assert res.norm.scheme == "last"
    im = E.export(res.model, {"norm": res.norm.to_dict(), "features": s.features, "target": s.target})
    r = evaluate(im, s, "test", 4)
    assert r["rmse"] == r["persistence_rmse"] < r["seasonal_rmse"]
    assert res.metrics["qat"]["rmse"] == pytest.approx(r["persistence_rmse"], rel=1e-12)
