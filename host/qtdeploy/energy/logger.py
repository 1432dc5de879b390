"""The field logger loop: samples from a ``SampleSource`` into a ``LogWriter``, for hours or days.

Why a source interface: the loop's promises (flush at least once a second, wait for a board
that disappeared, mark the gap, stop cleanly at the deadline) do not depend on where samples
come from. The board's POWER_STREAM events are one source (``energy.board_source.BoardSource``,
what ``qtdeploy energy log`` runs); the tests drive the same loop with it and with a
deterministic source, and kill it at random moments.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from qtdeploy.energy.logfile import Event, LogWriter, Sample


class SourceLost(Exception):
    """The board stopped answering or its port vanished; the loop waits and reconnects."""


class SampleSource(Protocol):
    """Where samples come from. ``origin`` is "simulated" or "measured" and labels the log."""

    board: str
    origin: str
    rails: tuple[str, ...]
    rate_hz: int

    def open(self) -> None:
        """Connect and start sampling; raise ``SourceLost`` if the board is not there."""

    def read(self, timeout_s: float) -> tuple[list[Sample], list[Event]]:
        """Samples and events that arrived, waiting at most ``timeout_s``; ``SourceLost`` if gone."""

    def close(self) -> None:
        """Stop sampling and release the port (must not raise)."""


@dataclass
class LogStats:
    samples: int = 0
    events: int = 0
    gaps: int = 0
    gap_s: float = 0.0
    seconds: float = 0.0


def run_logger(
    source: SampleSource,
    out: str | Path,
    *,
    duration_s: float | None = None,
    flush_interval_s: float = 0.5,
    reconnect_interval_s: float = 1.0,
    total_rails: tuple[str, ...] | None = None,
    durable: bool = True,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    stop: Callable[[], bool] = lambda: False,
    progress: Callable[[LogStats], None] | None = None,
) -> LogStats:
    """Log until ``duration_s`` has passed or ``stop()`` says so; returns what was logged.

    A ``SourceLost`` closes the source, retries ``open`` every ``reconnect_interval_s`` (the
    writer keeps committing meanwhile) and, once back, writes a ``gap`` event with the outage.
    Errors of the log itself (``EnergyLogError``) end the loop: nothing can be kept then.
    """
    writer = LogWriter.open(
        out,
        board=source.board,
        origin=source.origin,
        rails=source.rails,
        rate_hz=source.rate_hz,
        total_rails=total_rails,
        flush_interval_s=flush_interval_s,
        durable=durable,
        clock=clock,
        sample_power=getattr(source, "sample_power", "instantaneous"),
    )
    stats = LogStats()
    start = clock()
    read_timeout = min(0.1, flush_interval_s / 2)
    writer.add_event(Event(0.0, start, "session", detail=f"session {writer.session} {source.origin}"))
    lost_at: float | None = None

    def done() -> bool:
        return stop() or (duration_s is not None and clock() - start >= duration_s)

    try:
        connected = _try_open(source)
        if not connected:
            lost_at = clock()
        while not done():
            if not connected:
                sleep(reconnect_interval_s)
                connected = _try_open(source)
                if connected and lost_at is not None:
                    now = clock()
                    writer.add_event(
                        Event(
                            0.0,
                            lost_at,
                            "gap",
                            duration_s=now - lost_at,
                            detail="board disconnected; reconnected",
                        )
                    )
                    stats.gaps += 1
                    stats.gap_s += now - lost_at
                    lost_at = None
            else:
                try:
                    samples, events = source.read(read_timeout)
                except SourceLost:
                    source.close()
                    connected, lost_at = False, clock()
                    samples, events = [], []
                for s in samples:
                    writer.add_sample(s)
                for e in events:
                    writer.add_event(e)
                stats.samples += len(samples)
                stats.events += len(events)
            if writer.flush_if_due() and progress:
                stats.seconds = clock() - start
                progress(stats)
        if lost_at is not None:
            writer.add_event(
                Event(
                    0.0,
                    lost_at,
                    "gap",
                    duration_s=clock() - lost_at,
                    detail="board still disconnected at the end of the log",
                )
            )
            stats.gaps += 1
    finally:
        source.close()
        writer.close()
    stats.seconds = clock() - start
    return stats


def _try_open(source: SampleSource) -> bool:
    try:
        source.open()
        return True
    except SourceLost:
        return False
