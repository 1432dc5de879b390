"""The live terminal view (rich): latest reading, prediction, error once the truth arrives,
latency and windows/s, refreshed a few times a second on stderr."""

from __future__ import annotations

import time

from rich.console import Console
from rich.live import Live
from rich.table import Table

from qtdeploy.forecast.run import Row
from qtdeploy.forecast.sources import Reading


class LiveView:
    """Feed it readings and rows; it redraws itself. ``enabled=False`` (``--json``) draws nothing."""

    def __init__(
        self,
        console: Console,
        *,
        features: tuple[str, ...],
        target: str,
        origin: str,
        engine: str,
        total: int | None,
        enabled: bool = True,
    ) -> None:
        self.console, self.features, self.target = console, features, target
        self.origin, self.engine, self.total, self.enabled = origin, engine, total, enabled
        self.reading: Reading | None = None
        self.last_ok: Row | None = None
        self.last_scored: Row | None = None
        self.counts = {"ok": 0, "lost": 0, "failed": 0}
        self.first: float | None = None
        self.latest: float | None = None
        self.live: Live | None = None

    def __enter__(self) -> LiveView:
        self.first = time.monotonic()
        if self.enabled:
            self.live = Live(
                self._table(),
                console=self.console,
                refresh_per_second=4,
                transient=False,
                get_renderable=self._table,
            )
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.__exit__(*exc)
            if not self.console.is_terminal:
                self.console.line()  # rich's last render into a file or pipe ends without one

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

    def _table(self) -> Table:
        sim = " (simulated)" if self.origin == "simulated" else ""
        done = sum(self.counts.values())
        t = Table(
            title=f"qtdeploy forecast · {self.engine} engine · {done}"
            + (f"/{self.total}" if self.total else "")
            + " windows",
            show_header=False,
            box=None,
        )
        t.add_column(style="bold")
        t.add_column()
        if self.reading is not None:
            t.add_row(
                "reading",
                f"{self.reading.stamp}  "
                + "  ".join(f"{n}={v:g}" for n, v in zip(self.features, self.reading.values)),
            )
        if self.last_ok is not None and self.last_ok.prediction:
            t.add_row(
                f"prediction (window {self.last_ok.seq})",
                "  ".join(f"{self.target}={p:.3f}" for p in self.last_ok.prediction),
            )
            t.add_row(
                "latency",
                f"{self.last_ok.latency_ms:.2f} ms host round trip, "
                f"{self.last_ok.board_us} µs on the board{sim}",
            )
        if self.last_scored is not None:
            errs = [
                p - y
                for p, y in zip(self.last_scored.prediction or [], self.last_scored.truth)
                if y is not None
            ]
            t.add_row(f"error (window {self.last_scored.seq})", "  ".join(f"{e:+.3f}" for e in errs))
        rate = self._rate()
        t.add_row("windows/s", f"{rate:.1f}{sim}" if rate else "-")
        t.add_row(
            "status", f"{self.counts['ok']} ok, {self.counts['lost']} lost, {self.counts['failed']} failed"
        )
        return t
