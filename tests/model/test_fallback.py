"""What ships where the quantised model does not earn its place (``qat._fallback_scheme``, session 28):
persistence, or with a period the last reading plus a season's change where that anchor beat
persistence over every training and validation window (and then, since session 29, the model must
beat that anchor by the margin too); exactly that forecast, in the integer model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from qtdeploy.cli.main import main
from qtdeploy.model import data as D
from qtdeploy.model.config import ModelConfig
from qtdeploy.model.evaluate import evaluate
from qtdeploy.train import export as E
from qtdeploy.train import qat
from qtdeploy.train.qat import TrainSettings, train
from support.series import random_walk, wandering_season

CFG = ModelConfig.uniform(window=12, features=1, d_model=8, bits=8)
QUICK = {"epochs": 1, "patience": 1, "min_steps": 0}


def _rmse_over(s: D.Series, forecast, horizon: int = 1, window: int = 12) -> tuple[float, int]:
    """RMSE of ``forecast(w, rows)`` against the targets over the training and validation windows,
    built here from the baselines' own functions (not from the splits ``qat`` reads)."""
    norm = D.fit_norm(s, window, horizon, "last")
    err, n = [], 0
    for rows in D.series_rows(s)[:2]:
        w = D.windows(s, rows, window, horizon, norm)
        err.append(forecast(w, rows) - w["y"])
        n += len(w["y"])
    return float(np.sqrt(np.mean(np.concatenate(err) ** 2))), n


@pytest.mark.parametrize("horizon", [1, 3])
def test_the_fallback_is_the_season_diff_anchor_where_it_beat_persistence_over_the_past(horizon: int) -> None:
    s = wandering_season()
    cfg = ModelConfig.uniform(window=12, features=1, d_model=8, bits=8, horizon=horizon)
    scheme, ev = qat._fallback_scheme(s, cfg, TrainSettings(period=12))
    assert scheme == "season-diff" and ev is not None
    assert ev["se_ahead"] > ev["se_needed"] == round(qat._critical(2.0, ev["windows"]), 2)

    def anchor_of(w: dict, rows: slice) -> np.ndarray:
        # y[t] + y[t+h-12] - y[t-12], indexed here; where y[t-12] precedes the series (the training
        # split's first windows) the scheme's anchor is the last reading (``baselines`` would read
        # the series' first reading there: it scores test windows only)
        t = (rows.start or 0) + np.arange(len(w["y"]))[:, None] + 11
        h = np.arange(1, horizon + 1)[None, :]
        inside = np.broadcast_to(t - 12 >= 0, (len(t), horizon))
        season = s.y[np.clip(t + h - 12, 0, None)] - s.y[np.clip(t - 12, 0, None)]
        return s.y[t] + np.where(inside, season, 0.0)

    anchor, n = _rmse_over(s, anchor_of, horizon)
    persistence, _ = _rmse_over(s, lambda w, rows: w["persist"], horizon)
    assert ev["windows"] == n
    assert ev["rmse_ratio"] == pytest.approx(anchor / persistence, abs=1e-4) and ev["rmse_ratio"] < 0.3


def test_the_fallback_stays_persistence_on_a_random_walk_and_without_a_period() -> None:
    s = random_walk()
    scheme, ev = qat._fallback_scheme(s, CFG, TrainSettings(period=4))
    assert scheme == "last" and ev is not None
    assert ev["rmse_ratio"] > 1 and ev["se_ahead"] < 0  # the anchor doubles the walk's steps
    assert qat._fallback_scheme(wandering_season(), CFG, TrainSettings()) == ("last", None)  # no period
    other = D.Series(features=["q"], target="p", x=s.x, y=s.y, source="target not an input")
    assert qat._fallback_scheme(other, CFG, TrainSettings(period=4)) == ("last", None)
    # a margin no anchor reaches keeps persistence where the evidence is short of it
    s = wandering_season()
    _, ev = qat._fallback_scheme(s, CFG, TrainSettings(period=12))
    assert qat._fallback_scheme(s, CFG, TrainSettings(period=12, persistence_margin=ev["se_ahead"] + 1))[
        0
    ] == ("last")


def _falls(model, *args) -> bool:
    """``qat._persistence_fallback`` as it acts where the model is not ahead by the margin."""
    qat._zero_head(model)
    return True


