"""The live terminal view of `qtdeploy forecast` (rich): latest reading, prediction, error once
the truth arrives, latency and windows/s, refreshed a few times a second on stderr. What it shows
is kept by :class:`qtdeploy.forecast.live.LiveTally`; this module only draws it."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from qtdeploy.forecast.live import LiveTally


class LiveView(LiveTally):
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
        super().__init__(features=features, target=target, origin=origin, engine=engine, total=total)
        self.console, self.enabled = console, enabled
        self.live: Live | None = None

    def __enter__(self) -> LiveView:
        self.start()
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

    def __exit__(self, *exc: Any) -> None:
        if self.live is not None:
            self.live.__exit__(*exc)
            if not self.console.is_terminal:
                self.console.line()  # rich's last render into a file or pipe ends without one

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
