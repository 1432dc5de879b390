"""Below 8 bits a quantised model ships only where the 8-bit model quantised from the same float
models earns its place too (``qat._reference``, session 30): where the 8-bit one falls back, the
narrower one ships the same fallback, exactly that forecast in the integer model, and runs no QAT of
its own (session 31); where it does not, the narrower run is what it was without the rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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

QUICK = {"epochs": 1, "patience": 1, "min_steps": 0}
#: enough for a model of d_model 8 to beat persistence by the margin on ``_season`` at 8 bits
SHIPS = {"epochs": 6, "patience": 6, "min_steps": 0}


def _cfg(bits: int | None, act_bits: int | None = None) -> ModelConfig:
    return ModelConfig.uniform(window=12, features=1, d_model=8, bits=bits, act_bits=act_bits)


def _season(n: int = 400) -> D.Series:
    """A clean season of 12 readings: a model beats persistence on it after little training."""
    rng = np.random.default_rng(1)
    t = np.arange(n)
    y = 10 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 0.2, n)
    return D.Series(features=["y"], target="y", x=y[:, None], y=y, source="synthetic season")


def test_narrower_means_any_weight_or_activation_below_8_bits() -> None:
    assert not qat._narrower(_cfg(8)) and not qat._narrower(_cfg(None))
    assert qat._narrower(_cfg(4)) and qat._narrower(_cfg(6)) and qat._narrower(_cfg(4, act_bits=8))
    assert qat._narrower(_cfg(8, act_bits=6))
    mixed = _cfg(8)
    mixed.weight_bits["head"] = 6
    assert qat._narrower(mixed)


@pytest.mark.parametrize("make", [_season, random_walk])
def test_the_reference_is_the_8_bit_run_from_the_same_float_models(make) -> None:
    """What the 4-bit run records as its reference is the 8-bit `train` of the same seed from the
    same float model (the bench's way: a float run's state passed in), decision and validation RMSE
    alike; a clean season ships its model and a random walk persistence, so both answers occur."""
    s = make()
    st = TrainSettings(**SHIPS, scheme="last", seed=1)
    r4 = train(s, _cfg(4), st)
    state = train(s, _cfg(None), st).model.state_dict()
    r8 = train(s, _cfg(8), st, float_state=state)
    assert r4.metrics["reference"] == {
        "bits": 8,
        "fell_back": r8.metrics["persistence_fallback"],
        "reason": r8.metrics.get("fallback_reason"),
        "scheme": r8.norm.scheme,
        "qat_val": round(r8.metrics["qat_val"], 6),
    }
    assert r4.metrics["reference"]["fell_back"] is (make is random_walk)
    if make is random_walk:  # the 4-bit model falls back too, for the reference's reason, untrained
        assert r4.metrics["persistence_fallback"] and r4.metrics["fallback_reason"] == qat.REFERENCE_REASON
        assert r4.metrics["qat_skipped"] == qat.REFERENCE_REASON and "qat_epochs" not in r4.metrics
    else:
        assert "qat_skipped" not in r4.metrics and r4.metrics["qat_epochs"]["epochs_run"] > 0


def test_no_reference_at_8_bits_in_float_or_without_the_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[ModelConfig] = []
    real = qat._reference
    monkeypatch.setattr(qat, "_reference", lambda s, c, *a: calls.append(c) or real(s, c, *a))
    s = _season(300)
    for cfg, fallback in ((_cfg(8), True), (_cfg(None), True), (_cfg(4), False)):
        res = train(s, cfg, TrainSettings(**QUICK, scheme="last", fallback=fallback))
        assert "reference" not in res.metrics
    assert calls == []
    train(s, _cfg(4, act_bits=8), TrainSettings(**QUICK, scheme="last"))
    assert len(calls) == 1


def _reference_says(fell_back: bool) -> Any:
    def fake(*_: Any) -> dict[str, Any]:
        reason = "validation" if fell_back else None
        return {"bits": 8, "fell_back": fell_back, "reason": reason, "scheme": "last", "qat_val": 1.0}

    return fake


def test_a_narrow_model_falls_back_where_the_8_bit_one_did_without_qat(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a clean season a narrow model earns its place after a few epochs; the 8-bit one fell back
    (patched to): the narrow one ships persistence, to the digit in the integer model, for the
    reference's reason, and its QAT never runs (no QAT phase reaches the progress callback, no
    earlier origin is trained). It still exports: calibrated, its head zeroed."""
    monkeypatch.setattr(qat, "_reference", _reference_says(True))
    s = _season()
    phases: list[str] = []
    res = train(s, _cfg(4), TrainSettings(**SHIPS, scheme="last"), lambda p, *a: phases.append(p))
    assert res.metrics["persistence_fallback"] and res.metrics["fallback_reason"] == qat.REFERENCE_REASON
    assert res.metrics["reference"]["fell_back"] and res.metrics["qat_skipped"] == qat.REFERENCE_REASON
    assert "origin_check" not in res.metrics and "qat_epochs" not in res.metrics
    assert phases and set(phases) == {"float", "float-finetune"}
    assert res.model.quantised
    im = E.export(res.model, {"norm": res.norm.to_dict(), "features": s.features, "target": s.target})
    r = evaluate(im, s, "test")
    assert r["rmse"] == r["persistence_rmse"] == res.metrics["qat"]["rmse"]
    # the same seed without the reference's verdict trains and ships a model, ahead of persistence
    monkeypatch.setattr(qat, "_reference", _reference_says(False))
    ships = train(s, _cfg(4), TrainSettings(**SHIPS, scheme="last"))
    assert not ships.metrics["persistence_fallback"] and ships.metrics["qat"]["rmse"] < r["rmse"]