@pytest.mark.parametrize("scheme", ["last", "season-diff"])
def test_a_model_that_falls_back_ships_the_anchor_exactly(
    scheme: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model that falls back (patched to, whatever it learnt): the head is zeroed and the integer
    model forecasts the "season-diff" anchor to the digit, under that scheme (``fell_from`` names
    the model's own). The margin also decides the fallback itself, so it is not what fails here."""
    monkeypatch.setattr(qat, "_persistence_fallback", _falls)
    s = wandering_season()
    res = train(s, CFG, TrainSettings(**QUICK, scheme=scheme, period=12))
    assert res.metrics["persistence_fallback"] and res.metrics["fallback_reason"] == "validation"
    assert res.metrics["fallback"]["scheme"] == "season-diff" and res.norm.scheme == "season-diff"
    assert res.metrics.get("fell_from") == (None if scheme == "season-diff" else scheme)
    im = E.export(res.model, {"norm": res.norm.to_dict(), "features": s.features, "target": s.target})
    r = evaluate(im, s, "test", 12)
    assert r["rmse"] == r["seasonal_diff_rmse"] < 0.3 * r["persistence_rmse"]


def test_a_model_ahead_of_persistence_but_behind_the_anchor_ships_the_anchor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past the persistence margin (patched here), a model must still be ahead of the anchor that
    would ship in its place by the same margin (session 29; below it, up to session 28); one epoch of
    a tiny model on a clean season validates behind it."""
    monkeypatch.setattr(qat, "_persistence_fallback", lambda *a: False)
    s = wandering_season()
    res = train(s, CFG, TrainSettings(**QUICK, scheme="last", period=12))
    fb = res.metrics["fallback"]
    assert res.metrics["persistence_fallback"] and res.metrics["fallback_reason"] == "behind the fallback"
    assert fb["model_rmse_ratio"] >= 1 and res.norm.scheme == "season-diff"
    assert "origin_check" not in res.metrics  # decided before the earlier origin's training
    im = E.export(res.model, {"norm": res.norm.to_dict(), "features": s.features, "target": s.target})
    r = evaluate(im, s, "test", 12)
    assert r["rmse"] == r["seasonal_diff_rmse"]


def test_train_names_the_anchor_it_shipped(tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    """`train --json` carries the fallback's evidence, and the first warning names what the exported
    model forecasts."""
    s = wandering_season(300)
    csv = tmp_path / "s.csv"
    csv.write_text("y\n" + "\n".join(f"{v:.6f}" for v in s.y) + "\n")
    args = ["train", "--data", str(csv), "--target", "y", "--period", "12", "--scaling", "last"]
    args += ["--window", "12", "--d-model", "8", "--epochs", "1", "--json"]
    monkeypatch.setattr(qat, "_persistence_fallback", _falls)
    assert main([*args, "--out", str(tmp_path / "run")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["fallback"]["scheme"] == "season-diff" and summary["scaling"] == "season-diff"
    assert summary["persistence_fallback"] and summary["fallback_reason"] == "validation"
    assert "forecasts the last reading plus a season's change" in summary["warnings"][0]
    # one epoch of a tiny model validates behind the anchor: no margin would ship it, and the
    # warning says so instead of naming one
    assert summary["fallback"]["model_behind"] is True and summary["fallback"]["model_rmse_ratio"] >= 1
    assert "No --persistence-margin ships it" in summary["warnings"][0]
    assert "ships this model on the evidence" not in summary["warnings"][0]
    assert summary["qat"]["rmse"] == pytest.approx(summary["seasonal_diff_rmse"], rel=1e-9)


def test_the_model_must_be_the_margin_ahead_of_the_anchor_not_merely_below_it() -> None:
    """``qat._anchor_evidence`` (session 29): a model whose validation error is below the anchor's
    but within noise of it is behind at the default margin and ahead at margin 0; the margin it
    passes is ``_critical`` inverted at its standard errors ahead."""
    import torch

    rng = np.random.default_rng(5)
    anchor = torch.from_numpy(rng.gamma(2.0, 1.0, 20))
    err = anchor * torch.from_numpy(rng.uniform(0.5, 1.4, 20))  # a little below on average
    assert float(err.mean()) < float(anchor.mean())
    ev = qat._anchor_evidence(err, anchor, 2.0)
    assert ev["model_rmse_ratio"] < 1 and 0 < ev["model_se_ahead"] < ev["model_se_needed"]
    assert ev["model_behind"] is True and qat._anchor_evidence(err, anchor, 0.0)["model_behind"] is False
    assert qat._critical(ev["model_margin_passed"], 20) == pytest.approx(ev["model_se_ahead"], abs=0.02)
    far = qat._anchor_evidence(anchor * 0.1, anchor, 2.0)
    assert far["model_behind"] is False and far["model_se_ahead"] > far["model_se_needed"]
    worse = qat._anchor_evidence(anchor * 2.0, anchor, 0.0)
    assert worse["model_behind"] is True and worse["model_margin_passed"] is None


def test_on_a_long_span_the_model_must_only_validate_below_the_anchor() -> None:
    """Since session 30 the anchor's margin applies below ``qat.SHORT_VALIDATION`` validation windows
    only: from there on a model within noise of the anchor but below it ships (held-out set 30's
    appliance-t6: 0.70 x the anchor on 208 bursty windows, 1.8 standard errors ahead, 0.75 x it on
    test), and one above it does not, whatever the margin."""
    import torch

    n = qat.SHORT_VALIDATION
    rng = np.random.default_rng(0)
    anchor = torch.from_numpy(rng.pareto(1.5, n) + 0.01)  # heavy-tailed windows
    err = anchor * torch.from_numpy(rng.uniform(0.1, 1.3, n))  # 0.7 x on average, per window noisy
    assert float(err.mean()) < float(anchor.mean())
    ev = qat._anchor_evidence(err, anchor, 2.0)
    assert ev["model_se_ahead"] < ev["model_se_needed"] and ev["model_margin_applies"] is False
    assert ev["model_behind"] is False
    short = qat._anchor_evidence(err[: n - 1], anchor[: n - 1], 2.0)
    assert short["model_margin_applies"] is True and short["model_behind"] is True
    above = qat._anchor_evidence(anchor * 1.01, anchor, 0.0)
    assert above["model_behind"] is True and above["model_margin_applies"] is False


def test_the_warnings_name_the_margin_that_ships_against_both() -> None:
    """`train`'s warnings suggest the lower of the margins the model passes against persistence
    and against the anchor, and none where it validates behind the anchor."""
    from qtdeploy.cli import train as cli

    anchor = "the last reading plus a season's change"
    ev = {
        "windows": 20,
        "rmse_ratio": 0.6,
        "se_ahead": 1.9,
        "se_needed": 2.1,
        "margin": 2.0,
        "margin_passed": 1.83,
    }
    fb = {"windows": 300, "model_rmse_ratio": 0.9, "model_se_ahead": 1.2, "model_se_needed": 2.1}
    text = cli._fallback_warning(ev, anchor, {**fb, "model_behind": True, "model_margin_passed": 1.16})
    assert "--persistence-margin 1.1 ships this model" in text
    text = cli._fallback_warning(ev, anchor, {**fb, "model_behind": False, "model_margin_passed": 2.5})
    assert "--persistence-margin 1.8 ships this model" in text
    behind = {**fb, "model_rmse_ratio": 1.3, "model_behind": True, "model_margin_passed": None}
    assert "No --persistence-margin ships it" in cli._fallback_warning(ev, anchor, behind)
    text = cli._behind_warning({**fb, "model_behind": True, "model_margin_passed": 1.16}, anchor)
    assert "1.20 standard errors ahead where 2.1 are needed" in text
    assert "--persistence-margin 1.1 ships this model" in text
    assert "No --persistence-margin ships it" in cli._behind_warning(behind, anchor)
    # at margin 0 the anchor's bar is 0 standard errors, not "infinitely many"
    at_zero = {**behind, "model_se_ahead": -0.4, "model_se_needed": 0.0}
    assert "-0.40 standard errors ahead where 0.0 are needed" in cli._behind_warning(at_zero, anchor)
    # a long span (no margin against the anchor, session 30): behind means validating behind it, and
    # only persistence's margin can be suggested where the model validates below it
    long_behind = {**behind, "model_margin_applies": False}
    text = cli._behind_warning(long_behind, anchor)
    assert "its validation RMSE is 1.300 x that forecast's" in text and "standard errors" not in text
    assert "No --persistence-margin ships it" in text
    assert "No --persistence-margin ships it" in cli._fallback_warning(ev, anchor, long_behind)
    long_below = {**fb, "model_margin_applies": False, "model_behind": False, "model_margin_passed": 1.16}
    assert "--persistence-margin 1.8 ships this model" in cli._fallback_warning(ev, anchor, long_below)
