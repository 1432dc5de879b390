"""`qtdeploy train`: quantization-aware training of a forecaster."""

from __future__ import annotations

import math
from typing import Any

import click
from rich.progress import TaskID

from qtdeploy.cli.options import json_option
from qtdeploy.cli.output import emit, stderr, stdout


@click.command("train")
@click.option("--data", type=click.Path(dir_okay=False), default=None, help="CSV with a header row.")
@click.option(
    "--dataset", default=None, help="A packaged public dataset instead: seattle-temps, seattle-weather."
)
@click.option("--target", default=None, help="Column to forecast.")
@click.option("--features", default=None, help="Comma-separated input columns (default: the target).")
@click.option("--window", type=int, default=12, show_default=True)
@click.option("--d-model", type=int, default=32, show_default=True)
@click.option(
    "--bits",
    type=int,
    default=8,
    show_default=True,
    help="Width of every weight and activation, 2..8. Below 8 (or with --act-bits below 8) the run also "
    "quantises the 8-bit model from the same float model, and where that one does not beat the fallback "
    "this one ships the fallback too, with no QAT of its own (README, 'Session 30', 'Session 31').",
)
@click.option(
    "--act-bits", type=int, default=None, help="Activation width if different from --bits (mixed precision)."
)
@click.option(
    "--float", "float_only", is_flag=True, help="Train a float model only (a baseline; does not export)."
)
@click.option("--horizon", type=int, default=1, show_default=True)
@click.option("--layers", type=int, default=1, show_default=True)
@click.option("--ffn", type=int, default=None, help="Feed-forward width (default: 4 x d_model).")
@click.option(
    "--epochs",
    type=click.IntRange(min=1),
    default=None,
    help="Per phase (float, float at the QAT rate, then QAT), early-stopped on validation. Default: 30, "
    "and more on short series so that each phase makes at least 1500 optimiser steps (QAT with "
    "activations of 4 bits or fewer: 24000); an explicit N runs at most N.",
)
@click.option(
    "--qat-whole-schedule",
    is_flag=True,
    help="QAT runs every epoch of its cosine schedule (keeping the best validation state) instead of "
    "stopping on patience. Measured (README, issue 13): better at every width on a long series "
    "(seattle-temps, 6,000 training windows), worse on 300-window series.",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Seeds initialisation, data order and QAT: the same seed gives the same model (on the same "
    "torch version, one thread); bench/accuracy.py's seed N cells are --seed N.",
)
@click.option("--threads", type=int, default=1, show_default=True, help="CPU threads for torch.")
@click.option(
    "--period",
    type=click.IntRange(min=1),
    default=None,
    help="Seasonal period in readings (e.g. 24 for hourly data): adds the seasonal-naive baseline; "
    "with --scaling auto and a period of 2 or more (at most half the training span; longer than the "
    "window too), 'season' and 'season-diff' are tried too, and a model that does not earn its place "
    "may ship the last reading plus a season's change instead of persistence (see --persistence-margin).",
)
@click.option(
    "--scaling",
    type=click.Choice(["last", "diff", "diff-rms", "season", "season-diff", "auto", "global"]),
    default="auto",
    show_default=True,
    help="Host scaling: 'auto' = train a float model under each of 'last', 'diff' and 'diff-rms' "
    "(and 'season' and 'season-diff' with a --period), quantise the one that validates best "
    "('diff-rms', 'season' and 'season-diff' only when ahead by a margin), or at --bits "
    "another whose float model, calibrated at that width, validates far ahead (with 100 or more "
    "validation windows both are quantised and the better kept; the blob records which); 'last' = "
    "inputs relative to each window's last reading, forecast = last reading + predicted change (robust to trends and level shifts); 'diff' = step-to-step changes "
    "(finer on smooth series); 'diff-rms' = 'diff' scaled by each window's own RMS change (calm "
    "windows keep their resolution at 4 bits); 'season' (needs --period) = each reading minus the one "
    "a period before (a live forecast reads a period before the window too), forecast = seasonal "
    "naive + predicted deviation (quarterly or monthly data, interleaved channels); 'season-diff' "
    "(needs --period) = each change minus the change a period before, forecast = last reading + the "
    "change over the same steps a period before + predicted deviation (a daily or weekly shape on a "
    "wandering level: electricity demand); 'global' = one mean/std (clips data "
    "that leaves the training range).",
)
@click.option(
    "--persistence-margin",
    type=float,
    default=None,
    help="Standard errors (read on Student's t) by which the quantised model must beat persistence on "
    "validation to ship; short of it the exported model repeats the last reading, or with a --period "
    "forecasts the last reading plus a season's change where that beat persistence by the same margin "
    "over the training and validation windows (and then the model must beat that by the margin too on "
    "under 100 validation windows, and validate below it on more). "
    "Default 2; 0 ships it whenever its validation RMSE is lower. Lower margins shipped more models "
    "that lost on test than ones that won on issue 13's series (README, 'Session 20'): lower it only "
    "for a series you know is predictable beyond its last reading.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False),
    help="Run directory: checkpoint.pt, metrics.json.",
)
@json_option
def command(
    data,
    dataset,
    target,
    features,
    window,
    d_model,
    bits,
    act_bits,
    float_only,
    horizon,
    layers,
    ffn,
    epochs,
    qat_whole_schedule,
    seed,
    threads,
    period,
    scaling,
    persistence_margin,
    out,
    as_json,
) -> None:
    """Train a forecaster with fake quantisation at 2..8 bits (float pre-training, then QAT)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from qtdeploy.extras import require_module

    for module in ("torch", "scipy"):  # a gateway's base install has neither: say so, not a traceback
        require_module(module, what=f"{module} (qtdeploy train)", extra="train")
    from qtdeploy.model.config import ModelConfig, check_bits
    from qtdeploy.model.data import load_series
    from qtdeploy.train.qat import (
        FALLBACK_MARGIN_SE,
        QUANT_COST_WARN,
        REFERENCE_REASON,
        SHORT_VALIDATION,
        TrainSettings,
        save_run,
        train,
    )

    margin = FALLBACK_MARGIN_SE if persistence_margin is None else persistence_margin
    if not margin >= 0:  # before anything is loaded or written
        from qtdeploy.errors import UsageError

        raise UsageError(
            f"--persistence-margin is {margin:g}: a margin is a number of standard errors, 0 or more.",
            f"Pass 0 (ship the model whenever its validation RMSE is lower than persistence's) or more; "
            f"the default is {FALLBACK_MARGIN_SE:g}.",
        )

    if not float_only:
        check_bits(bits)
    series = load_series(data, dataset, target, features.split(",") if features else None)
    config = ModelConfig.uniform(
        window=window,
        features=series.x.shape[1],
        d_model=d_model,
        horizon=horizon,
        layers=layers,
        bits=None if float_only else bits,
        act_bits=act_bits,
        ffn=ffn or 0,
    )
    from qtdeploy.model import data as D

    # refuse too-short data before training (and before anything is written)
    D.make_splits(
        series,
        window,
        horizon,
        D.fit_norm(series, window, horizon, "last" if scaling == "auto" else scaling, period),
    )
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[val]}"),
    )
    with Progress(*columns, console=stderr, disable=as_json) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(phase: str, epoch: int, total: int, val: float) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(f"{phase} epochs", total=total, val="")
            bar.update(tasks[phase], completed=epoch, val=f"val rmse {val:.4f} (normalised)")

        st = TrainSettings.for_epochs(
            epochs,
            threads=threads,
            scheme=scaling,
            period=period,
            qat_early_stop=not qat_whole_schedule,
            seed=seed,
            persistence_margin=margin,
        )
        result = train(series, config, st, progress)
    from qtdeploy.model.baselines import baselines, optional_text
    from qtdeploy.model.evaluate import advice

    base = baselines(series, "test", window, horizon, result.norm, period)
    result.metrics["baselines"] = base
    save_run(result, out)
    final = result.metrics["qat" if "qat" in result.metrics else "float"]
    summary: dict[str, Any] = {
        "run": out,
        "scaling": result.norm.scheme,
        # a live forecast reads this many readings: the window, and under "season" a period before it
        # ("season-diff": a period and one reading)
        "readings_per_forecast": result.norm.context(window),
        **{
            k: result.metrics[k]
            for k in (
                "schemes_validated",
                "schemes_calibrated",
                "scheme_switch",
                "float",
                "qat",
                "qat_epochs",
                "persistence_evidence",
                "fallback",
                "fallback_reason",
                "origin_check",
                "reference",
                "qat_skipped",
            )
            if k in result.metrics
        },
        **base,
        "persistence_fallback": bool(result.metrics.get("persistence_fallback", False)),
        "warnings": advice(
            {
                **final,
                **base,
                "scheme": result.norm.scheme,
                "window": window,
                "season_tried": "season" in result.metrics.get("schemes_validated", {}),
            }
        ),
    }
    qe = summary.get("qat_epochs")
    if qe and qe["best_epoch"] == 0 and not qe["whole_schedule"]:
        summary["warnings"].append(
            f"QAT stopped after {qe['epochs_run']} of {qe['epochs_planned']} epochs and kept its "
            "calibrated start: no epoch beat it on validation while the learning rate was still high. "
            "On a long series (thousands of windows) --qat-whole-schedule runs the rest of it."
        )
    cost = result.metrics.get("quantisation_cost")
    if cost is not None:
        summary["quantisation_cost"] = round(cost, 4)
        if cost > QUANT_COST_WARN and not summary["persistence_fallback"]:
            summary["warnings"].append(
                f"quantisation costs {cost - 1:.0%} on validation (the quantised model's RMSE is "
                f"{cost:.2f} x its float model's). {_narrower_cost(bits, config.act_bits['x'])}"
            )
    n_val = result.metrics["windows"]["val"]
    summary["validation_windows"] = n_val
    # (not where no QAT ran: the fallback that ships was chosen over the training windows too)
    if "qat" in result.metrics and "qat_skipped" not in result.metrics and n_val < SHORT_VALIDATION:
        summary["warnings"].append(
            f"validation has {n_val} windows (under {SHORT_VALIDATION}): QAT's kept state, the scaling "
            "scheme and the quantisation cost were chosen on it and can be optimistic (issue 13's short "
            "series: 4-bit models that validated up to 40 % better than 8-bit tested up to 19 % worse). "
            "Judge a narrow model by its test RMSE beside a --bits 8 run's, or train on a longer series."
        )
    oc = summary.get("origin_check")
    shipped = _shipped(summary)
    if oc and not oc["ahead"]:  # won validation, lost from an earlier origin
        summary["warnings"].insert(0, _origin_warning(oc, n_val, shipped))
    elif summary.get("fallback_reason") == REFERENCE_REASON:
        summary["warnings"].insert(0, _reference_warning(summary["reference"], shipped))
    elif summary.get("fallback_reason") == "behind the fallback":
        summary["warnings"].insert(0, _behind_warning(summary["fallback"], shipped))
    elif summary["persistence_fallback"]:
        summary["warnings"].insert(
            0, _fallback_warning(summary["persistence_evidence"], shipped, summary.get("fallback"))
        )

    def human(s: dict) -> None:
        stdout.print(
            f"test RMSE (simulated, fake-quant): float {s['float']['rmse']:.4f}"
            + (f", QAT {s['qat']['rmse']:.4f}" if "qat" in s else "")
            + f"; baselines: persistence {s['persistence_rmse']:.4f}, linear {s['linear_rmse']:.4f}"
            + optional_text(s)
            + f"; wrote {out}/checkpoint.pt, metrics.json"
        )
        sw = s.get("scheme_switch")  # a quantised width: another scheme calibrated far better
        if "schemes_validated" in s:  # --scaling auto: what chose the scheme
            stdout.print(
                f"scaling {(sw['from'] if sw else s['scaling'])!r}, chosen on the float models' "
                "validation RMSE (normalised): "
                + ", ".join(f"{k} {v:.4f}" for k, v in s["schemes_validated"].items())
            )
        if s["readings_per_forecast"] > window:
            stdout.print(
                f"each forecast reads {s['readings_per_forecast']} readings: the window and the "
                f"{s['readings_per_forecast'] - window} before it (differences a period apart); a live run's "
                "first forecasts, before that many have arrived, read zeros for the differences it "
                "cannot form, as the series' first windows did in training"
                + (
                    ", and until a whole period has arrived they are relative to the last reading "
                    "(the seasonal anchor has no season to read yet)"
                    if s["readings_per_forecast"] - window > window
                    else ""
                )
            )
        if sw:
            calibrated = ", ".join(f"{k} {v:.4f}" for k, v in s["schemes_calibrated"].items())
            why = (
                f"calibrated at this width before QAT, {sw['to']!r} validated {sw['se']:.1f} standard "
                f"errors ahead of {sw['from']!r} (RMSE, normalised: {calibrated})"
            )
            if "qat_val" in sw:  # a long validation span: both were quantised, the better kept
                after = ", ".join(f"{k} {v:.4f}" for k, v in sw["qat_val"].items())
                stdout.print(
                    f"  {why}; both quantised (validation RMSE after QAT: {after}), kept {sw['kept']!r}"
                )
            else:
                stdout.print(f"  quantised under {sw['to']!r} instead: {why}")
        if "qat_epochs" in s:
            qe = s["qat_epochs"]
            stdout.print(
                f"QAT: {qe['epochs_run']} of {qe['epochs_planned']} epochs"
                + (" (whole schedule)" if qe["whole_schedule"] else " (early stopping)")
                + f", kept epoch {qe['best_epoch']}"
                + (" (the calibrated start)" if qe["best_epoch"] == 0 else "")
            )
        if "qat_skipped" in s:  # the 8-bit reference fell back: this width ships the fallback untrained
            ref = s["reference"]
            stdout.print(
                f"QAT: none (the {ref['bits']}-bit model from the same float model fell back: "
                f"{ref['reason']}); shipped {_shipped(s)} (head zeroed)"
            )
        if s.get("persistence_evidence"):  # a residual scheme, the target among the inputs
            stdout.print(_against_persistence(s))
        for w in s["warnings"]:
            stderr.print(f"[yellow]warning:[/] {w}")

    emit(summary, as_json, human)


def _ratio(v: float | None) -> str:
    """An RMSE ratio, or n/a where persistence's error was 0 (a constant stretch of the target)."""
    return "n/a" if v is None else f"{v:.3f}"


def _ahead_needed(ev: dict[str, Any]) -> tuple[str, str]:
    """How far ahead of persistence, and how far it needed to be, in words (``qat._finite``'s None:
    ahead on every window alike; under 2 windows)."""
    ahead = (
        "ahead on every window by the same amount"
        if ev["se_ahead"] is None
        else f"{ev['se_ahead']:.2f} standard errors ahead"
    )
    return ahead, "an unreachable number" if ev["se_needed"] is None else f"{ev['se_needed']:.2f}"


def _evidence(ev: dict[str, Any]) -> str:
    """The persistence fallback's evidence in words (``qat._persistence_evidence``)."""
    ratio = _ratio(ev["rmse_ratio"])
    ahead, needed = _ahead_needed(ev)
    return (
        f"RMSE {ratio} x persistence's on {ev['windows']} windows, {ahead}, {needed} needed (a margin "
        f"of {ev['margin']:g}, read on Student's t: wider on few windows)"
    )


def _against_persistence(s: dict[str, Any]) -> str:
    """What the fallback (and, on a short span, the earlier origin) found, and what shipped."""
    parts = [f"against persistence on validation: {_evidence(s['persistence_evidence'])}"]
    oc = s.get("origin_check")
    if oc:
        parts.append(
            f"trained again from an earlier origin (rows 0-{oc['train_rows'] - 1}), RMSE "
            f"{_ratio(oc['rmse_ratio'])} x persistence's on those {oc['windows']} windows"
        )
    fb = s.get("fallback")
    if fb:  # a period that fits: the fallback was chosen between persistence and a seasonal anchor
        ahead, needed = _ahead_needed(fb)
        parts.append(
            f"fallback {FALLBACK_NAMES[fb['scheme']]}: {FALLBACK_NAMES[fb['candidate']]} had RMSE "
            f"{_ratio(fb['rmse_ratio'])} x persistence's on the {fb['windows']} training and validation "
            f"windows, {ahead}, {needed} needed"
            + (
                f"; the model's validation RMSE {_ratio(fb['model_rmse_ratio'])} x the fallback's"
                if "model_rmse_ratio" in fb
                else ""
            )
        )
    ref = s.get("reference")
    if ref:  # a narrower width: the model of the reference width from the same float models
        parts.append(
            f"the {ref['bits']}-bit model from the same float model "
            + (f"fell back ({ref['reason']})" if ref["fell_back"] else "shipped its model")
        )
    parts.append("shipped " + (f"{_shipped(s)} (head zeroed)" if s["persistence_fallback"] else "the model"))
    return "; ".join(parts)


#: what a zeroed head forecasts, by the scheme it ships under (``qat.FALLBACK_SCHEMES``)
FALLBACK_NAMES = {"last": "persistence", "season-diff": "the last reading plus a season's change"}


def _shipped(s: dict[str, Any]) -> str:
    """What a fallen-back model forecasts: its scheme's output 0 (persistence but under "season-diff")."""
    return FALLBACK_NAMES.get(s["scaling"], "persistence")


def _forecasts(shipped: str) -> str:
    """``_shipped`` as the warnings say it: persistence is "the last reading"."""
    return "the last reading" if shipped == "persistence" else shipped


def _behind_warning(fb: dict[str, Any], shipped: str) -> str:
    """Why a model that beat persistence ships the seasonal anchor (``qat._fallback_scheme``): not
    ahead of it by the margin (``qat._anchor_evidence``); with the margin that would ship it."""
    if not fb.get("model_margin_applies", True):  # a long validation span: below the anchor is enough
        return (
            f"the quantised model beat persistence on validation, but not {shipped} (its validation "
            f"RMSE is {_ratio(fb.get('model_rmse_ratio'))} x that forecast's; that forecast beat "
            f"persistence over the {fb['windows']} training and validation windows), so its head was "
            f"zeroed: the exported model forecasts {shipped}. Try more --epochs, another --window or "
            "--bits 8." + _margin_hint(None, fb, shipped)
        )
    ahead, needed = fb.get("model_se_ahead"), fb.get("model_se_needed")
    return (
        f"the quantised model beat persistence on validation, but not {shipped} by more than noise "
        f"(its validation RMSE is {_ratio(fb.get('model_rmse_ratio'))} x that forecast's, "
        f"{'infinitely' if ahead is None else f'{ahead:.2f}'} standard errors ahead where "
        f"{'infinitely many' if needed is None else needed} are needed; that forecast beat persistence over the "
        f"{fb['windows']} training and validation windows), so its head was zeroed: the exported "
        f"model forecasts {shipped}. Try more --epochs, another --window or --bits 8."
        + _margin_hint(_margin_that_ships(None, fb), fb, shipped)
    )


def _margin_that_ships(ev: dict[str, Any] | None, fb: dict[str, Any]) -> float | None:
    """The largest --persistence-margin under which the model ships: the lower of the margins it
    passes against persistence (``ev``; None where it passed the one it was given) and against the
    seasonal anchor where that is the fallback (``fb``); None where it is not ahead of one of them.
    On a long validation span no margin applies against the anchor (``qat._anchor_evidence``): only
    persistence's counts, and none ships a model that validates behind the anchor there."""
    passed = [] if ev is None else [ev["margin_passed"]]
    if "model_behind" in fb:
        if fb.get("model_margin_applies", True):
            passed.append(fb.get("model_margin_passed"))
        elif fb["model_behind"]:  # a long span, where no margin applies against the anchor: behind it
            return None
    return None if not passed or any(v is None for v in passed) else min(passed)


def _margin_hint(margin: float | None, fb: dict[str, Any], shipped: str) -> str:
    """The margin that ships the model, or that none does where it validates behind the anchor."""
    if margin is not None:
        beyond = "its last reading" if shipped == "persistence" else shipped
        return (
            f" If you know the series is predictable beyond {beyond}, --persistence-margin "
            f"{math.floor(margin * 10) / 10:g} ships this model on the evidence it has."
        )
    if fb.get("model_behind") and (fb.get("model_rmse_ratio") or 0) >= 1:
        return (
            " No --persistence-margin ships it: its validation RMSE is "
            f"{_ratio(fb['model_rmse_ratio'])} x that of {shipped}, which ships in its place."
        )
    return ""


def _fallback_warning(
    ev: dict[str, Any], shipped: str = "persistence", fb: dict[str, Any] | None = None
) -> str:
    """Why the exported model repeats the last reading (or forecasts the seasonal anchor), and what to
    try: with the numbers, so that a model 1.7 standard errors ahead (eeg-4ch, README "Session 20")
    reads differently from one 0.1, and the margin that would ship it (against the anchor too, where
    that is the fallback); none where the model validates behind the anchor."""
    fb = fb or {}
    return (
        f"the quantised model did not beat persistence by more than noise on validation "
        f"({_evidence(ev)}), so its head was zeroed: the exported model forecasts "
        + _forecasts(shipped)
        + ". Try more --epochs, another --window, --bits 8, or more data; nothing on these windows "
        "may beat persistence (a random walk)." + _margin_hint(_margin_that_ships(ev, fb), fb, shipped)
    )


def _reference_warning(ref: dict[str, Any], shipped: str) -> str:
    """Why a narrower model ships the fallback without QAT (``qat._reference``): the model of the
    reference width, quantised from the same float model, did not earn its place."""
    return (
        f"the {ref['bits']}-bit model quantised from the same float model did not earn its place (it "
        f"fell back: {ref['reason']}). A narrower model has nothing the 8-bit one lacks, and its longer "
        "QAT search finds a state that validates well by chance more easily, so this width ships the "
        "fallback too and was not quantisation-trained: the exported model (calibrated, head zeroed) "
        "forecasts "
        + _forecasts(shipped)
        + f", as --bits {ref['bits']} does. More data is what helps; --persistence-margin applies to "
        "both widths."
    )


def _origin_warning(oc: dict[str, Any], n_val: int, shipped: str = "persistence") -> str:
    """Why a model that won validation ships persistence (``qat._origin_check``)."""
    return (
        f"the quantised model beat persistence on its {n_val} validation windows, but trained again "
        f"from an earlier origin (rows 0-{oc['train_rows'] - 1}) it lost to persistence on those same "
        f"windows (RMSE {_ratio(oc['rmse_ratio'])} x). On a span this short a validation win can be chance "
        "(the kept QAT state was chosen on it), so its head was zeroed: the exported model forecasts "
        + _forecasts(shipped)
        + ". More data is what helps; --persistence-margin does not skip this check."
    )


def _narrower_cost(bits: int, act_bits: int) -> str:
    """What to try when quantisation costs too much: wider activations first (on seattle-temps,
    issue 13, 8-bit activations with 4-bit weights recovered all of the 4-bit loss), then weights."""
    if act_bits < 8:
        return f"Try --act-bits 8 (weights stay at {bits} bits){' or --bits 6' if bits < 6 else ''}."
    if bits < 8:
        return "Try --bits 8."
    return "Try more --epochs or --qat-whole-schedule."
