"""Time series from CSV files and packaged public datasets: checked, normalised, windowed, split.

Datasets ship inside the ``vega-datasets`` wheel (the ``train`` extra), so nothing is downloaded at
run time; we read its CSV files directly (no pandas import). Splits are chronological
(train 70 %, validation 15 %, test 15 %): validation chooses the epoch, test is never seen in
training. Normalisation statistics come from the training part only and travel in the blob.
"""

from __future__ import annotations

import csv
import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qtdeploy.errors import FormatError, UsageError

SPLITS = (0.70, 0.15, 0.15)

#: name -> (file inside vega_datasets/_data, target, features): one univariate, one multivariate.
DATASETS = {
    "seattle-temps": ("seattle-temps.csv", "temp", ["temp"]),  # hourly air temperature, 2010
    "seattle-weather": (
        "seattle-weather.csv",
        "temp_max",
        ["temp_max", "temp_min", "precipitation", "wind"],
    ),  # daily
}


@dataclass
class Series:
    """Selected columns as float64 (rows, m), the target column (rows,), and their names."""

    features: list[str]
    target: str
    x: np.ndarray
    y: np.ndarray
    source: str
    #: the rows where validation and test begin; None: SPLITS' fractions of the rows. Set only by
    #: `train`'s earlier-origin check (``qat._origin_check``), which validates on rows before the
    #: real validation span and tests on that span
    bounds: tuple[int, int] | None = None


