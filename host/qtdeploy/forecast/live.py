"""What the live view shows, without drawing it: the latest reading, the last prediction and the
last scored one, counts per status and the run's windows/s. :mod:`qtdeploy.cli.live` draws it
with rich (rendering stays in the CLI layer)."""

from __future__ import annotations

import time

from qtdeploy.forecast.run import Row
from qtdeploy.forecast.sources import Reading


class LiveTally:
    """Feed it readings and rows; a view reads its fields."""

    def __init__(
        self, *, features: tuple[str, ...], target: str, origin: str, engine: str, total: int | None
    ) -> None:
        self.features, self.target = features, target
        self.origin, self.engine, self.total = origin, engine, total
        self.reading: Reading | None = None
        self.last_ok: Row | None = None
        self.last_scored: Row | None = None
        self.counts = {"ok": 0, "lost": 0, "failed": 0}
        self.first: float | None = None
        self.latest: float | None = None

    def start(self) -> None:
        """The run begins: windows/s counts from here."""
        self.first = time.monotonic()

    def on_reading(self, r: Reading) -> None:
        self.reading = r

    def on_row(self, row: Row) -> None:
        self.counts[row.status] += 1
        self.latest = time.monotonic()
        if row.status == "ok":
            self.last_ok = row
            if any(t is not None for t in row.truth):
                self.last_scored = row

    def _rate(self) -> float | None:
        done = sum(self.counts.values())
        if not done or not self.first or not self.latest or self.latest <= self.first:
            return None
        return done / (self.latest - self.first)  # since the view opened: the run's average
