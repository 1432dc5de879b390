"""The window-relative scheme end to end: a trending series, trained, exported, integer-evaluated."""

from __future__ import annotations

import copy
import itertools
from dataclasses import replace

import numpy as np
import pytest
import torch

from qtdeploy.model import data as D
from qtdeploy.model.config import ModelConfig
from qtdeploy.model.evaluate import evaluate
from qtdeploy.train import export as E
from qtdeploy.train.net import Forecaster
from qtdeploy.train.qat import (
    AUTO_CHALLENGERS,
    AUTO_TRIED,
    CHALLENGER_MARGIN_SE,
    FALLBACK_MARGIN_SE,
    QUANTISED_SWITCH_SE,
    TrainSettings,
    _choose,
    _critical,
    _judged,
    _paired_z,
    _predict,
    _switch,
    qat_settings,
    train,
)
from support.reference import reference_ships


def _trend_series() -> D.Series:
    """A daily-cycle sensor on a rising trend: the test span lies far above anything trained on."""
    rng = np.random.default_rng(0)
    t = np.arange(900)
    y = 0.05 * t + 2.0 * np.sin(2 * np.pi * t / 24) + 0.2 * rng.normal(size=len(t))
    return D.Series(features=["y"], target="y", x=y[:, None], y=y, source="synthetic trend")


@pytest.mark.parametrize("bits", [8, 4])
def test_trend_series_beats_persistence_without_clipping(bits: int) -> None:
    s = _trend_series()
    cfg = ModelConfig.uniform(window=12, features=1, d_model=8, bits=bits)
    res = train(s, cfg, TrainSettings(epochs=6, patience=6, min_steps=0))
    im = E.export(res.model, {"norm": res.norm.to_dict(), "features": s.features, "target": s.target})
    r = evaluate(im, s, "test", period=24)
    assert r["scheme"] in AUTO_TRIED and r["clipped_inputs"] < 0.01
    assert r["rmse"] < r["persistence_rmse"]
    # the global scheme clips every test input of this series (the cause found for issue 13)
    glob = train(s, cfg, TrainSettings(epochs=1, patience=1, min_steps=0, scheme="global"))
    img = E.export(glob.model, {"norm": glob.norm.to_dict()})
    assert evaluate(img, s, "test")["clipped_inputs"] > 0.9


def test_training_starts_at_persistence() -> None:
    s = _trend_series()
    cfg = ModelConfig.uniform(window=12, features=1, d_model=8, bits=None)
    norm = D.fit_norm(s, 12, 1)
    test = D.make_splits(s, 12, 1, norm)["test"]
    torch.manual_seed(0)
    model = Forecaster(cfg)
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.zero_()
    out = _predict(model, torch.as_tensor(test["x"], dtype=torch.float32)).double().numpy()
    assert np.allclose(norm.outputs(out, test["anchor"]), test["persist"])
    # and a run never ends worse than persistence on validation (its starting point competes)
    res = train(s, cfg, TrainSettings(epochs=1, patience=1, min_steps=0))
    val = D.make_splits(s, 12, 1, res.norm)["val"]
    pred = norm.outputs(
        _predict(res.model, torch.as_tensor(val["x"], dtype=torch.float32)).numpy(), val["anchor"]
    )
    assert (
        np.sqrt(np.mean((pred - val["y"]) ** 2)) <= np.sqrt(np.mean((val["persist"] - val["y"]) ** 2)) + 1e-6
    )


def test_horizon_three_forecasts_from_the_last_reading() -> None:
    s = _trend_series()
    cfg = ModelConfig.uniform(window=12, features=1, d_model=8, bits=6, horizon=3)
    res = train(s, cfg, TrainSettings(epochs=3, patience=3, min_steps=0))
    im = E.export(res.model, {"norm": res.norm.to_dict(), "features": s.features, "target": s.target})
    r = evaluate(im, s, "test")
    assert r["rmse"] < r["persistence_rmse"] and r["clipped_inputs"] < 0.01


