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
from support.series import random_walk


def _interleaved(n: int = 700, seed: int = 0) -> D.Series:
    """``support.seasonal.interleaved`` as a one-feature series."""
    y = interleaved(n, seed)
    return D.Series(features=["p"], target="p", x=y[:, None], y=y, source="synthetic interleaved")


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


@pytest.mark.parametrize("period", [None, 1, 245, 700])
def test_season_needs_a_period_of_2_to_half_the_training_span(period: int | None) -> None:
    """700 readings: a training span of 489 (70 %, rounded down), so 244 is the longest period."""
    with pytest.raises(UsageError, match="--period"):
        D.fit_norm(_interleaved(), 12, 1, "season", period)
    assert D.fit_norm(_interleaved(), 12, 1, "season", 244).context(12) == 256


def _hourly(n: int = 900, seed: int = 1) -> D.Series:
    """A daily cycle of 24 readings on a wandering level, as hourly temperatures have."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = 3 * np.sin(2 * np.pi * t / 24) + np.cumsum(0.05 * rng.normal(size=n)) + 0.05 * rng.normal(size=n)
    return D.Series(features=["temp"], target="temp", x=y[:, None], y=y, source="synthetic hourly")


@pytest.mark.parametrize("horizon", [1, 3])
def test_a_period_longer_than_the_window_is_read_from_the_context(horizon: int) -> None:
    """Hourly data's 24 at window 12 (session 26): the inputs and seasonal naive read the period
    before the window. Where the reading a period back would precede the series' first (training's
    first 24 - h + 1 - 12 windows, per step) the anchor is the last reading and the inputs are
    zeros: finite, and never a reading made up."""
    s, p = _hourly(), 24
    norm = D.fit_norm(s, 12, horizon, "season", p)
    assert norm.context(12) == 36 and np.isfinite(norm.y_season) and norm.y_season < norm.y_scale
    for name, rows in zip(("train", "val", "test"), D.series_rows(s)):
        w = D.windows(s, rows, 12, horizon, norm)
        naive = B.seasonal_naive(s, rows, 12, horizon, p)
        assert np.isfinite(w["x"]).all() and np.isfinite(w["t"]).all() and np.isfinite(w["anchor"]).all()
        assert np.allclose(norm.outputs(w["t"], w["anchor"], w["scale"]), w["y"], rtol=0, atol=1e-12)
        if name != "train":  # a whole period of history before every window
            assert np.array_equal(w["anchor"], naive)
            assert np.allclose(w["x"] * norm.x_scale, w["raw"][:, p:] - w["raw"][:, :-p])
            continue
        for h in range(horizon):
            first = p - (h + 1) + 1 - 12  # windows whose step h+1 has no season before it
            assert np.array_equal(w["anchor"][:first, h], w["raw"][:first, -1, 0])
            assert np.array_equal(w["anchor"][first:, h], naive[first:, h])
        # window k holds rows k..k+11, and row r has a seasonal difference from r = 24 on
        assert not w["x"][: p - 11].any() and np.count_nonzero(w["x"][p - 11]) == 1
        assert np.count_nonzero(w["x"][p]) == 12


def test_auto_tries_season_with_a_period_up_to_half_the_training_span_of_an_input_target() -> None:
    s = _interleaved()
    auto = TrainSettings(scheme="auto")
    assert "season" not in schemes_tried(auto, s, 12)
    assert schemes_tried(TrainSettings(scheme="auto", period=4), s, 12)[-2:] == ("season", "season-diff")
    assert "season" in schemes_tried(TrainSettings(scheme="auto", period=7), s, 12)
    assert "season" in schemes_tried(TrainSettings(scheme="auto", period=12), s, 12)  # monthly at 12
    assert "season" in schemes_tried(TrainSettings(scheme="auto", period=24), s, 12)  # hourly at 12
    assert "season" in schemes_tried(TrainSettings(scheme="auto", period=244), s, 12)
    assert "season" not in schemes_tried(TrainSettings(scheme="auto", period=245), s, 12)
    assert "season" not in schemes_tried(TrainSettings(scheme="auto", period=1), s, 12)
    other = D.Series(features=["q"], target="p", x=s.x, y=s.y, source="target not an input")
    assert "season" not in schemes_tried(TrainSettings(scheme="auto", period=4), other, 12)
    assert schemes_tried(TrainSettings(scheme="last", period=4), s, 12) == ("last",)


def test_auto_ships_season_on_interleaved_readings_and_it_beats_last(monkeypatch: pytest.MonkeyPatch) -> None:
    """At 8 bits, integer-only: with the period `auto` picks a seasonal scheme, whose model is several times
    closer than the one `auto` ships without it (which must learn the pattern at 8-bit resolution).
    The fallback stays persistence here (``_fallback_scheme`` pinned): this is about the scheme and
    its model; since session 29 a 4-epoch model must also be 2 standard errors ahead of the
    "season-diff" anchor, which this one is not (that rule: test_fallback.py)."""
    monkeypatch.setattr("qtdeploy.train.qat._fallback_scheme", lambda *a: ("last", None))
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
            # one of the two seasonal schemes (here both anchors repeat the pattern; "season-diff"
            # adds the last change of the common drift, and validated ahead on this seed)
            assert res.norm.scheme in D.SEASONAL and not res.metrics["persistence_fallback"]
            assert set(res.metrics["schemes_validated"]) == {
                "last",
                "diff",
                "diff-rms",
                "season",
                "season-diff",
            }
            assert r["rmse"] < 0.2 * r["persistence_rmse"]
            assert r["rmse"] < 1.5 * r["seasonal_rmse"]
    assert rmse[4] < 0.5 * rmse[None]


@pytest.mark.parametrize(
    ("scheme", "anchor"), [("season", "seasonal_rmse"), ("season-diff", "seasonal_diff_rmse")]
)
def test_season_falls_back_to_exact_persistence_under_last(scheme: str, anchor: str) -> None:
    """On a random walk the seasonal anchors are far behind persistence, and output 0 of a
    "season" ("season-diff") model is seasonal naive (the last reading plus a season's change): the
    fallback must ship persistence itself, which only "last" can express."""
    s = random_walk(500)
    cfg = ModelConfig.uniform(window=12, features=1, d_model=8, bits=8)
    res = train(s, cfg, TrainSettings(epochs=1, patience=1, min_steps=0, scheme=scheme, period=4))
    assert res.metrics["persistence_fallback"] and res.metrics["fell_from"] == scheme
    assert res.norm.scheme == "last"
    im = E.export(res.model, {"norm": res.norm.to_dict(), "features": s.features, "target": s.target})
    r = evaluate(im, s, "test", 4)
    assert r["rmse"] == r["persistence_rmse"] < r[anchor]
    if scheme == "season":
        assert res.metrics["qat"]["rmse"] == pytest.approx(r["persistence_rmse"], rel=1e-12)


def test_advice_when_seasonal_naive_wins_names_a_period_longer_than_the_window() -> None:
    """`eval`'s and `train`'s advice: retrain with the period (tried at any window since session 26)
    where the training span holds two periods of it, else more data."""
    from qtdeploy.model.evaluate import advice

    s = _hourly()  # 630 training readings
    norm = D.fit_norm(s, 12, 1, "last")
    for period, fits in ((24, True), (315, True), (316, False)):
        base = B.baselines(s, "test", 12, 1, norm, period)
        assert base["season_fits"] is fits
        lost = {**base, "rmse": 1.01 * base["seasonal_rmse"], "scheme": "last", "window": 12}
        lost["persistence_rmse"] = max(lost["persistence_rmse"], 2 * lost["rmse"])
        (said,) = [a for a in advice(lost) if a.startswith("repeating the last season")]
        assert (f"retrain with --period {period}" in said) is fits
        assert ("fewer than two periods" in said) is not fits


def test_a_model_reading_a_context_is_scored_against_a_linear_model_on_it_too() -> None:
    """A "season" model reads T + p readings; a linear model on the same readings is reported beside
    the 12-reading one (on a daily cycle it does far better), and `eval` says when it wins."""
    from qtdeploy.model.evaluate import advice

    s = _hourly()
    season = B.baselines(s, "test", 12, 1, D.fit_norm(s, 12, 1, "season", 24), 24)
    assert season["linear_context_readings"] == 36
    assert season["linear_context_rmse"] < season["linear_rmse"]
    # the same least squares built here from the series: 36 lags and a constant, fitted on every
    # training window with a whole context, scored on the test windows
    lags = np.lib.stride_tricks.sliding_window_view(s.y, 36)  # lags[i] = y[i .. i+35]
    tr, _, te = D.series_rows(s)
    fit = np.arange(0, tr.stop - 36)  # contexts inside the training span, a next reading inside it
    a = np.hstack([lags[fit], np.ones((len(fit), 1))])
    coef, *_ = np.linalg.lstsq(a, s.y[fit + 36], rcond=None)
    score = np.arange(te.start - 24, len(s.y) - 36)  # test windows: their context reaches back 24
    pred = np.hstack([lags[score], np.ones((len(score), 1))]) @ coef
    assert season["linear_context_rmse"] == pytest.approx(
        np.sqrt(np.mean((pred - s.y[score + 36]) ** 2)), rel=1e-6
    )
    assert "linear_context_rmse" not in B.baselines(s, "test", 12, 1, D.fit_norm(s, 12, 1, "last"), 24)
    # the training split's first windows lack their context: still scored, every value finite
    first = B.baselines(s, "train", 12, 1, D.fit_norm(s, 12, 1, "season", 24), 24)
    assert np.isfinite(first["linear_context_rmse"])
    between = {**season, "rmse": 0.5 * (season["linear_rmse"] + season["linear_context_rmse"])}
    between["persistence_rmse"] = 2 * season["linear_rmse"]
    (said,) = [a for a in advice(between) if "linear" in a]
    assert "same 36 readings the model reads" in said
