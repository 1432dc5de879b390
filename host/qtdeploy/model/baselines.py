"""Baselines a forecaster must beat to be worth flashing: persistence, linear AR, seasonal naive
(and with a period, the last reading plus the change a season before: ``seasonal_diff_rmse``).

All three are computed on the very windows the model is scored on, in the target's units. The
linear baseline is ordinary least squares (``numpy.linalg.lstsq``) from every reading of the window
(all features, plus a constant) to each horizon step, fitted on the training split's windows only,
so it sees exactly what the model saw in training. Where the model reads more than its window (a
``"season"`` model's context, ``Norm.lookback``), a second linear model reads that whole context
(``linear_context_rmse``): what the model is scored against should not read less than it does.
Why: at a period of 24 and window 12 the season model reads 36 readings, and the 12-reading
linear model (seattle-temps 0.2615) far understates a linear model on the same 36 (0.0593,
README "Session 26").
"""

from __future__ import annotations

import numpy as np

from qtdeploy.model import data as D


def _design(raw: np.ndarray) -> np.ndarray:
    """(N, T, m) windows -> (N, T*m + 1) rows with a constant column."""
    flat = raw.reshape(len(raw), -1)
    return np.hstack([flat, np.ones((len(raw), 1))])


def fit_linear(raw: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares coefficients (T*m + 1, H) from training windows ``raw`` to targets ``y``.

    Inputs are centred and scaled per column before the solve (and the coefficients mapped back)
    so that series with large levels (ppm, litres, dollars) stay well conditioned.
    """
    a = _design(raw)
    mu = a[:, :-1].mean(axis=0)
    sd = a[:, :-1].std(axis=0)
    sd = np.where(sd > 1e-12, sd, 1.0)
    z = np.hstack([(a[:, :-1] - mu) / sd, np.ones((len(a), 1))])
    coef, *_ = np.linalg.lstsq(z, y, rcond=None)
    w = coef[:-1] / sd[:, None]
    b = coef[-1] - mu @ w
    return np.vstack([w, b[None, :]])


def predict_linear(coef: np.ndarray, raw: np.ndarray) -> np.ndarray:
    return _design(raw) @ coef


def _season_reads(
    s: D.Series, rows: slice, window: int, horizon: int, period: int
) -> tuple[np.ndarray, np.ndarray]:
    """The index of each window's last reading (n, 1), and per step the index seasonal naive reads
    (n, H): ``data.season_lags`` before the window's end, the lag the scalings' anchors use."""
    start = rows.start or 0
    n = len(s.y[rows]) - window - horizon + 1
    t_last = (start + np.arange(n) + window - 1)[:, None]
    return t_last, t_last + 1 - D.season_lags(period, horizon)[None, :]


def seasonal_naive(s: D.Series, rows: slice, window: int, horizon: int, period: int) -> np.ndarray:
    """y[t+h] = y[t+h-k*period] with the smallest k >= 1 that lands on a reading already seen."""
    _, src = _season_reads(s, rows, window, horizon, period)
    return s.y[np.clip(src, 0, None)]


def seasonal_diff_naive(s: D.Series, rows: slice, window: int, horizon: int, period: int) -> np.ndarray:
    """y[t+h] = y[t] + y[t+h-k*period] - y[t-k*period]: the last reading plus the change over the same
    h steps a season before (ARIMA(0,1,0)(0,1,0) with that period; the ``"season-diff"`` scaling's
    anchor). Readings before the series' first are read as its first (only the training split's
    first windows)."""
    t_last, src = _season_reads(s, rows, window, horizon, period)
    h = np.arange(1, horizon + 1)
    return s.y[t_last] + s.y[np.clip(src, 0, None)] - s.y[np.clip(src - h, 0, None)]


def rmse(pred: np.ndarray, true: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(pred) - np.asarray(true)) ** 2)))


def baselines(
    s: D.Series, split: str, window: int, horizon: int, norm: D.Norm, period: int | None = None
) -> dict[str, float]:
    """``persistence_rmse``, ``linear_rmse`` (and ``seasonal_rmse`` with a period) on ``split``."""
    rows = split_slice(s, split)
    w = D.windows(s, rows, window, horizon, norm)
    train = D.windows(s, D.series_rows(s)[0], window, horizon, norm)
    # the window itself (``raw`` holds the model's context too): the same lags whatever the scaling
    coef = fit_linear(train["raw"][:, -window:], train["y"])
    out = {
        "persistence_rmse": rmse(w["persist"], w["y"]),
        "linear_rmse": rmse(predict_linear(coef, w["raw"][:, -window:]), w["y"]),
    }
    if norm.lookback:
        out.update(_linear_on_context(train, w, norm.context(window)))
    if period:
        out["seasonal_rmse"] = rmse(seasonal_naive(s, rows, window, horizon, period), w["y"])
        out["seasonal_diff_rmse"] = rmse(seasonal_diff_naive(s, rows, window, horizon, period), w["y"])
        out["period"] = int(period)
        # whether `train --period` can try the "season" scaling on this series (advice uses it)
        out["season_fits"] = D.season_fits(int(period), s)
    return out


def _linear_on_context(train: dict, w: dict, readings: int) -> dict[str, float | int]:
    """``linear_context_rmse``: least squares on every reading of the model's context, fitted on
    the training windows whose context lies inside the series (the first ``lookback`` have NaN
    rows); a window scored without a whole context reads its missing rows as its first present
    reading (only a split at the series' start has such windows)."""
    whole = np.isfinite(train["raw"]).all(axis=(1, 2))
    coef = fit_linear(train["raw"][whole], train["y"][whole])
    raw = w["raw"]
    if not np.isfinite(raw).all():
        first = np.argmax(np.isfinite(raw).all(axis=2), axis=1)  # each window's first present row
        fill = raw[np.arange(len(raw)), first][:, None, :]
        raw = np.where(np.isfinite(raw), raw, fill)
    return {
        "linear_context_rmse": rmse(predict_linear(coef, raw), w["y"]),
        "linear_context_readings": readings,
    }


def optional_text(r: dict, rmse: str = "") -> str:
    """The baselines that only some runs have (a linear model on a longer context, and with a
    period the two seasonal ones), as ``", name RMSE x"`` fragments: one wording for `eval`'s and
    `train`'s text (``rmse``: the word before each number, "RMSE " or none)."""
    parts = []
    if "linear_context_rmse" in r:
        parts.append(
            f"linear on the model's {r['linear_context_readings']} readings {rmse}{r['linear_context_rmse']:.4f}"
        )
    if "seasonal_rmse" in r:
        parts.append(f"seasonal naive {rmse}{r['seasonal_rmse']:.4f}")
    if "seasonal_diff_rmse" in r:
        parts.append(f"last reading + a season's change {rmse}{r['seasonal_diff_rmse']:.4f}")
    return "".join(f", {p}" for p in parts)


def split_slice(s: D.Series, split: str) -> slice:
    """The rows of ``s``'s chronological split by name (``all``: every row)."""
    return dict(zip(("train", "val", "test"), D.series_rows(s))).get(split, slice(0, len(s.y)))
