"""Integer-only evaluation: scale and quantise inputs on the host, run the reference, de-normalise, score.

The model's arithmetic is the integer reference from the blob alone; floats appear only where the
host meets the outside world (the blob's ``norm`` pre/post step, quantising the inputs, de-quantising
the int32 output). Every score comes with the baselines a user needs to judge it (persistence, a
least-squares linear model fitted on the training split, seasonal naive with a period) and with the
fraction of input values that left the calibrated range and were clipped.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qtdeploy.errors import CompatibilityError
from qtdeploy.model import data as D
from qtdeploy.model import reference
from qtdeploy.model.baselines import baselines, split_slice
from qtdeploy.model.evidence import FALLBACK_MARGIN_SE, se_ahead
from qtdeploy.model.intmath import quantise_input
from qtdeploy.model.intmodel import IntModel

#: above this fraction of clipped input values, eval warns that the data left the calibrated range
CLIP_WARN = 0.01
#: a model ahead of persistence by fewer standard errors than this (``evidence.se_ahead``) gets a
#: warning that the win may be chance: the persistence fallback's default margin, read here without
#: Student's t (no scipy in the base package), so on a few windows it is a looser bar than `train`'s.
#: Why: on lynx (issue 13, README "Session 22") the 8-bit models (fallback off) were 0.53 x of
#: persistence on its 6 test windows and 1.00 x on all 18 test rows
SE_WARN = FALLBACK_MARGIN_SE


def scores(pred: np.ndarray, true: np.ndarray, persist: np.ndarray) -> dict[str, Any]:
    """RMSE and MAE in the target's units, the same for the persistence baseline, and how many
    standard errors the forecast is ahead of persistence (``evidence.se_ahead``, rounded; None
    where undefined): `eval`'s scores and `train`'s test scores alike."""
    rmse = float(np.sqrt(np.mean((pred - true) ** 2)))
    mae = float(np.mean(np.abs(pred - true)))
    p_rmse = float(np.sqrt(np.mean((persist - true) ** 2)))
    p_mae = float(np.mean(np.abs(persist - true)))
    ahead = se_ahead(pred, persist, true)
    return {
        "rmse": rmse,
        "mae": mae,
        "persistence_rmse": p_rmse,
        "persistence_mae": p_mae,
        "rmse_vs_persistence": rmse / p_rmse if p_rmse else float("inf"),
        "persistence_se_ahead": None if ahead is None else round(ahead, 2),
        "windows": int(len(true)),
    }


def quantised_inputs(im: IntModel, x_norm: np.ndarray) -> np.ndarray:
    """Normalised windows -> the integer input ``x`` (protocol/model.md op 0)."""
    lo, hi = (int(v) for v in im.tensors["x.range"])
    return quantise_input(x_norm, float(im.meta["input_scale"]), lo, hi)


def clipped_fraction(im: IntModel, x_norm: np.ndarray) -> float:
    """Share of input values outside the range the model was calibrated on (clipped when quantised)."""
    lo, hi = (int(v) for v in im.tensors["x.range"])
    q = np.floor(np.asarray(x_norm, dtype=np.float64) / float(im.meta["input_scale"]) + 0.5)
    return float(np.mean((q < lo) | (q > hi))) if q.size else 0.0


def predict(im: IntModel, raw: np.ndarray, batch: int = 2048) -> np.ndarray:
    """Forecasts (N, H) in the target's units of the integer model for raw windows (N, T +
    lookback, m: each window's context, ``Norm.context``)."""
    norm = D.Norm.from_dict(im.meta["norm"])
    if np.shape(raw)[-2] != norm.context(im.config.window):
        raise CompatibilityError(
            f"the model reads {norm.context(im.config.window)} readings per window "
            f"({im.config.window} and a lookback of {norm.lookback}); got {np.shape(raw)[-2]}.",
            "Build windows with `data.windows`, which reads the context the model's scaling needs.",
        )
    xq = quantised_inputs(im, norm.inputs(raw))
    ys = [np.asarray(reference.forward(im, xq[i : i + batch])) for i in range(0, len(xq), batch)]
    y_int = np.concatenate(ys) if ys else np.zeros((0, im.config.horizon), dtype=np.int64)
    out = y_int * np.asarray(im.meta["output_scale"])[None, :]
    return norm.outputs(out, norm.anchor(raw, out.shape[-1]), norm.window_scale(raw))


