"""Integer-only evaluation: quantise inputs on the host, run the reference, de-normalise, score.

The model's arithmetic is the integer reference from the blob alone; floats appear only where the
host meets the outside world (normalising the CSV, de-quantising the int32 output for metrics).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qtdeploy.model import data as D
from qtdeploy.model import reference
from qtdeploy.model.intmath import quantise_input
from qtdeploy.model.intmodel import IntModel


def scores(pred: np.ndarray, true: np.ndarray, persist: np.ndarray) -> dict[str, float]:
    """RMSE and MAE in the target's units, and the same for the persistence baseline."""
    rmse = float(np.sqrt(np.mean((pred - true) ** 2)))
    mae = float(np.mean(np.abs(pred - true)))
    p_rmse = float(np.sqrt(np.mean((persist - true) ** 2)))
    p_mae = float(np.mean(np.abs(persist - true)))
    return {
        "rmse": rmse,
        "mae": mae,
        "persistence_rmse": p_rmse,
        "persistence_mae": p_mae,
        "rmse_vs_persistence": rmse / p_rmse if p_rmse else float("inf"),
        "windows": int(len(true)),
    }


def quantised_inputs(im: IntModel, x_norm: np.ndarray) -> np.ndarray:
    lo, hi = (int(v) for v in im.tensors["x.range"])
    return quantise_input(x_norm, float(im.meta["input_scale"]), lo, hi)


def predict(im: IntModel, x_norm: np.ndarray, batch: int = 2048) -> np.ndarray:
    """De-normalised forecasts (N, H) of the integer model for normalised windows (N, T, m)."""
    norm = D.Norm.from_dict(im.meta["norm"])
    xq = quantised_inputs(im, x_norm)
    ys = [np.asarray(reference.forward(im, xq[i : i + batch])) for i in range(0, len(xq), batch)]
    y_int = np.concatenate(ys) if ys else np.zeros((0, im.config.horizon), dtype=np.int64)
    return y_int * np.asarray(im.meta["output_scale"])[None, :] * norm.y_std + norm.y_mean


def evaluate(im: IntModel, series: D.Series, split: str = "test") -> dict[str, Any]:
    """Score the integer model on one chronological split of ``series`` (or ``all`` of it)."""
    if im.config.features != series.x.shape[1]:
        from qtdeploy.errors import CompatibilityError

        raise CompatibilityError(
            f"the model takes {im.config.features} features, the data has {series.x.shape[1]}.",
            f"Pass --features {','.join(im.meta.get('features', []))}.",
        )
    norm = D.Norm.from_dict(im.meta["norm"])
    rows = dict(zip(("train", "val", "test"), D.split_rows(len(series.y)))).get(
        split, slice(0, len(series.y))
    )
    w = D.windows(series, rows, im.config.window, im.config.horizon, norm)
    result: dict[str, Any] = dict(scores(predict(im, w["x"]), w["y"], w["persist"]))
    result.update(
        {"split": split, "source": series.source, "target": series.target, "features": series.features}
    )
    return result