def test_a_model_not_clearly_ahead_on_validation_ships_persistence() -> None:
    """Kept only when ahead of persistence by more than noise (FALLBACK_MARGIN_SE standard errors
    of the per-window difference): a model a hair ahead, or behind, ships persistence itself."""
    from qtdeploy.train.qat import _persistence_fallback

    s = _trend_series()
    cfg = ModelConfig.uniform(window=12, features=1, d_model=8, bits=8)
    res = train(s, cfg, TrainSettings(epochs=1, patience=1, min_steps=0))
    splits = D.make_splits(s, 12, 1, res.norm)
    data = _judged(splits["val"])
    head = copy.deepcopy(res.model.head.state_dict())

    def fallback_with_head_scaled(k: float) -> tuple[bool, float, float]:
        res.model.head.load_state_dict(head)
        with torch.no_grad():
            res.model.head.weight.mul_(k)
            res.model.head.bias.mul_(k)
        out = _predict(res.model, data["vx"])
        rmse, pers = (
            float(torch.sqrt(((out - data["vy"]) ** 2).mean())),
            float(torch.sqrt((data["vy"] ** 2).mean())),
        )
        fell = _persistence_fallback(res.model, data, res.norm)
        return fell, rmse, pers

    fell, rmse, pers = fallback_with_head_scaled(1.0)
    assert not fell and rmse < pers  # ahead by more than noise: kept
    fell, rmse, pers = fallback_with_head_scaled(0.01)
    assert 0 < pers - rmse < 0.01 * pers and fell  # ahead by a hair: persistence
    fell, rmse, pers = fallback_with_head_scaled(-1.0)
    assert rmse > pers and fell  # behind: persistence
    im = E.export(res.model, {"norm": res.norm.to_dict(), "features": s.features, "target": s.target})
    r = evaluate(im, s, "test")
    assert r["rmse"] == r["persistence_rmse"]  # the integer model's output is 0: exactly persistence


def test_on_three_validation_windows_a_model_ahead_by_two_standard_errors_ships_persistence() -> None:
    """The margin is read on Student's t with n-1 degrees of freedom: three windows that put the model
    2-4.5 standard errors ahead of persistence (past a fixed z of 2, short of t's 4.53) are no
    evidence, so persistence ships; the same model over the whole validation span is kept."""
    from qtdeploy.train.qat import _persistence_fallback, _persistence_sq_err, _window_sq_err

    s = _trend_series()
    cfg = ModelConfig.uniform(window=12, features=1, d_model=8, bits=8)
    res = train(s, cfg, TrainSettings(epochs=1, patience=1, min_steps=0))
    splits = D.make_splits(s, 12, 1, res.norm)
    data = _judged(splits["val"])
    diff = _window_sq_err(res.model, data) - _persistence_sq_err(data)
    n = len(diff)
    assert _paired_z(diff) < -_critical(FALLBACK_MARGIN_SE, n)  # over the whole span: clearly ahead
    spans = [i for i in range(n - 2) if -_critical(FALLBACK_MARGIN_SE, 3) < _paired_z(diff[i : i + 3]) < -2.2]
    assert spans, "no three-window span 2.2-4.5 standard errors ahead to test with"
    few = {k: v[spans[0] : spans[0] + 3] for k, v in data.items()}
    head = copy.deepcopy(res.model.head.state_dict())
    assert _persistence_fallback(res.model, few, res.norm)
    assert not res.model.head.weight.any()
    res.model.head.load_state_dict(head)
    assert not _persistence_fallback(res.model, data, res.norm)


def test_the_margin_in_standard_errors_is_student_t_at_the_normal_level() -> None:
    """``_critical(m, n)``: t on n-1 degrees of freedom at the one-sided level the normal puts beyond
    ``m``; wide on a few windows, ``m`` itself on many, and nothing passes on one window."""
    from scipy import stats

    assert _critical(2.0, 3) == pytest.approx(4.53, abs=0.01)
    assert _critical(2.0, 4) == pytest.approx(3.31, abs=0.01)
    assert _critical(2.0, 10_000) == pytest.approx(2.0, abs=0.002)
    widths = [_critical(3.0, n) for n in (2, 3, 5, 10, 30, 100, 1000)]
    assert widths == sorted(widths, reverse=True) and widths[-1] > 3.0
    for n in (3, 7, 40):
        assert stats.t.sf(_critical(3.0, n), n - 1) == pytest.approx(stats.norm.sf(3.0), rel=1e-6)
    assert _critical(2.0, 1) == float("inf")
    # the challenger (2) and the switch (3) read their margins alike: 3.2 standard errors ahead is
    # past both over 400 windows, and past neither over 4 (t: 3.31 and 9.22)
    rng = np.random.default_rng(3)
    for n, wins in ((400, True), (4, False)):
        base = torch.as_tensor(rng.gamma(2.0, 1.0, n))
        noise = torch.as_tensor(rng.normal(0, 1.0, n))
        ahead = base + noise - float(noise.mean()) - 3.2 * float(noise.std()) / n**0.5
        assert _paired_z(ahead - base) == pytest.approx(-3.2, rel=1e-6)
        cands = [("last", 1.0, base), ("diff", 2.0, base + 1), ("diff-rms", 1.5, ahead)]
        assert (_choose(cands) == 2) is wins
        assert (_switch(0, [base, base + 1, ahead])[0] == 2) is wins


