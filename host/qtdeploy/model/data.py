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
    return Series(features=list(features), target=target, x=arr[:, :-1], y=arr[:, -1], source=str(path))


@dataclass
class Norm:
    """Per-feature and target mean/std from the training split (kept in the blob's meta)."""

    x_mean: np.ndarray
    x_std: np.ndarray
    y_mean: float
    y_std: float

    def to_dict(self) -> dict:
        return {
            "x_mean": self.x_mean.tolist(),
            "x_std": self.x_std.tolist(),
            "y_mean": self.y_mean,
            "y_std": self.y_std,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Norm:
        return cls(np.array(d["x_mean"]), np.array(d["x_std"]), float(d["y_mean"]), float(d["y_std"]))


def split_rows(n: int) -> tuple[slice, slice, slice]:
    a, b = int(n * SPLITS[0]), int(n * (SPLITS[0] + SPLITS[1]))
    return slice(0, a), slice(a, b), slice(b, n)


def fit_norm(s: Series) -> Norm:
    tr = split_rows(len(s.y))[0]
    std = s.x[tr].std(axis=0)
    return Norm(
        s.x[tr].mean(axis=0), np.where(std > 0, std, 1.0), float(s.y[tr].mean()), float(s.y[tr].std() or 1.0)
    )


def windows(s: Series, rows: slice, window: int, horizon: int, norm: Norm) -> dict[str, np.ndarray]:
    """Windows inside ``rows``: normalised inputs (N, T, m), targets (N, H) raw, persistence (N, H) raw."""
    x, y = s.x[rows], s.y[rows]
    n = len(y) - window - horizon + 1
    if n < 1:
        raise FormatError(
            f"{s.source}: {len(y)} rows in this split are too few for one window of {window} "
            f"plus a horizon of {horizon}.",
            "Use a longer series or a smaller --window/--horizon.",
        )
    idx = np.arange(n)[:, None]
    xs = (x[idx + np.arange(window)[None, :]] - norm.x_mean) / norm.x_std
    ys = y[idx + window + np.arange(horizon)[None, :]]
    persist = np.repeat(y[idx[:, 0] + window - 1][:, None], horizon, axis=1)
    return {"x": xs, "y": ys, "persist": persist}


def make_splits(s: Series, window: int, horizon: int, norm: Norm) -> dict[str, dict[str, np.ndarray]]:
    """Chronological train/val/test windows (each split windowed on its own rows)."""
    tr, va, te = split_rows(len(s.y))
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
