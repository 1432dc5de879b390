"""Host scaling schemes and baselines: NumPy only, so these run without the train extra."""

from __future__ import annotations

import numpy as np
import pytest

from qtdeploy.errors import FormatError
from qtdeploy.model import data as D
from qtdeploy.model.baselines import baselines, fit_linear, predict_linear, seasonal_naive
from qtdeploy.model.evaluate import SE_WARN, advice


def _series(y: np.ndarray, extra: np.ndarray | None = None) -> D.Series:
    x = y[:, None] if extra is None else np.column_stack([extra, y])
    feats = ["y"] if extra is None else ["e", "y"]
    return D.Series(features=feats, target="y", x=x, y=y, source="synthetic")


def test_window_relative_inputs_ignore_a_level_shift() -> None:
    rng = np.random.default_rng(0)
    y = np.cumsum(rng.normal(size=600)) + np.linspace(0, 3000, 600)  # trend: test far above train
    s = _series(y, extra=rng.normal(size=600) * 5 + 40)
    norm = D.fit_norm(s, window=12, horizon=2)
    assert norm.scheme == "last" and norm.target_index == 1
    raw = D.windows(s, slice(0, 600), 12, 2, norm)["raw"]
    shifted = raw + np.array([7.0, 1000.0])
    assert np.allclose(norm.inputs(shifted), norm.inputs(raw))
    assert np.allclose(norm.anchor(shifted), norm.anchor(raw) + 1000.0)
    # outputs round trip through targets, and an output of 0 is persistence
    w = D.windows(s, slice(450, 600), 12, 2, norm)
    assert np.allclose(norm.outputs(w["t"], w["anchor"]), w["y"])
    assert np.allclose(norm.outputs(np.zeros_like(w["t"]), w["anchor"]), w["persist"])
    # the test windows of a trending series stay in the training span's range; with one global
    # mean/std every test input of the target lies beyond everything training saw (and is clipped)
    tr = D.windows(s, slice(0, 420), 12, 2, norm)
    assert np.abs(w["x"][..., 1]).max() <= 1.5 * np.abs(tr["x"][..., 1]).max()
    g = D.fit_norm(s, 12, 2, scheme="global")
    assert g.inputs(w["raw"])[..., 1].min() > g.inputs(tr["raw"])[..., 1].max()


def test_norm_dict_round_trip_and_old_blobs_stay_readable() -> None:
    rng = np.random.default_rng(1)
    s = _series(rng.normal(size=300).cumsum())
    norm = D.fit_norm(s, 6, 1)
    back = D.Norm.from_dict(norm.to_dict())
    assert back.scheme == "last" and np.allclose(back.x_scale, norm.x_scale) and back.y_scale == norm.y_scale
    old = {k: v for k, v in norm.to_dict().items() if k in ("x_mean", "x_std", "y_mean", "y_std")}
    legacy = D.Norm.from_dict(old)  # a blob written before the scheme field
    assert legacy.scheme == "global"
    raw = rng.normal(size=(4, 6, 1))
    assert np.allclose(legacy.inputs(raw), (raw - legacy.x_mean) / legacy.x_std)
    with pytest.raises(FormatError, match="unknown"):
        D.Norm.from_dict({**norm.to_dict(), "scheme": "future"})


def test_target_not_among_features_is_anchored_on_the_mean() -> None:
    rng = np.random.default_rng(2)
    y = rng.normal(size=300)
    s = D.Series(features=["e"], target="y", x=rng.normal(size=(300, 1)), y=y, source="synthetic")
    norm = D.fit_norm(s, 6, 1)
    assert norm.target_index == -1 and norm.y_scale == norm.y_std
    assert np.allclose(norm.anchor(np.zeros((3, 6, 1))), norm.y_mean)


def test_linear_baseline_recovers_a_linear_process() -> None:
    rng = np.random.default_rng(3)
    y = np.zeros(800)
    for t in range(2, 800):
        y[t] = 0.6 * y[t - 1] - 0.3 * y[t - 2] + 5.0 + rng.normal()
    s = _series(y)
    norm = D.fit_norm(s, 4, 1)
    w = D.windows(s, slice(0, 560), 4, 1, norm)
    coef = fit_linear(w["raw"], w["y"])
    assert np.allclose(coef[-3:-1, 0], [-0.3, 0.6], atol=0.08) and abs(coef[-1, 0] - 5.0) < 0.5
    assert np.sqrt(np.mean((predict_linear(coef, w["raw"]) - w["y"]) ** 2)) < 1.1  # the noise's std
    b = baselines(s, "test", 4, 1, norm)
    assert b["linear_rmse"] < 0.9 * b["persistence_rmse"]


def test_seasonal_naive_repeats_the_last_season() -> None:
    y = np.tile(np.arange(7.0), 60) + 1.0
    s = _series(y)
    norm = D.fit_norm(s, 10, 3)
    rows = slice(100, 200)
    w = D.windows(s, rows, 10, 3, norm)
    pred = seasonal_naive(s, rows, 10, 3, period=7)
    assert np.array_equal(pred, w["y"])  # a perfectly periodic series
    assert baselines(s, "test", 10, 3, norm, period=7)["seasonal_rmse"] == 0.0