def test_a_multi_step_horizon_counts_the_overlap_of_its_windows() -> None:
    """``_paired_z`` is the Diebold-Mariano statistic with Harvey-Leybourne-Newbold's correction: at
    horizon 1 the paired t statistic; at horizon h the losses of windows up to h-1 apart share
    targets, and their positive autocovariance widens the standard error."""
    from scipy import stats

    rng = np.random.default_rng(4)
    e = rng.normal(0, 1.0, 203)
    d = torch.as_tensor(-0.25 + e[2:] + e[1:-1] + e[:-2])  # an MA(2): what horizon-3 windows share
    t = stats.ttest_1samp(d.numpy(), 0.0).statistic
    assert _paired_z(d) == pytest.approx(t, rel=1e-9)
    assert _paired_z(d, horizon=1) == pytest.approx(t, rel=1e-9)
    z3 = _paired_z(d, horizon=3)
    assert t < z3 < 0 and abs(z3) < 0.75 * abs(t)
    assert _paired_z(d[:1]) == 0.0  # one window: the spread is unknown
    assert _paired_z(torch.full((5,), -1.0, dtype=torch.float64)) == float("-inf")


def test_auto_keeps_the_scheme_that_validates_better() -> None:
    s = _trend_series()
    cfg = ModelConfig.uniform(window=12, features=1, d_model=8, bits=None)
    st = TrainSettings(epochs=2, patience=2, min_steps=0)
    res = train(s, cfg, replace(st, scheme="auto"))
    assert res.norm.scheme in AUTO_TRIED
    vals = {}
    for sc in ("last", "diff"):
        r = train(s, cfg, replace(st, scheme=sc))
        val = D.make_splits(s, 12, 1, r.norm)["val"]
        out = _predict(r.model, torch.as_tensor(val["x"], dtype=torch.float32)).double().numpy()
        vals[sc] = float(np.sqrt(np.mean((out - val["t"]) ** 2)))
    # the better of the two, unless the challenger ("diff-rms") won by the margin (_choose)
    assert res.norm.scheme in (min(vals, key=vals.get), *AUTO_CHALLENGERS)
    with pytest.raises(ValueError, match="float_state"):
        train(
            s,
            ModelConfig.uniform(window=12, features=1, d_model=8, bits=8),
            replace(st, scheme="auto"),
            float_state=res.model.state_dict(),
        )


