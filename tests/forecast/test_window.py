"""Windowing and normalisation from the blob's statistics, against the evaluation path."""

from __future__ import annotations

import numpy as np
import pytest

from qtdeploy.errors import FormatError
from qtdeploy.forecast.sources import Reading
from qtdeploy.forecast.window import Scaling, Windower
from qtdeploy.model import evaluate
from qtdeploy.model.intmodel import load
from support.forecast_ref import FORECASTER, WEATHER


@pytest.fixture(scope="module", params=[FORECASTER, WEATHER], ids=["forecaster", "weather"])
def im(request):
    return load(request.param)


def test_quantise_matches_evaluation(im):
    sc = Scaling.from_model(im)
    rng = np.random.default_rng(1)
    ctx = sc.norm.context(im.config.window)  # the window, and under "season" the period before it
    raw = sc.norm.x_mean + sc.norm.x_std * rng.normal(size=(50, ctx, im.config.features))
    want = evaluate.quantised_inputs(im, sc.norm.inputs(raw))  # the blob's scaling scheme
    got = np.stack([sc.quantise(w) for w in raw])
    assert got.dtype == np.int8 and np.array_equal(got, want)


def test_denormalise_round_trip(im):
    sc = Scaling.from_model(im)
    y = np.array([[-5000], [0], [1234], [30000]])
    last = tuple(float(v) for v in sc.norm.x_mean + 3.0)  # a window's last readings
    # under "season" a level per step (seasonal naive), here not the last reading
    season = (float(sc.norm.x_mean[sc.norm.target_index]) - 2.0,) if sc.norm.seasonal else None
    back = sc.normalise_target(sc.denormalise(y, last, anchor=season), last, anchor=season)
    assert np.allclose(back, y)
    # an output of 0 is the anchor: seasonal naive ("season"), the last target reading (the other
    # residual schemes) or the mean (global)
    residual = sc.norm.scheme != "global" and sc.norm.target_index >= 0
    anchor = season[0] if season else last[sc.norm.target_index] if residual else sc.norm.y_mean
    assert sc.denormalise(np.array([0]), last, anchor=season)[0] == pytest.approx(anchor)


def test_windows_slide_and_truths_follow(im):
    sc = Scaling.from_model(im)
    T, m = im.config.window, im.config.features
    w = Windower(sc, T, 1)
    readings = [Reading(tuple(float(i + j) for j in range(m)), str(i), truth=float(i)) for i in range(T + 3)]
    wins, truths = [], {}
    for r in readings:
        win = w.push(r)
        for k, h, v in w.truths(r, w.seq - (1 if win else 0)):
            truths[(k, h)] = v
        if win is not None:
            wins.append(win)
    assert [x.seq for x in wins] == [0, 1, 2, 3]
    assert [x.stamp for x in wins] == [str(T - 1), str(T), str(T + 1), str(T + 2)]
    ctx = sc.norm.context(T)  # the window, and under "season" the period before it
    for x in wins:  # window k holds readings k..k+T-1, its context from k+T-ctx (NaN before the first)
        rows = np.array(
            [readings[i].values if i >= 0 else (np.nan,) * m for i in range(x.seq + T - ctx, x.seq + T)]
        )
        assert np.array_equal(x.x, sc.quantise(rows))
    assert truths == {(0, 0): float(T), (1, 0): float(T + 1), (2, 0): float(T + 2)}


def test_blob_without_statistics(im):
    import copy

    bare = copy.copy(im)
    bare.meta = {k: v for k, v in im.meta.items() if k != "norm"}
    with pytest.raises(FormatError, match="no norm"):
        Scaling.from_model(bare)


def _live_path(y: np.ndarray, horizon: int, st) -> tuple:
    """A window-8, d_model-8, 8-bit model trained on readings ``y`` under settings ``st``, exported
    and read back from its blob; its scaling; and the live path over readings 200-239: (reading
    index, Window, the reference's integer outputs for it), as `forecast` would see them."""
    from qtdeploy.model import data as D
    from qtdeploy.model.config import ModelConfig
    from qtdeploy.model.intmodel import from_blob, to_blob
    from qtdeploy.model.reference import forward
    from qtdeploy.train import export as E
    from qtdeploy.train.qat import train

    s = D.Series(features=["y"], target="y", x=y[:, None], y=y, source="synthetic")
    cfg = ModelConfig.uniform(window=8, features=1, d_model=8, bits=8, horizon=horizon)
    res = train(s, cfg, st)
    im = from_blob(
        to_blob(E.export(res.model, {"norm": res.norm.to_dict(), "features": ["y"], "target": "y"}))
    )
    sc, w = Scaling.from_model(im), Windower(Scaling.from_model(im), 8, horizon)
    seen = []
    for i in range(200, 240):
        win = w.push(Reading((float(y[i]),), str(i)))
        if win is not None:
            seen.append((i, win, np.asarray(forward(im, win.x[None].astype(np.int64)))[0]))
    return im, sc, seen