def test_advice_says_when_the_model_loses() -> None:
    base = {"persistence_rmse": 1.0, "linear_rmse": 0.8, "clipped_inputs": 0.0, "scheme": "last"}
    assert "loses to persistence" in advice({**base, "rmse": 1.2})[0]
    assert "linear" in advice({**base, "rmse": 0.9})[0]
    assert advice({**base, "rmse": 0.7}) == []
    assert "clipped" in advice({**base, "rmse": 0.7, "clipped_inputs": 0.2})[0]
    assert "season" in advice({**base, "rmse": 0.7, "seasonal_rmse": 0.5})[0]
    # what to try depends on whether the training span holds two periods ("season" scaling at any
    # window since session 26; ``baselines`` says so in ``season_fits``)
    lost = {**base, "rmse": 0.7, "seasonal_rmse": 0.5, "window": 12, "season_fits": True}
    assert "--period 4" in advice({**lost, "period": 4, "scheme": "last"})[0]
    assert "--period 12" in advice({**lost, "period": 12, "scheme": "last"})[0]
    assert "--period 24" in advice({**lost, "period": 24, "scheme": "last"})[0]  # longer than the window
    short = advice({**lost, "period": 400, "scheme": "last", "season_fits": False})[0]
    assert "fewer than two periods of 400" in short and "--period" not in short
    assert "deviation" in advice({**lost, "period": 4, "scheme": "season"})[0]
    assert "--period" not in advice({**lost, "period": 4, "scheme": "season"})[0]
    assert "not chosen" in advice({**lost, "period": 4, "scheme": "diff", "season_tried": True})[0]


def test_advice_says_when_a_win_over_persistence_may_be_chance() -> None:
    """A model ahead of persistence by under ``SE_WARN`` standard errors (lynx's float model, 0.56 x
    of persistence on 6 test windows) is told so, with the windows; one further ahead, or one that
    ships persistence itself (no statistic), is not."""
    base = {
        "persistence_rmse": 1.0,
        "linear_rmse": 0.8,
        "clipped_inputs": 0.0,
        "scheme": "last",
        "windows": 5,
    }
    (warning,) = advice({**base, "rmse": 0.56, "persistence_se_ahead": 0.9})
    assert "0.90 standard errors" in warning and "5 windows" in warning and "chance" in warning
    assert advice({**base, "rmse": 0.56, "persistence_se_ahead": SE_WARN + 0.5}) == []
    assert not any("chance" in w for w in advice({**base, "rmse": 1.0, "persistence_se_ahead": None}))
    # beside the linear model's warning, not instead of it
    assert len(advice({**base, "rmse": 0.9, "persistence_se_ahead": 0.9})) == 2
    # losing says so once, without the chance warning
    (lose,) = advice({**base, "rmse": 1.2, "persistence_se_ahead": -0.4})
    assert "loses to persistence" in lose


def test_constant_target_and_short_series_are_refused(tmp_path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("a,b\n" + "".join(f"{i},2\n" for i in range(60)))
    with pytest.raises(FormatError, match="constant"):
        D.load_csv(path, target="b")
    s = D.load_csv(path, target="a")
    with pytest.raises(FormatError, match="too few"):
        D.make_splits(s, 12, 1, D.fit_norm(s, 12, 1))


def test_differenced_scheme_sees_step_changes() -> None:
    rng = np.random.default_rng(4)
    y = np.cumsum(rng.normal(size=400)) + np.linspace(0, 500, 400)
    s = _series(y)
    norm = D.fit_norm(s, 8, 1, scheme="diff")
    w = D.windows(s, slice(300, 400), 8, 1, norm)
    assert np.allclose(w["x"][:, 0, 0], 0.0)
    assert np.allclose(w["x"][:, 1:, 0] * norm.x_scale[0], np.diff(w["raw"][..., 0], axis=1))
    assert np.allclose(norm.inputs(w["raw"] + 123.0), w["x"])  # level-free
    assert np.allclose(norm.outputs(np.zeros_like(w["t"]), w["anchor"]), w["persist"])
    assert D.Norm.from_dict(norm.to_dict()).scheme == "diff"


def test_window_rms_scheme_is_level_and_scale_free() -> None:
    """ "diff-rms": each window's changes divided by its own RMS change (floored); the forecast is
    scaled back by the target's factor, so targets -> outputs is exact and 0 is persistence."""
    rng = np.random.default_rng(5)
    y = np.cumsum(rng.normal(size=400)) + 20 * np.sin(np.arange(400) / 7)
    s = _series(y)
    norm = D.fit_norm(s, 8, 1, scheme="diff-rms")
    w = D.windows(s, slice(300, 400), 8, 1, norm)
    rms = np.sqrt(np.mean(w["x"][:, 1:, 0] ** 2, axis=1))
    assert np.allclose(rms[w["scale"] > norm.window_floor], 1.0)  # every window spans the same range
    assert np.allclose(norm.inputs(w["raw"] * 3.0 + 50.0), w["x"])  # level- and scale-free
    assert np.allclose(norm.window_scale(w["raw"] * 3.0), 3.0 * w["scale"])
    assert np.allclose(norm.outputs(w["t"], w["anchor"], w["scale"]), w["y"])
    assert np.allclose(norm.outputs(np.zeros_like(w["t"]), w["anchor"], w["scale"]), w["persist"])
    # a flat window is amplified no more than 1 / window_floor
    flat = np.full((1, 8, 1), 7.0)
    assert norm.window_scale(flat)[0] == norm.window_floor and np.allclose(norm.inputs(flat), 0.0)
    back = D.Norm.from_dict(norm.to_dict())
    assert back.scheme == "diff-rms" and back.window_floor == norm.window_floor
    assert np.allclose(back.inputs(w["raw"]), w["x"])
    # horizon > 1: one scale per window for every step
    n3 = D.fit_norm(s, 8, 3, scheme="diff-rms")
    w3 = D.windows(s, slice(300, 400), 8, 3, n3)
    assert w3["t"].shape == w3["y"].shape == (len(w3["scale"]), 3)
    assert np.allclose(n3.outputs(w3["t"], w3["anchor"], w3["scale"]), w3["y"])
    assert np.allclose(n3.outputs(np.zeros_like(w3["t"]), w3["anchor"], w3["scale"]), w3["persist"])