def evaluate(
    im: IntModel, series: D.Series, split: str = "test", period: int | None = None
) -> dict[str, Any]:
    """Score the integer model on one chronological split of ``series`` (or ``all`` of it)."""
    if im.config.features != series.x.shape[1]:
        raise CompatibilityError(
            f"the model takes {im.config.features} features, the data has {series.x.shape[1]}.",
            f"Pass --features {','.join(im.meta.get('features', []))}.",
        )
    norm = D.Norm.from_dict(im.meta["norm"])
    cfg = im.config
    w = D.windows(series, split_slice(series, split), cfg.window, cfg.horizon, norm)
    result: dict[str, Any] = scores(predict(im, w["raw"]), w["y"], w["persist"])
    result.update(baselines(series, split, cfg.window, cfg.horizon, norm, period))
    result["rmse_vs_linear"] = (
        result["rmse"] / result["linear_rmse"] if result["linear_rmse"] else float("inf")
    )
    result["clipped_inputs"] = clipped_fraction(im, w["x"])
    result.update(
        {
            "scheme": norm.scheme,
            "window": cfg.window,
            "readings_per_forecast": norm.context(cfg.window),
            "split": split,
            "source": series.source,
            "target": series.target,
            "features": series.features,
        }
    )
    return result


def _season_fix(result: dict[str, Any]) -> str:
    """What to try when seasonal naive wins: the "season" scaling where the training span holds
    two periods (``data.season_fits``, ``result["season_fits"]``), else more data."""
    p = result.get("period")
    if result.get("scheme") == "season":
        return (
            "the model forecasts the deviation from it, and its deviations lose on this split; "
            "judge it on more data, or retrain with more of it."
        )
    if result.get("season_tried"):
        return (
            "the 'season' scaling, which forecasts the deviation from it, was trained and not chosen "
            "(it must validate ahead of 'last' and 'diff' by a margin); --scaling season forces it."
        )
    if result.get("season_fits"):
        return (
            f"retrain with --period {p}: `train --scaling auto` then tries the 'season' scaling, which "
            "forecasts the deviation from it (or force it with --scaling season)."
        )
    return (
        f"the training span (70 % of the series) holds fewer than two periods of {p} readings, too few "
        "for the 'season' scaling to learn from; train on a longer series."
    )


def advice(result: dict[str, Any]) -> list[str]:
    """Plain-language warnings for a score: losing to persistence or linear, a win over persistence
    within chance, clipped inputs."""
    out = []
    ahead = result.get("persistence_se_ahead")
    if result["rmse"] > result["persistence_rmse"]:
        out.append(
            f"the model (RMSE {result['rmse']:.4g}) loses to persistence ({result['persistence_rmse']:.4g}): "
            "it is not worth deploying. Try more --epochs, a larger --window, --bits 8, or check the data."
        )
    elif result["rmse"] > result.get("linear_rmse", float("inf")):
        out.append(
            f"a least-squares linear model on the same windows does better (RMSE {result['linear_rmse']:.4g})."
        )
    elif result["rmse"] > result.get("linear_context_rmse", float("inf")):
        out.append(
            f"a least-squares linear model on the same {result['linear_context_readings']} readings the "
            f"model reads does better (RMSE {result['linear_context_rmse']:.4g})."
        )
    if ahead is not None and 0 < ahead < SE_WARN:
        out.append(
            f"the model is ahead of persistence by {ahead:.2f} standard errors of the per-window "
            f"difference (Diebold-Mariano) on {result['windows']} windows, under {SE_WARN:g}: a win "
            "this size can be chance on so few or so noisy windows. Judge it on more data."
        )
    if result["rmse"] > result.get("seasonal_rmse", float("inf")):
        out.append(
            f"repeating the last season does better (RMSE {result['seasonal_rmse']:.4g}): "
            + _season_fix(result)
        )
    elif result["rmse"] > result.get("seasonal_diff_rmse", float("inf")):
        out.append(
            f"the last reading plus the change over the same steps a season before does better (RMSE "
            f"{result['seasonal_diff_rmse']:.4g}): "
            + (
                "the model forecasts the deviation from it, and its deviations lose on this split; "
                "judge it on more data, or retrain with more of it."
                if result.get("scheme") == "season-diff"
                else "`train --scaling season-diff --period P` forecasts the deviation from it"
                + (" (auto tried it and did not choose it)." if result.get("season_tried") else ".")
            )
        )
    if result.get("clipped_inputs", 0.0) > CLIP_WARN:
        out.append(
            f"{result['clipped_inputs']:.1%} of input values left the range calibrated in training and were "
            "clipped: the data differs from the training span. Retrain on data that covers it"
            + (
                " (or with the window-relative scheme, the default)."
                if result.get("scheme") == "global"
                else "."
            )
        )
    return out
