"""``--out``: one CSV row per window, written as the window is settled (a crash keeps the rows so far).

Columns: ``timestamp`` (the window's last reading, from the source or the host clock), ``seq``
(the window's number), ``status`` (ok, lost, failed), ``pred_<target>`` (``pred_<target>_h<k>``
for a horizon over 1), ``truth_<target>...`` (empty until known), ``latency_ms`` (host-measured:
window ready -> prediction back), ``board_us`` (the engine's time on the board's clock), and with
``--energy`` ``energy_mj`` (the board's energy for that inference). ``origin`` says whether the
figures are measured or simulated (virtual board).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import IO

from qtdeploy.errors import UsageError
from qtdeploy.forecast.run import Row


def _names(prefix: str, target: str, horizon: int) -> list[str]:
    return [f"{prefix}_{target}"] if horizon == 1 else [f"{prefix}_{target}_h{k + 1}" for k in range(horizon)]


class RowWriter:
    """Opens ``path`` on the first row (bad input before streaming leaves no file behind)."""

    def __init__(self, path: Path, *, target: str, horizon: int, energy: bool, origin: str) -> None:
        self.path, self.horizon, self.energy, self.origin = path, horizon, energy, origin
        self.header = (
            [
                "timestamp",
                "seq",
                "status",
                *_names("pred", target, horizon),
                *_names("truth", target, horizon),
                "latency_ms",
                "board_us",
            ]
            + (["energy_mj"] if energy else [])
            + ["origin", "error"]
        )
        self.f: IO[str] | None = None
        self.rows = 0
        if path.exists() and path.is_dir():
            raise UsageError(f"--out {path} is a directory.", "Pass a file name, e.g. --out preds.csv.")
        if not path.parent.exists():
            raise UsageError(f"--out {path}: the folder {path.parent} does not exist.", "Create it first.")

    def write(self, row: Row) -> None:
        if self.f is None:
            self.f = self.path.open("w", newline="", encoding="utf-8")
            self.csv = csv.writer(self.f)
            self.csv.writerow(self.header)
        none: list[float | None] = [None] * self.horizon
        pred: list[float | None] = list(row.prediction) if row.prediction else none
        truth = list(row.truth) + [None] * (self.horizon - len(row.truth))
        cells = [
            row.stamp,
            row.seq,
            row.status,
            *(_fmt(v) for v in pred),
            *(_fmt(v) for v in truth),
            _fmt(row.latency_ms, 3),
            "" if row.board_us is None else row.board_us,
        ]
        if self.energy:
            cells.append(_fmt(row.energy_mj, 6))
        self.csv.writerow(cells + [self.origin, row.error])
        self.rows += 1
        if self.rows % 64 == 0 or row.status != "ok":
            self.f.flush()

    def close(self) -> None:
        if self.f is not None:
            self.f.close()


def _fmt(v: float | None, digits: int = 4) -> str:
    return "" if v is None else f"{v:.{digits}f}"
