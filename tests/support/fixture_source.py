"""A deterministic SampleSource for the energy tests (a test fixture: the unit under test is
the log writer and the logger loop, not a board). Every value is a function of the sample
number k, so a test can check each row that survived a kill against what was generated.

Run as a script it is the logging subprocess the kill tests SIGKILL:
    python -m support.fixture_source OUT_DIR RATE_HZ   (from tests/)
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from qtdeploy.energy.logfile import Event, Sample
from qtdeploy.energy.logger import SourceLost

RAILS = ("mcu", "fpga_vccint", "fpga_vccaux")
VOLTS = (3.0, 1.0, 2.0)


def rail_values(k: int) -> tuple[tuple[float, float, float], ...]:
    """(V, mA, mW) per rail for sample k; exact in the log's 4 decimals."""
    out = []
    for j, v in enumerate(VOLTS):
        ma = 10.0 * (j + 1) + (k % 10) * 0.25 + (5.0 if (k // 50) % 2 else 0.0)
        out.append((v, ma, v * ma))
    return tuple(out)


class FakeClock:
    """Time that moves only when someone sleeps: in-process tests run hours in milliseconds."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def sleep(self, dt: float) -> None:
        self.now += max(dt, 1e-6)


class CountingSource:
    board = "fixture"
    origin = "simulated"
    rails = RAILS

    def __init__(
        self,
        rate_hz: int,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        lose_at: tuple[int, ...] = (),
        down_s: float = 0.0,
        infer_every: int = 25,
        infer_samples: int = 10,
    ) -> None:
        self.rate_hz = rate_hz
        self.clock, self.sleep = clock, sleep
        self.lose_at, self.down_s = list(lose_at), down_s
        self.infer_every, self.infer_samples = infer_every, infer_samples
        self.k = 0
        self.total = 0
        self.t_open = 0.0
        self.lost_until = 0.0
        self.open_ok = False
        self.emitted: list[tuple[int, float]] = []  # (session, unix_s) of every sample handed out
        self.sessions = -1

    def open(self) -> None:
        if self.clock() < self.lost_until:
            raise SourceLost("fixture board is away")
        self.k, self.t_open, self.open_ok = 0, self.clock(), True
        self.sessions += 1

    def read(self, timeout_s: float) -> tuple[list[Sample], list[Event]]:
        due = int((self.clock() - self.t_open) * self.rate_hz)
        if due <= self.k:
            self.sleep(min(timeout_s, 1.0 / self.rate_hz))
            return [], []
        samples, events = [], []
        while self.k < min(due, self.k + 2000):
            if self.lose_at and self.total == self.lose_at[0]:
                self.lose_at.pop(0)
                self.lost_until = self.clock() + self.down_s
                raise SourceLost("fixture board vanished")
            t = self.k / self.rate_hz
            samples.append(Sample(t, self.t_open + t, rail_values(self.k)))
            self.emitted.append((self.sessions, self.t_open + t))
            if self.k % self.infer_every == 0:
                events.append(
                    Event(t, self.t_open + t, "inference", duration_s=self.infer_samples / self.rate_hz)
                )
            self.k += 1
            self.total += 1
        return samples, events

    def close(self) -> None:
        self.open_ok = False


if __name__ == "__main__":
    import signal

    from qtdeploy.energy.logger import run_logger

    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))  # SIGTERM: a clean stop
    run_logger(
        CountingSource(int(sys.argv[2])), sys.argv[1], flush_interval_s=0.5, stop=lambda: bool(stopping)
    )