def dataset_path(name: str) -> Path:
    """Where a packaged dataset's CSV lies, without importing its package."""
    if name not in DATASETS:
        raise UsageError(f"unknown dataset {name!r}.", f"Use one of: {', '.join(DATASETS)}.")
    spec = importlib.util.find_spec("vega_datasets")
    if spec is None or not spec.submodule_search_locations:
        raise UsageError(
            f"dataset {name!r} needs the vega-datasets package.", "pip install 'qtdeploy[train]'"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "_data" / DATASETS[name][0]


def load_dataset(name: str) -> Series:
    path = dataset_path(name)
    _, target, features = DATASETS[name]
    return load_csv(path, target=target, features=features)


def load_csv(path: str | Path, *, target: str, features: list[str] | None = None) -> Series:
    """Read the named columns of a CSV with a header row; refuses gaps and non-numbers with the row."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path} does not exist.", "Pass a CSV file with a header row.")
    features = features or [target]
    with path.open(newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if not header:
            raise FormatError(f"{path} is empty.", "Pass a CSV with a header row and one row per time step.")
        header = [h.strip() for h in header]
        for col in dict.fromkeys([target, *features]):
            if col not in header:
                raise UsageError(
                    f"column {col!r} is not in {path} (columns: {', '.join(header)}).",
                    "Pass --target/--features with names from the header row.",
                )
        idx = [header.index(c) for c in [*features, target]]
        rows = []
        for n, row in enumerate(reader, start=2):
            if not row or all(not c.strip() for c in row):
                continue
            vals = []
            for i in idx:
                cell = row[i].strip() if i < len(row) else ""
                try:
                    v = float(cell)
                except ValueError:
                    what = "a missing value" if cell == "" else f"the non-numeric value {cell!r}"
                    raise FormatError(
                        f"{path} line {n}, column {header[i]!r} has {what}.",
                        "Fill or drop gaps and pass only numeric columns (--features).",
                    ) from None
                if not math.isfinite(v):
                    raise FormatError(
                        f"{path} line {n}, column {header[i]!r} is {cell!r}.",
                        "Replace missing or infinite values before training.",
                    )
                vals.append(v)
            rows.append(vals)
    arr = np.array(rows, dtype=np.float64).reshape(-1, len(idx))
    if len(arr) and np.ptp(arr[:, -1]) == 0:
        raise FormatError(
            f"{path}: the target column {target!r} is constant ({arr[0, -1]:g} in all {len(arr)} rows); "
            "there is nothing to forecast.",
            "Pick another --target column, or check that the file holds the readings you meant.",
        )
    return Series(features=list(features), target=target, x=arr[:, :-1], y=arr[:, -1], source=str(path))


#: "diff-rms": the smallest per-window scale, in units of the training span's difference spread
#: (a window 5x calmer than typical is amplified 5x, a flat one no more).
WINDOW_FLOOR = 0.2

#: Smallest number of windows each chronological split must hold (train/val/test).
MIN_WINDOWS = 3


@dataclass
class Norm:
    """How raw readings become model inputs and model outputs become forecasts (the blob's ``norm``).

    ``scheme`` says which host-side pre/post step applies (protocol/model.md, "Host scaling"):

    * ``"global"`` (blobs before the scheme field): ``z = (x - x_mean) / x_std`` and
      ``y = y_mean + out * y_std``. On a chronological split a trend or level shift walks the test
      inputs out of the range calibrated on the training span, where they are clipped.
    * ``"last"`` (window-relative, residual): every feature is taken relative to its own last
      reading in the window, ``z = (x - x[T-1]) / x_scale``, and the model predicts the change of
      the target from its last reading, ``y = y_last + out * y_scale``. Level shifts cancel, so
      inputs stay in range on any series; an output of 0 is exactly persistence. ``target_index``
      is the target's column among the features (-1: the target is not an input, then the output
      is anchored on ``y_mean`` as in the global scheme).

    * ``"diff"`` (differenced, residual): each reading minus the one before it,
      ``z[t] = (x[t] - x[t-1]) / x_scale`` (``z[0] = 0``), the output as for ``"last"``. Finer
      input steps on smooth series (seattle-temps, 8-bit: 0.195 against 0.224 for ``"last"``), but
      worse on cycles that need the level within the window (sunspots 18.6 against 16.4).
      ``train --scaling auto`` (the default) trains a float model under each and quantises the
      one that validates better.

    * ``"diff-rms"`` (differenced, scaled per window): as ``"diff"``, then each feature divided
      by its window's own RMS of the scaled differences, ``r = max(sqrt(mean_t z[t]^2), floor)``
      (``t = 1..T-1``; ``floor = window_floor``), and the output multiplied by the target's ``r``
      (instance normalisation, as RevIN does with a window's mean and spread). Why: a calm window
      (a winter day of hourly temperatures) has differences of a fraction of the training span's
      spread, which at 4 bits fall below one input step; scaled per window every window uses the
      whole input range. The floor keeps a flat window from being amplified without bound.
      ``auto`` ships it only when its float model is ahead on validation by a margin
      (``qat.CHALLENGER_MARGIN_SE``), or at a quantised width when its float model, calibrated at
      that width, is far ahead of the chosen one's (``qat.QUANTISED_SWITCH_SE``).

    * ``"season"`` (seasonally differenced, residual on seasonal naive; ``period`` p >= 2 readings,
      at most half the training span, :func:`season_fits`): each reading minus the one a period
      before it, ``z[t] = (x[t] - x[t-p]) / x_scale`` for every row of the window, read from the
      ``lookback`` = p readings before the window (its *context* is T + p readings, :meth:`context`;
      a reading before the series' first gives ``z = 0``), and the model predicts the target's
      deviation from seasonal naive, ``y[h] = y[T-1+h-k*p] + out * y_season`` with the smallest
      ``k >= 1`` that lands on a reading already seen (``anchor`` is then (..., H)). Where that
      reading would precede the series' first (a period longer than the window, in the series' or
      a live run's first p - h + 1 - T windows) the anchor is the last reading instead (naive, as
      seasonal naive without a season to repeat). Blobs from before ``lookback`` (0) read no context:
      ``z[t] = 0`` for ``t < p``, which left a monthly series at window 12 no input at all (held-out
      set 24's au-departures lost to seasonal naive, README "Session 24"); they still load and run
      as they were trained. Why the scheme: on a series that repeats with a short period (the
      appliance recordings of held-out set 22 interleave four quantities, steps of about 2.3 between phases against a
      spread of at most 0.017 inside one) a window relative to its last reading spends the input
      and output range on the known pattern, and what is left to predict falls below one 8-bit
      step; seasonal differences spend it on what is left. ``y_scale`` stays the target change's
      spread (the unit every scheme's validation RMSE shares, so ``auto`` compares them) and
      :meth:`window_scale` is ``y_season / y_scale``. Output 0 is seasonal naive, not persistence:
      the persistence fallback ships persistence under ``"last"`` (``qat``).

    * ``"season-diff"`` (seasonally and once differenced, residual on the seasonal random walk):
      each row's change minus the same change a period before,
      ``w[t] = (x[t] - x[t-1] - x[t-p] + x[t-p-1]) / x_scale`` (``lookback`` = p + 1), and the model
      predicts the target's deviation from ``y[T-1] + y[T-1+h-k*p] - y[T-1-k*p]``: the last reading
      plus the change over the same h steps a season before (the forecast of ARIMA(0,1,0)(0,1,0)p,
      the airline model without its moving averages). Why: seasonal naive repeats a whole level,
      and a series whose level wanders from one season to the next (half-hourly electricity from one day
      to the next: seasonal naive 3.1 x persistence's RMSE on held-out set 26's ew-electricity, this
      anchor 0.34 x) leaves the model an output spread of the level change to cover, which 4-bit
      activations could not (README, "Session 27"). Its inputs are the anchor's own past errors:
      on those two series least squares from them lost 2 and 4 % to 4-bit inputs where one from
      seasonal differences lost 12 and 22 % (``bench/accuracy.py --anchor-inputs``; not everywhere:
      on au-beer 15 % against 8 %). Where a reading it needs precedes the series the input is 0 and
      the anchor the last reading, as under ``"season"``. Same period rule (:func:`season_fits`).

    The integer model is unchanged by the scheme: it runs on the host, in floats, before
    ``quantise_input`` and after de-quantisation.
    """

    x_mean: np.ndarray
    x_std: np.ndarray
    y_mean: float
    y_std: float
    scheme: str = "global"
    x_scale: np.ndarray | None = None
    y_scale: float = 1.0
    target_index: int = -1
    window_floor: float = WINDOW_FLOOR  # "diff-rms": the smallest per-window scale
    period: int = 0  # "season": the period in readings
    lookback: int = 0  # readings before the window its inputs read ("season": the period; 0 before)
    y_season: float = 1.0  # "season"/"season-diff": the spread of the target's deviation from the anchor

    def to_dict(self) -> dict:
        d = {
            "x_mean": self.x_mean.tolist(),
            "x_std": self.x_std.tolist(),
            "y_mean": self.y_mean,
            "y_std": self.y_std,
        }
        if self.scheme != "global":
            d.update(
                {
                    "scheme": self.scheme,
                    "x_scale": np.asarray(self.x_scale).tolist(),
                    "y_scale": self.y_scale,
                    "target_index": self.target_index,
                }
            )
        if self.scheme == "diff-rms":
            d["window_floor"] = self.window_floor
        if self.scheme in SEASONAL:
            d.update({"period": self.period, "y_season": self.y_season})
            if self.lookback:
                d["lookback"] = self.lookback
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Norm:
        scheme = d.get("scheme", "global")
        if scheme not in SCHEMES:
            raise FormatError(
                f"the blob's normalisation scheme {scheme!r} is unknown to this qtdeploy.",
                f"Upgrade qtdeploy, or re-export the model (known schemes: {', '.join(SCHEMES)}).",
            )
        norm = cls(np.array(d["x_mean"]), np.array(d["x_std"]), float(d["y_mean"]), float(d["y_std"]))
        if scheme != "global":
            norm.scheme = scheme
            norm.x_scale = np.array(d["x_scale"], dtype=np.float64)
            norm.y_scale = float(d["y_scale"])
            norm.target_index = int(d["target_index"])
        if scheme == "diff-rms":
            norm.window_floor = float(d["window_floor"])
        if scheme in SEASONAL:
            norm.period, norm.y_season = int(d["period"]), float(d["y_season"])
            norm.lookback = int(d.get("lookback", 0))
            p = norm.period
            allowed, said = (
                ((0, p), "0 or the period") if scheme == "season" else ((p + 1,), "the period + 1")
            )
            if p < 2 or norm.lookback not in allowed:
                raise FormatError(
                    f"the blob's {scheme!r} scaling has a period of {p} and a lookback of "
                    f"{norm.lookback}; it needs a period of 2 or more and a lookback of {said}.",
                    "Re-export the model from its run (`qtdeploy export`).",
                )
        return norm

    def context(self, window: int) -> int:
        """Readings one input needs: the window and the ``lookback`` before it (``"season"``)."""
        return window + self.lookback

    @property
    def seasonal(self) -> bool:
        """Whether forecasts are relative to a seasonal anchor (``"season"``, ``"season-diff"``; the
        target an input): the anchor is then one level per step, from the whole context."""
        return self.scheme in SEASONAL and self.target_index >= 0

    # -- the host-side pre/post step ---------------------------------------------------------------

    def inputs(self, x_raw: np.ndarray) -> np.ndarray:
        """Raw windows (..., T + lookback, m) in sensor units (:meth:`context`; NaN rows: readings
        before the series began) -> normalised model inputs (..., T, m)."""
        x_raw = np.asarray(x_raw, dtype=np.float64)
        if self.scheme == "last":
            return (x_raw - x_raw[..., -1:, :]) / self.x_scale
        if self.scheme in ("diff", "diff-rms"):
            z = self._diffs(x_raw)
            return z / self._rms(z)[..., None, :] if self.scheme == "diff-rms" else z
        if self.scheme == "season":
            p = self.period
            if self.lookback:  # every row against the reading a period before it, from the context
                return np.nan_to_num((x_raw[..., p:, :] - x_raw[..., :-p, :]) / self.x_scale, nan=0.0)
            z = np.zeros_like(x_raw)
            z[..., p:, :] = (x_raw[..., p:, :] - x_raw[..., :-p, :]) / self.x_scale
            return z
        if self.scheme == "season-diff":  # the context's changes, each minus its own a period before
            d = np.diff(x_raw, axis=-2)
            p = self.period
            return np.nan_to_num((d[..., p:, :] - d[..., :-p, :]) / self.x_scale, nan=0.0)
        return (x_raw - self.x_mean) / self.x_std

    def _diffs(self, x_raw: np.ndarray) -> np.ndarray:
        """Each reading minus the one before it, scaled (``z[0] = 0``)."""
        return np.diff(x_raw, axis=-2, prepend=x_raw[..., :1, :]) / self.x_scale

    def _rms(self, z: np.ndarray) -> np.ndarray:
        """Per window and feature (..., m): RMS of the scaled differences z[1:], floored."""
        return np.maximum(np.sqrt(np.mean(z[..., 1:, :] ** 2, axis=-2)), self.window_floor)

    def window_scale(self, x_raw: np.ndarray) -> np.ndarray:
        """Per window (...,): what the output is multiplied by besides ``out_scale`` (the target's
        RMS under ``"diff-rms"``; 1 otherwise and when the target is not an input)."""
        x_raw = np.asarray(x_raw, dtype=np.float64)
        if self.seasonal:
            return np.full(x_raw.shape[:-2], self.y_season / self.y_scale)
        if self.scheme != "diff-rms" or self.target_index < 0:
            return np.ones(x_raw.shape[:-2])
        return self._rms(self._diffs(x_raw))[..., self.target_index]

    def anchor(self, x_raw: np.ndarray, horizon: int = 1) -> np.ndarray:
        """The level each forecast is relative to, per window (...,): the target's last reading;
        under ``"season"`` per window and step (..., ``horizon``): the target a whole number of
        periods before the step (seasonal naive, ``season_lags``)."""
        x_raw = np.asarray(x_raw, dtype=np.float64)
        if self.seasonal:
            rows = x_raw.shape[-2] - season_lags(self.period, horizon)
            seen = x_raw[..., rows, self.target_index]
            last = x_raw[..., -1:, self.target_index]
            if self.scheme == "season-diff":  # the last reading + the same h steps' change a season ago
                h = np.arange(1, horizon + 1)
                before = rows - h
                base = x_raw[..., np.maximum(before, 0), self.target_index]
                base = np.where(before >= 0, base, np.nan)
                seen = last + seen - base
            # a period back lies before the series' first reading (NaN in the context): naive instead
            return np.where(np.isnan(seen), last, seen)
        if self.scheme != "global" and self.target_index >= 0:
            return x_raw[..., -1, self.target_index]
        return np.full(x_raw.shape[:-2], self.y_mean)

    def out_scale(self) -> float:
        return self.y_std if self.scheme == "global" else self.y_scale

    def outputs(self, out: np.ndarray, anchor: np.ndarray, scale: np.ndarray | float = 1.0) -> np.ndarray:
        """Normalised model outputs (..., H) -> forecasts in the target's units (``scale``: the
        windows' :meth:`window_scale`)."""
        k = np.asarray(scale, dtype=np.float64)[..., None] * self.out_scale()
        return _per_step(anchor, out) + np.asarray(out) * k

    def targets(self, y: np.ndarray, anchor: np.ndarray, scale: np.ndarray | float = 1.0) -> np.ndarray:
        """Forecast targets (..., H) in units -> what the model is trained to output."""
        k = np.asarray(scale, dtype=np.float64)[..., None] * self.out_scale()
        return (np.asarray(y, dtype=np.float64) - _per_step(anchor, y)) / k


def _per_step(anchor: np.ndarray, out: np.ndarray) -> np.ndarray:
    """An anchor per window (...,) or per window and step (..., H), as (..., H)-broadcastable."""
    a = np.asarray(anchor, dtype=np.float64)
    return a if a.ndim == np.ndim(out) else a[..., None]


def season_lags(period: int, horizon: int) -> np.ndarray:
    """Per step h = 1..horizon, how many readings before the window's end seasonal naive reads:
    ``k*period - h + 1`` with the smallest ``k >= 1`` that lands on a reading already seen (1 = the
    window's last row; at most ``period``, inside the context); ``baselines.seasonal_naive`` reads it too."""
    h = np.arange(1, horizon + 1)
    return -(-h // period) * period - h + 1


def season_fits(period: int | None, s: Series) -> bool:
    """Whether ``"season"`` can use ``period`` on ``s``'s training span (:func:`series_rows`): a
    period that is not persistence (p >= 2) and at most half the span, so that at least half of the
    training windows have a reading a period back to be relative to (before it they read zero
    differences and are anchored on the last reading, :meth:`Norm.anchor`). Any window: the inputs
    read the period before the window (``Norm.lookback``). Until session 26 the period had to be at
    most the window, so hourly data (24) at window 12 could not use it (README, "Session 26").
    ``train --scaling auto`` tries it wherever it fits (the target an input); one rule for `train`
    and for the advice of `eval` and `train`."""
    return period is not None and 2 <= period and 2 * period <= len(s.y[series_rows(s)[0]])


SCHEMES = ("global", "last", "diff", "diff-rms", "season", "season-diff")

#: The schemes whose forecast is relative to a seasonal anchor (``Norm.seasonal``, ``period``).
SEASONAL = ("season", "season-diff")


def split_rows(n: int, bounds: tuple[int, int] | None = None) -> tuple[slice, slice, slice]:
    """Train, validation and test rows of ``n``: SPLITS' fractions, or at ``bounds`` (Series.bounds)."""
    a, b = bounds or (int(n * SPLITS[0]), int(n * (SPLITS[0] + SPLITS[1])))
    return slice(0, a), slice(a, b), slice(b, n)


def series_rows(s: Series) -> tuple[slice, slice, slice]:
    """``s``'s train, validation and test rows (``split_rows`` at its own ``bounds``)."""
    return split_rows(len(s.y), s.bounds)


def _std(a: np.ndarray, axis: int | tuple[int, ...] | None = None) -> np.ndarray:
    sd = np.asarray(a.std(axis=axis), dtype=np.float64)
    return np.where(sd > 1e-12, sd, 1.0)


def fit_norm(
    s: Series, window: int = 12, horizon: int = 1, scheme: str = "last", period: int | None = None
) -> Norm:
    """Statistics over the whole training span (never val/test), for ``scheme`` (``"season"``:
    with ``period``).

    For ``"last"`` the scales are the standard deviations of what the model sees and predicts
    (readings minus the window's last one; target change over the horizon) across every training
    window, so a trend or a level shift anywhere in the span cannot leave the range.
    """
    tr = series_rows(s)[0]
    x, y = s.x[tr], s.y[tr]
    norm = Norm(x.mean(axis=0), _std(x, axis=0), float(y.mean()), float(_std(y)))
    if scheme == "global":
        return norm
    if scheme not in SCHEMES:
        raise UsageError(f"unknown scaling scheme {scheme!r}.", f"Use one of: {', '.join(SCHEMES)}.")
    if scheme in SEASONAL and not season_fits(period, s):
        raise UsageError(
            f"scaling {scheme!r} needs a period of 2 to {len(y) // 2} readings (half the training span "
            f"of {len(y)}); got {period}.",
            "Pass --period P (the readings per cycle) with 2 <= P, on a series whose training span "
            "(70 %) holds at least two periods, or another --scaling.",
        )
    target_index = s.features.index(s.target) if s.target in s.features else -1
    n = len(y) - window - horizon + 1
    if n < 1:
        return norm  # too short: make_splits refuses it with the row counts
    idx = np.arange(n)[:, None]
    xw = x[idx + np.arange(window)[None, :]]
    if scheme in ("diff", "diff-rms"):
        x_scale = _std(np.diff(xw, axis=1), axis=(0, 1))
    elif scheme == "season":
        assert period is not None  # season_fits
        x_scale = _std(x[period:] - x[:-period], axis=0)  # every row's seasonal difference in training
    elif scheme == "season-diff":
        assert period is not None  # season_fits
        d = np.diff(x, axis=0)
        x_scale = _std(d[period:] - d[:-period], axis=0)
    else:
        rel = xw - xw[:, -1:, :]
        x_scale = _std(rel[:, :-1, :], axis=(0, 1))
    ys = y[idx + window + np.arange(horizon)[None, :]]  # each training window's targets (n, H)
    if target_index >= 0:
        y_scale = float(_std(ys - xw[:, -1, target_index][:, None]))
    else:
        y_scale = norm.y_std
    norm.scheme, norm.x_scale, norm.y_scale, norm.target_index = scheme, x_scale, y_scale, target_index
    if scheme in SEASONAL:
        norm.period = norm.lookback = int(period or 0)
        norm.lookback += scheme == "season-diff"  # a change a period back needs one reading more
        if target_index >= 0:  # against each training window's anchor, read from its context
            norm.y_season = float(_std(ys - norm.anchor(_contexts(x, 0, n, window, norm.lookback), horizon)))
    return norm


def _contexts(x: np.ndarray, start: int, n: int, window: int, lookback: int) -> np.ndarray:
    """``n`` contexts (n, lookback + window, m) of ``x``'s rows, the first window's first row at
    ``start``; NaN for rows before ``x``'s first (``lookback`` > 0 only)."""
    at = start + np.arange(n)[:, None] + np.arange(-lookback, window)[None, :]
    raw = x[np.maximum(at, 0)]
    return np.where((at >= 0)[..., None], raw, np.nan) if lookback else raw


def windows(s: Series, rows: slice, window: int, horizon: int, norm: Norm) -> dict[str, np.ndarray]:
    """Windows inside ``rows``: inputs (N, T, m) normalised and ``raw`` (N, T + lookback, m: each
    window's context, :meth:`Norm.context`, read from before ``rows`` where it begins earlier; NaN
    before the series' first reading), targets (N, H) raw and normalised (``t``), persistence (N, H)
    raw, and each window's ``anchor`` (N,)."""
    y = s.y[rows]
    n = len(y) - window - horizon + 1
    if n < MIN_WINDOWS:
        raise FormatError(
            f"{s.source}: {len(y)} rows in one chronological split are too few for {MIN_WINDOWS} "
            f"windows of {window} readings plus a horizon of {horizon} "
            f"(the series has {len(s.y)} rows; splits are 70/15/15 %).",
            f"Use a series of at least about {int((window + horizon + MIN_WINDOWS) / SPLITS[2]) + 1} rows "
            "or a smaller --window/--horizon.",
        )
    idx = np.arange(n)[:, None]
    raw = _contexts(s.x, rows.start or 0, n, window, norm.lookback)
    ys = y[idx + window + np.arange(horizon)[None, :]]
    persist = np.repeat(y[idx[:, 0] + window - 1][:, None], horizon, axis=1)
    anchor, scale = norm.anchor(raw, horizon), norm.window_scale(raw)
    return {
        "x": norm.inputs(raw),
        "raw": raw,
        "y": ys,
        "t": norm.targets(ys, anchor, scale),
        "anchor": anchor,
        "scale": scale,
        "persist": persist,
        # persistence in the model's units: 0 where the output is relative to the last reading
        "pt": norm.targets(persist, anchor, scale),
    }


def make_splits(s: Series, window: int, horizon: int, norm: Norm) -> dict[str, dict[str, np.ndarray]]:
    """Chronological train/val/test windows (each split windowed on its own rows)."""
    tr, va, te = series_rows(s)
    return {
        name: windows(s, rows, window, horizon, norm)
        for name, rows in (("train", tr), ("val", va), ("test", te))
    }


def load_series(
    data: str | None, dataset: str | None, target: str | None, features: list[str] | None
) -> Series:
    """A CSV (``--data`` with ``--target``) or a packaged dataset (``--dataset``), exactly one."""
    if (data is None) == (dataset is None):
        raise UsageError(
            "pass exactly one of --data FILE.csv or --dataset NAME.",
            f"Packaged datasets: {', '.join(DATASETS)}.",
        )
    if dataset is not None:
        if target or features:
            raise UsageError(
                "--target/--features apply to --data; a --dataset fixes its own columns.",
                "Drop --target/--features, or use --data with a CSV.",
            )
        return load_dataset(dataset)
    if not target:
        raise UsageError("--data needs --target COLUMN.", "Name the column to forecast, e.g. --target temp.")
    assert data is not None  # exactly one of data and dataset, checked above
    return load_csv(data, target=target, features=features)