def test_window_rms_model_forecasts_as_evaluation_does():
    """A "diff-rms" model (per-window scale): the live path (Windower -> board output ->
    Scaling.denormalise with Window.scale) gives evaluate.predict's forecasts to 1e-9."""
    from qtdeploy.train.qat import TrainSettings

    t = np.arange(300, dtype=np.float64)
    y = 10 + np.sin(t / 4) * np.where(t % 96 < 48, 3.0, 0.3)  # loud and calm spans
    im, sc, seen = _live_path(y, 1, TrainSettings(epochs=1, min_steps=0, scheme="diff-rms"))
    assert im.meta["norm"]["scheme"] == "diff-rms"
    live = [sc.denormalise(out, win.last, win.scale) for _, win, out in seen]
    raws = [y[i - 7 : i + 1, None] for i, _, _ in seen]
    scales = {round(x, 6) for x in (sc.norm.window_scale(np.array(raws)))}
    assert len(scales) > 5, "the windows must differ in scale for this to test anything"
    assert np.allclose(np.array(live), evaluate.predict(im, np.array(raws)), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("period", [4, 12])
def test_season_model_forecasts_as_evaluation_does(period: int):
    """A "season" model (output relative to seasonal naive, one level per step): the live path
    (Windower -> board output -> Scaling.denormalise with Window.anchor) gives evaluate.predict's
    forecasts to 1e-9 at horizon 3, and refuses to guess without the window's anchor. At a period
    longer than the window (12 at window 8) the run's first forecasts are relative to the last
    reading until a period has arrived, as a series' first windows are in training."""
    from qtdeploy.train.qat import TrainSettings

    t = np.arange(300, dtype=np.float64)
    y = np.array([0.0, 2.0, -1.0, 0.5])[t.astype(int) % 4] + 0.1 * np.sin(t / 9)
    st = TrainSettings(epochs=1, min_steps=0, scheme="season", period=period, fallback=False)
    im, sc, seen = _live_path(y, 3, st)
    assert im.meta["norm"]["scheme"] == "season" and im.meta["norm"]["period"] == period
    live = [sc.denormalise(out, win.last, win.scale, win.anchor) for _, win, out in seen]
    # each window's context: the period before it too (readings before the run began: NaN, read
    # as a zero seasonal difference, as a series' first windows are in training)
    assert sc.norm.context(8) == 8 + period
    raws = [
        np.array([y[j] if j >= 200 else np.nan for j in range(i - 7 - period, i + 1)])[:, None]
        for i, _, _ in seen
    ]
    assert np.all(seen[0][1].x[: min(period, 8)] == 0) and np.count_nonzero(seen[-1][1].x) == 8
    naive = 0
    for i, win, _ in seen:
        # step h of a window ending at reading i: seasonal naive reads i + h - period, the last
        # reading (i) where that precedes the run's first (200)
        want = [float(y[i + h - period] if i + h - period >= 200 else y[i]) for h in (1, 2, 3)]
        assert win.anchor == tuple(want)
        naive += sum(i + h - period < 200 for h in (1, 2, 3))
    assert (naive > 0) == (period > 8)
    assert np.allclose(np.array(live), evaluate.predict(im, np.array(raws)), rtol=1e-9, atol=1e-12)
    _, win, out = seen[-1]
    with pytest.raises(ValueError, match="anchor"):
        sc.denormalise(out, win.last, win.scale)


@pytest.mark.parametrize("period", [4, 12])
def test_season_diff_model_forecasts_as_evaluation_does(period: int):
    """A "season-diff" model (output relative to the last reading plus the change over the same
    steps a season before): the live path gives evaluate.predict's forecasts to 1e-9 at horizon 3,
    its context is a period and one reading more than the window, and until a period and a reading
    have arrived its forecasts are relative to the last reading."""
    from qtdeploy.train.qat import TrainSettings

    t = np.arange(300, dtype=np.float64)
    y = np.array([0.0, 2.0, -1.0, 0.5])[t.astype(int) % 4] + 0.1 * np.sin(t / 9) + 0.01 * t
    st = TrainSettings(epochs=1, min_steps=0, scheme="season-diff", period=period, fallback=False)
    im, sc, seen = _live_path(y, 3, st)
    assert im.meta["norm"]["scheme"] == "season-diff" and im.meta["norm"]["lookback"] == period + 1
    assert sc.norm.context(8) == 8 + period + 1
    live = [sc.denormalise(out, win.last, win.scale, win.anchor) for _, win, out in seen]
    raws = [
        np.array([y[j] if j >= 200 else np.nan for j in range(i - 8 - period, i + 1)])[:, None]
        for i, _, _ in seen
    ]
    fallback = 0
    for i, win, _ in seen:
        # step h: y[i] + y[i+h-p] - y[i-p], or the last reading where y[i-p] precedes the run (200)
        whole = i - period >= 200
        want = [float(y[i] + y[i + h - period] - y[i - period] if whole else y[i]) for h in (1, 2, 3)]
        assert win.anchor == pytest.approx(tuple(want), rel=0, abs=1e-12)
        fallback += not whole
    assert fallback == max(0, period - 7)  # windows end at 207.., the first whole one at 200 + period
    # a row's input needs the reading a period and one before it: zeros until then
    assert np.all(seen[0][1].x[: min(period + 1, 8)] == 0)
    assert np.allclose(np.array(live), evaluate.predict(im, np.array(raws)), rtol=1e-9, atol=1e-12)