def test_without_qat_a_narrow_model_ships_the_seasonal_anchor_exactly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where the fallback is the last reading plus a season's change, the skipped narrow model ships
    that, to the digit in the integer model, under that scheme (``fell_from`` names its own)."""
    monkeypatch.setattr(qat, "_reference", _reference_says(True))
    s = wandering_season()
    res = train(s, _cfg(4), TrainSettings(**QUICK, scheme="last", period=12))
    assert res.metrics["qat_skipped"] == qat.REFERENCE_REASON and res.norm.scheme == "season-diff"
    assert res.metrics["fallback"]["scheme"] == "season-diff" and res.metrics["fell_from"] == "last"
    im = E.export(res.model, {"norm": res.norm.to_dict(), "features": s.features, "target": s.target})
    r = evaluate(im, s, "test", 12)
    assert r["rmse"] == r["seasonal_diff_rmse"] < 0.3 * r["persistence_rmse"]


def test_where_the_8_bit_model_ships_the_narrow_run_is_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the reference shipping its model, the 4-bit run ships what it ships with no reference at
    all (``_narrower`` patched off): the reference's own training leaves the narrow QAT as it was."""
    s = _season()
    st = TrainSettings(**SHIPS, scheme="last", seed=1)
    monkeypatch.setattr(qat, "_reference", _reference_says(False))
    gated = train(s, _cfg(4), st)
    monkeypatch.setattr(qat, "_narrower", lambda c: False)
    plain = train(s, _cfg(4), st)
    assert not gated.metrics["persistence_fallback"] and "reference" not in plain.metrics
    for k in ("qat", "qat_val", "persistence_fallback"):
        assert gated.metrics[k] == plain.metrics[k], k
    monkeypatch.undo()
    # and the real reference, run first, leaves it as it was too (the QAT draws from its own seed)
    real = train(s, _cfg(4), st)
    assert not real.metrics["reference"]["fell_back"]
    assert real.metrics["qat"] == plain.metrics["qat"] and real.metrics["qat_val"] == plain.metrics["qat_val"]


def test_train_says_why_the_narrow_model_ships_the_fallback(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = _season(300)
    csv = tmp_path / "s.csv"
    csv.write_text("y\n" + "\n".join(f"{v:.6f}" for v in s.y) + "\n")
    args = ["train", "--data", str(csv), "--target", "y", "--scaling", "last", "--bits", "4"]
    args += ["--window", "12", "--d-model", "8", "--epochs", "1", "--json", "--out", str(tmp_path / "run")]
    monkeypatch.setattr(qat, "_reference", _reference_says(True))
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["persistence_fallback"] and summary["fallback_reason"] == "8-bit reference"
    assert summary["reference"] == _reference_says(True)()
    first = summary["warnings"][0]
    assert "the 8-bit model quantised from the same float model did not earn its place" in first
    assert "(it fell back: validation)" in first and "forecasts the last reading, as --bits 8 does" in first
    assert "was not quantisation-trained" in first
    assert summary["qat"]["rmse"] == pytest.approx(summary["persistence_rmse"], rel=1e-9)
    assert summary["qat_skipped"] == "8-bit reference" and "qat_epochs" not in summary
    # no QAT state was kept on the short validation span, so no warning says one was
    assert summary["validation_windows"] < 100 and not any(
        "QAT's kept state" in w for w in summary["warnings"]
    )
    # and in words: no QAT, why, and what shipped
    assert main([a for a in args if a != "--json"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert (
        "QAT: none (the 8-bit model from the same float model fell back: validation); shipped persistence"
        in out
    )