def test_short_series_get_the_step_floor_and_an_explicit_count_does_not() -> None:
    """30 epochs of a few hundred windows are a few hundred optimiser steps: too few to settle
    (issue 13's small series). The default runs each phase for at least ``min_steps`` steps, with
    patience scaled alike; an explicit count (``min_steps=0``, as ``train --epochs N``) is exact."""
    s = _trend_series()
    cfg = ModelConfig.uniform(window=12, features=1, d_model=8, bits=None)
    windows = len(D.make_splits(s, 12, 1, D.fit_norm(s, 12, 1))["train"]["y"])
    per_epoch = -(-windows // 64)
    totals: dict[str, int] = {}

    def seen(phase: str, epoch: int, total: int, val: float) -> None:
        totals[phase] = total

    train(s, cfg, TrainSettings(epochs=2, patience=2, min_steps=10 * per_epoch), progress=seen)
    assert totals["float"] == 10 and totals["float-finetune"] == 10
    train(s, cfg, TrainSettings(epochs=2, patience=2, min_steps=0), progress=seen)
    assert totals["float"] == 2


def test_qat_at_narrow_activations_gets_a_longer_step_floor() -> None:
    """The 4-bit model underfits (issue 13), so QAT whose activations are NARROW_ACT_BITS or fewer
    runs ``narrow_qat_steps`` times the step floor; 8-bit activations (8-bit, w4a8) keep the floor,
    the float phases too, and an explicit count (``min_steps=0``) stays exact at every width."""
    s = _trend_series()
    shape = {"window": 12, "features": 1, "d_model": 8}
    windows = len(D.make_splits(s, 12, 1, D.fit_norm(s, 12, 1))["train"]["y"])
    per_epoch = -(-windows // 64)
    st = TrainSettings(epochs=1, patience=1, min_steps=2 * per_epoch, narrow_qat_steps=3)
    fl = train(s, ModelConfig.uniform(**shape, bits=None), st).model.state_dict()
    planned = {}
    for name, cfg in {
        "8": ModelConfig.uniform(**shape, bits=8),
        "w4a8": ModelConfig.uniform(**shape, bits=4, act_bits=8),
        "w8a4": ModelConfig.uniform(**shape, bits=8, act_bits=4),
        "4": ModelConfig.uniform(**shape, bits=4),
        "3": ModelConfig.uniform(**shape, bits=3),
    }.items():
        assert qat_settings(cfg, st).min_steps == (6 if name in ("w8a4", "4", "3") else 2) * per_epoch
        planned[name] = train(s, cfg, st, float_state=fl).metrics["qat_epochs"]["epochs_planned"]
    assert planned == {"8": 2, "w4a8": 2, "w8a4": 6, "4": 6, "3": 6}
    exact = replace(st, min_steps=0)
    assert (
        train(s, ModelConfig.uniform(**shape, bits=4), exact, float_state=fl).metrics["qat_epochs"][
            "epochs_planned"
        ]
        == 1
    )
    assert TrainSettings.for_epochs(5).min_steps == 0 and TrainSettings().narrow_qat_steps > 1


def test_qat_whole_schedule_is_a_choice_the_float_phases_do_not_take(monkeypatch: pytest.MonkeyPatch) -> None:
    """``qat_early_stop=False`` runs QAT for every epoch of its schedule and keeps the best state
    (bench/accuracy.py --qat-whole-schedule measures it); the float phases stop on patience either
    way, and so does QAT by default. A validation that only gets worse shows each."""
    s = _trend_series()
    cfg = ModelConfig.uniform(window=12, features=1, d_model=8, bits=4)
    worse = itertools.count(1)
    monkeypatch.setattr("qtdeploy.train.qat._val_rmse", lambda model, data: float(next(worse)))
    reference_ships(monkeypatch)  # which falls back here, and the narrow QAT would not run
    totals: dict[str, int] = {}

    def seen(phase: str, epoch: int, total: int, val: float) -> None:
        totals[phase] = epoch

    res = train(s, cfg, TrainSettings(epochs=5, patience=2, min_steps=0, qat_early_stop=False), progress=seen)
    # below 8 bits the 8-bit reference (``qat._reference``, session 30) runs its QAT the same way,
    # from the same float model (no float phase of its own)
    assert totals == {"float": 2, "float-finetune": 2, "qat": 5, "8-bit reference qat": 5}
    # what the run records for the user (train's summary): no epoch beat the calibrated start
    assert res.metrics["qat_epochs"] == {
        "epochs_planned": 5,
        "epochs_run": 5,
        "best_epoch": 0,
        "whole_schedule": True,
    }
    res = train(s, cfg, TrainSettings(epochs=5, patience=2, min_steps=0), progress=seen)
    assert totals == {"float": 2, "float-finetune": 2, "qat": 2, "8-bit reference qat": 2}
    assert res.metrics["qat_epochs"] == {
        "epochs_planned": 5,
        "epochs_run": 2,
        "best_epoch": 0,
        "whole_schedule": False,
    }


def test_the_learning_rate_decays_to_its_floor_over_a_phase(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cosine decay: the last steps of a phase move the weights far less than the first ones, so
    the validation states early stopping compares have settled (constant-rate runs jumped 30-50 %)."""
    from qtdeploy.train.qat import _fit, _tensor

    s = _trend_series()
    cfg = ModelConfig.uniform(window=12, features=1, d_model=8, bits=None)
    norm = D.fit_norm(s, 12, 1)
    sp = D.make_splits(s, 12, 1, norm)
    data = {"x": _tensor(sp["train"]["x"]), "y": _tensor(sp["train"]["t"])}
    data |= _judged(sp["val"])
    rates: list[float] = []
    orig = torch.optim.Adam.step

    def spy(self, *a, **k):  # noqa: ANN001, ANN002, ANN003 - a transparent wrapper
        rates.append(self.param_groups[0]["lr"])
        return orig(self, *a, **k)

    torch.manual_seed(0)
    model = Forecaster(cfg)
    st = TrainSettings(epochs=4, patience=100, min_steps=0)
    monkeypatch.setattr(torch.optim.Adam, "step", spy)
    _fit(model, data, st, 1e-3, "float", None, None)
    assert rates[0] == pytest.approx(1e-3) and rates[-1] < 0.05e-3
    assert all(b <= a + 1e-12 for a, b in zip(rates, rates[1:], strict=False))


def test_auto_chooses_the_scheme_on_the_float_models_and_quantises_only_that_one() -> None:
    """``auto`` compares the float models once and every width ships that scheme: the best of
    three QAT runs, each already the best of many epochs on the same validation windows, was an
    optimistic pick on short spans (issue 13, README "Session 17"). One QAT phase runs, not three."""
    s = _trend_series()
    cfg = ModelConfig.uniform(window=12, features=1, d_model=8, bits=4)
    st = TrainSettings(epochs=2, patience=2, min_steps=0, scheme="auto", seed=1)
    phases: list[str] = []

    def seen(phase: str, epoch: int, total: int, val: float) -> None:
        if epoch == 1:
            phases.append(phase)

    res = train(s, cfg, st, progress=seen)
    # below 8 bits the 8-bit reference (``qat._reference``, session 30) quantises too, from the same
    # float models (no float phase of its own); this width's own phases are as before
    ref = [p for p in phases if p.startswith("8-bit reference ")]
    assert ref and all(p.startswith("8-bit reference qat") for p in ref)
    assert [p for p in phases if p not in ref] == ["float", "float-finetune"] * len(AUTO_TRIED) + ["qat"]
    validated = res.metrics["schemes_validated"]
    assert set(validated) == set(AUTO_TRIED) == {"last", "diff", "diff-rms"}
    # the float validation RMSEs chose: the better of the two, unless "diff-rms" won by the margin
    fl = train(s, replace(cfg, bits=None), st)
    assert fl.norm.scheme in (min(("last", "diff"), key=validated.get), "diff-rms")
    assert fl.metrics["schemes_validated"] == validated and "schemes_calibrated" not in fl.metrics
    # every width starts from that choice; it ships it unless a calibrated scheme was far ahead
    for r in (res, train(s, replace(cfg, bits=8), st)):
        switch = r.metrics["scheme_switch"]
        assert r.norm.scheme == (switch["kept"] if switch else fl.norm.scheme)
        assert switch is None or (switch["from"] == fl.norm.scheme and switch["se"] > QUANTISED_SWITCH_SE)
        assert set(r.metrics["schemes_calibrated"]) == set(AUTO_TRIED)
    assert res.metrics["float_val"] == pytest.approx(validated[res.norm.scheme], abs=1e-6)
    # and the shipped model is the one measured: its test RMSE, recomputed from the export
    im = E.export(res.model, {"norm": res.norm.to_dict(), "features": s.features, "target": s.target})
    assert evaluate(im, s, "test")["rmse"] == pytest.approx(res.metrics["qat"]["rmse"], rel=1e-3)


def test_a_schemes_quantised_model_does_not_depend_on_how_its_float_model_was_obtained(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """QAT seeds itself: the model ``auto`` validates for a scheme, the one a run of that scheme
    alone ships, and the one trained from a float state passed in (as bench/accuracy.py does) are
    the same model. Before, QAT drew its data order from wherever the float phases had left the
    generator, so `qtdeploy train` could not reproduce a cell of the accuracy table."""
    reference_ships(monkeypatch)  # the 8-bit reference runs first; its verdict would skip the QAT here
    s = _trend_series()
    cfg = ModelConfig.uniform(window=12, features=1, d_model=8, bits=4)
    st = TrainSettings(epochs=2, patience=2, min_steps=0, seed=3)
    auto = train(s, cfg, replace(st, scheme="auto"))
    floats = {sc: train(s, replace(cfg, bits=None), replace(st, scheme=sc)) for sc in AUTO_TRIED}
    passed = train(
        s,
        cfg,
        replace(st, scheme="auto"),
        float_states={sc: r.model.state_dict() for sc, r in floats.items()},
    )
    assert passed.metrics["schemes_validated"] == auto.metrics["schemes_validated"]
    assert passed.metrics["qat_val"] == auto.metrics["qat_val"]
    alone = {sc: train(s, cfg, replace(st, scheme=sc)) for sc in AUTO_TRIED}
    for sc, res in alone.items():
        assert res.metrics["float_val"] == pytest.approx(auto.metrics["schemes_validated"][sc], abs=1e-6)
    assert alone[auto.norm.scheme].metrics["qat_val"] == pytest.approx(auto.metrics["qat_val"], abs=1e-6)
    shipped = alone[auto.norm.scheme].model.state_dict()
    assert all(torch.equal(v, shipped[k]) for k, v in auto.model.state_dict().items())
    # the seed is what decides: another seed's QAT from the same float model is another run
    other = train(s, cfg, replace(st, scheme="diff", seed=4), float_state=floats["diff"].model.state_dict())
    assert alone["diff"].metrics["qat_epochs"]["best_epoch"] > 0  # (else both kept the same start)
    assert not torch.equal(other.model.inp.weight, alone["diff"].model.inp.weight)


def test_window_rms_validation_is_in_the_units_every_scheme_shares() -> None:
    """ "diff-rms" trains on targets divided by each window's scale; validation (early stopping,
    the scheme choice, the persistence fallback) multiplies them back: the RMSE in y_scale units."""
    from qtdeploy.train.qat import _predict, _val_rmse

    s = _trend_series()
    cfg = ModelConfig.uniform(window=12, features=1, d_model=8, bits=None)
    res = train(s, cfg, TrainSettings(epochs=1, min_steps=0, scheme="diff-rms"))
    val = D.make_splits(s, 12, 1, res.norm)["val"]
    assert val["scale"].std() > 0.01  # windows differ in scale, else this tests nothing
    data = _judged(val)
    pred = res.norm.outputs(_predict(res.model, data["vx"]).double().numpy(), val["anchor"], val["scale"])
    want = np.sqrt(np.mean((pred - val["y"]) ** 2)) / res.norm.y_scale
    assert _val_rmse(res.model, data) == pytest.approx(want, rel=1e-5)


def test_a_challenger_scheme_ships_only_when_ahead_by_the_margin() -> None:
    """``auto`` keeps the better of "last" and "diff"; "diff-rms" replaces it only when its
    per-window squared error is lower by more than CHALLENGER_MARGIN_SE standard errors."""
    rng = np.random.default_rng(0)
    base = torch.as_tensor(rng.gamma(2.0, 1.0, 400))
    noise = torch.as_tensor(rng.normal(0, 1.0, 400))
    se = float(noise.std()) / 400**0.5

    def cands(shift: float) -> list[tuple[str, float, torch.Tensor]]:
        rms = base + noise + shift - float(noise.mean())  # mean difference exactly ``shift``
        return [
            ("last", float(base.mean() ** 0.5), base),
            ("diff", float((base + 1).mean() ** 0.5), base + 1),
            ("diff-rms", float(rms.mean() ** 0.5), rms),
        ]

    assert _choose(cands(-0.5 * CHALLENGER_MARGIN_SE * se)) == 0  # ahead, but within noise
    assert _choose(cands(-2.0 * CHALLENGER_MARGIN_SE * se)) == 2  # clearly ahead
    assert _choose(cands(+1.0)) == 0
    assert _choose([("last", 2.0, base + 1), ("diff", 1.0, base)]) == 1  # the base pair: lowest RMSE


def test_a_quantised_width_switches_scheme_only_when_its_calibrated_model_is_far_ahead() -> None:
    """At a quantised width the float models' choice is kept unless another scheme's float model,
    calibrated at that width before QAT, validates ahead of it by more than QUANTISED_SWITCH_SE
    standard errors of the paired per-window difference; the furthest ahead then."""
    rng = np.random.default_rng(1)
    base = torch.as_tensor(rng.gamma(2.0, 1.0, 300))
    noise = torch.as_tensor(rng.normal(0, 1.0, 300))
    se = float(noise.std()) / 300**0.5

    def ahead(k: float) -> torch.Tensor:  # ``base`` less exactly ``k`` standard errors on average
        return base + noise - float(noise.mean()) - k * se

    m = QUANTISED_SWITCH_SE
    assert _switch(1, [ahead(0.8 * m), base, base + 1]) == (1, 0.0)  # ahead, within the margin
    to, z = _switch(1, [ahead(1.5 * m), base, base + 1])
    assert to == 0 and z == pytest.approx(-1.5 * m, rel=1e-6)
    assert _switch(0, [base, ahead(1.5 * m), ahead(3 * m)])[0] == 2  # the furthest ahead
    assert _switch(2, [base + 1, base + 2, base]) == (2, 0.0)  # behind: never


def test_the_switch_is_wired_to_the_calibrated_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """What ``train`` compares for the switch is each scheme's float model calibrated at the width
    (the same calibration its QAT starts from), and on a span under SHORT_VALIDATION windows the
    switched scheme is the one quantised."""
    from qtdeploy.train import qat

    monkeypatch.setattr(qat, "SHORT_VALIDATION", 10**6)  # every span is short
    s = _trend_series()
    cfg = ModelConfig.uniform(window=12, features=1, d_model=8, bits=4)
    st = TrainSettings(epochs=1, patience=1, min_steps=0, scheme="auto", seed=2)
    floats = {sc: train(s, replace(cfg, bits=None), replace(st, scheme=sc)) for sc in AUTO_TRIED}
    states = {sc: r.model.state_dict() for sc, r in floats.items()}
    kept = train(s, cfg, st, float_states=states)
    monkeypatch.setattr(qat, "QUANTISED_SWITCH_SE", -1e9)  # even a scheme behind switches
    forced = train(s, cfg, st, float_states=states)
    cal = forced.metrics["schemes_calibrated"]
    assert cal == kept.metrics["schemes_calibrated"]
    chosen = forced.metrics["scheme_switch"]["from"]
    assert chosen == (kept.metrics["scheme_switch"] or {}).get("from", kept.norm.scheme)
    assert forced.norm.scheme != chosen and forced.metrics["scheme_switch"]["to"] == forced.norm.scheme
    # the calibrated RMSE recorded is that of the scheme's float model after start_qat alone
    sc = forced.norm.scheme
    model = Forecaster(cfg)
    model.load_state_dict(states[sc], strict=False)
    _, _, data = qat._prepare(s, cfg, sc)
    qat._calibrate(model, data, st.seed)
    assert cal[sc] == pytest.approx(qat._val_rmse(model, data), abs=1e-5)
    # and the switched scheme's QAT is the one a run of that scheme alone ships
    alone = train(s, cfg, replace(st, scheme=sc), float_state=states[sc])
    assert forced.metrics["qat_val"] == pytest.approx(alone.metrics["qat_val"], abs=1e-7)


def test_on_a_long_span_a_proposed_switch_is_settled_by_quantising_both(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With SHORT_VALIDATION validation windows or more, the calibrated models only propose a
    switch: the float models' choice and the proposed scheme are both QAT'd and the one whose
    shipped model validates lower ships (ecg-mitdb, README "Session 21": the calibrated proxy
    switched all three seeds at 4 bits, on 1,113 windows). Each is the model a run of that scheme
    alone ships, and the progress names both QAT runs."""
    from qtdeploy.train import qat

    s = _trend_series()
    cfg = ModelConfig.uniform(window=12, features=1, d_model=8, bits=4)
    st = TrainSettings(epochs=1, patience=1, min_steps=0, scheme="auto", seed=2)
    states = {
        sc: train(s, replace(cfg, bits=None), replace(st, scheme=sc)).model.state_dict() for sc in AUTO_TRIED
    }
    monkeypatch.setattr(qat, "QUANTISED_SWITCH_SE", -1e9)  # every calibrated leader is proposed
    phases: list[str] = []

    def seen(phase: str, epoch: int, total: int, val: float) -> None:
        if epoch == 1:
            phases.append(phase)

    res = train(s, cfg, st, progress=seen, float_states=states)
    assert res.metrics["windows"]["val"] >= qat.SHORT_VALIDATION
    sw = res.metrics["scheme_switch"]
    assert sw["from"] != sw["to"] and list(sw["qat_val"]) == [sw["from"], sw["to"]]
    # (the 8-bit reference, ``qat._reference``, quantises from the same float models first)
    own = [p for p in phases if not p.startswith("8-bit reference ")]
    assert own == [f"qat {sw['from']!r}", f"qat {sw['to']!r}"]
    assert sw["kept"] == res.norm.scheme == min(sw["qat_val"], key=sw["qat_val"].get)
    assert res.metrics["qat_val"] == pytest.approx(sw["qat_val"][sw["kept"]], abs=1e-6)
    for sc in (sw["from"], sw["to"]):
        alone = train(s, cfg, replace(st, scheme=sc), float_state=states[sc])
        assert sw["qat_val"][sc] == pytest.approx(alone.metrics["qat_val"], abs=1e-6)
    # a short span keeps the proposal without quantising the float choice
    monkeypatch.setattr(qat, "SHORT_VALIDATION", 10**6)
    short = train(s, cfg, st, float_states=states)
    assert short.norm.scheme == short.metrics["scheme_switch"]["kept"] == sw["to"]
    assert "qat_val" not in short.metrics["scheme_switch"]


def test_the_margin_an_evidence_passes_inverts_the_critical_value() -> None:
    """``_margin_passed`` is ``_critical`` inverted: a model that far ahead ships under any smaller
    margin and falls back under any larger one (what `train --persistence-margin` is told to use)."""
    from qtdeploy.train.qat import _margin_passed

    for n in (3, 6, 39, 1000):
        for ahead in (0.3, 1.7, 2.5, 6.0):
            m = _margin_passed(ahead, n)
            assert m is not None and m >= 0
            if m > 0:
                assert _critical(m, n) == pytest.approx(ahead, rel=1e-6)
                assert _critical(m + 0.01, n) > ahead > _critical(m - 0.01, n)
    assert _margin_passed(-0.5, 30) is None and _margin_passed(2.0, 1) is None
    assert _margin_passed(float("inf"), 30) is None


def _short_cycle(rows: int = 140, noise: float = 0.2) -> D.Series:
    """A 12-step cycle short enough that validation holds under SHORT_FOR_ORIGIN_CHECK windows."""
    rng = np.random.default_rng(1)
    t = np.arange(rows)
    y = 3.0 * np.sin(2 * np.pi * t / 12) + noise * rng.normal(size=rows)
    return D.Series(features=["y"], target="y", x=y[:, None], y=y, source="synthetic short cycle")


def test_the_earlier_origin_is_tested_on_exactly_the_validation_windows() -> None:
    """``_earlier_origin`` ends at the validation span, validates on the span of the same length
    before it, and its test windows are the real validation windows (same targets, same inputs)."""
    from qtdeploy.train.qat import _earlier_origin

    s = _short_cycle()
    norm = D.fit_norm(s, 12, 1)
    real = D.make_splits(s, 12, 1, norm)
    _, va, _ = D.split_rows(len(s.y))
    sub = _earlier_origin(s)
    assert len(sub.y) == va.stop and sub.bounds == (va.start - len(s.y[va]), va.start)
    early = D.make_splits(sub, 12, 1, norm)
    np.testing.assert_array_equal(early["test"]["y"], real["val"]["y"])
    np.testing.assert_array_equal(early["test"]["raw"], real["val"]["raw"])
    assert len(early["val"]["y"]) == len(real["val"]["y"])  # a validation span of the same length
    assert len(early["train"]["y"]) < len(real["train"]["y"])


@pytest.mark.parametrize("ahead", [True, False])
def test_a_short_validation_win_ships_only_if_an_earlier_origin_also_wins(
    ahead: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under SHORT_FOR_ORIGIN_CHECK validation windows a model past the fallback's margin is trained
    again from an earlier origin; where that one loses to persistence on the validation windows, the
    head is zeroed (the integer model then is persistence itself)."""
    from qtdeploy.train import qat

    calls = []

    def check(series, config, st, progress):
        calls.append(len(series.y))
        return {"train_rows": 0, "windows": 1, "rmse_ratio": 0.9 if ahead else 1.1, "ahead": ahead}

    monkeypatch.setattr(qat, "_persistence_fallback", lambda *a: False)  # past the margin
    monkeypatch.setattr(qat, "_origin_check", check)
    s = _short_cycle()
    cfg = ModelConfig.uniform(window=12, features=1, d_model=8, bits=8)
    res = train(s, cfg, TrainSettings(epochs=30, patience=30, min_steps=300))
    assert res.metrics["windows"]["val"] < qat.SHORT_FOR_ORIGIN_CHECK and calls == [len(s.y)]
    assert res.metrics["origin_check"]["ahead"] is ahead
    assert res.metrics["persistence_fallback"] is (not ahead)
    assert bool(torch.all(res.model.head.weight == 0)) is (not ahead)
    im = E.export(res.model, {"norm": res.norm.to_dict(), "features": s.features, "target": s.target})
    r = evaluate(im, s, "test")
    assert (r["rmse"] == r["persistence_rmse"]) is (not ahead)
    # not asked where validation is long enough, nor when the setting is off
    calls.clear()
    train(s, cfg, TrainSettings(epochs=1, patience=1, min_steps=0, origin_check=False))
    long = _short_cycle(rows=400)
    assert len(D.make_splits(long, 12, 1, D.fit_norm(long, 12, 1))["val"]["y"]) >= qat.SHORT_FOR_ORIGIN_CHECK
    train(long, cfg, TrainSettings(epochs=1, patience=1, min_steps=0))
    assert calls == []


def test_the_origin_check_trains_from_the_earlier_origin_and_judges_its_unseen_windows() -> None:
    """The real check inside `train` (no stand-in): a predictable cycle wins validation and wins
    from the earlier origin too, so the model ships; the user's progress shows the second run."""
    s = _short_cycle()
    cfg = ModelConfig.uniform(window=12, features=1, d_model=8, bits=8)
    phases: list[str] = []
    res = train(s, cfg, TrainSettings(epochs=30, patience=30, min_steps=300), lambda p, *a: phases.append(p))
    oc = res.metrics["origin_check"]
    va = D.split_rows(len(s.y))[1]
    assert oc["windows"] == res.metrics["windows"]["val"] and oc["train_rows"] == va.start - (
        va.stop - va.start
    )
    assert oc["ahead"] and oc["rmse_ratio"] < 0.5 and not res.metrics["persistence_fallback"]
    assert "qat" in phases and "earlier-origin qat" in phases  # the user sees which run is training


def test_every_scheme_has_a_row_in_the_protocols_host_scaling_table() -> None:
    """protocol/model.md's "Host scaling" table is the contract other readers implement: a scheme
    the host writes into blobs without a row there could not be read by anyone else."""
    from qtdeploy.model import data as D
    from qtdeploy.paths import protocol_dir

    text = (protocol_dir() / "model.md").read_text()
    table = text[text.index("## Host scaling") :].split("\n\n")[2]
    import re

    # each row's first column names its scheme(s), e.g. 'absent or `"global"`'
    rows = {m for line in table.splitlines()[2:] for m in re.findall(r'`"([a-z-]+)"`', line.split("|")[1])}
    assert set(D.SCHEMES) <= rows, set(D.SCHEMES) - rows
