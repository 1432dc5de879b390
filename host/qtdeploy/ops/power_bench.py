"""POWER_BENCH (protocol/link.md §7.24): one on-board burst of N inferences against an idle span.

::

    with Board.open("sim") as b:
        run = bench_once(b, window, count=1000, engine=Engine.FPGA)
        run.idle_mw["fpga_vccint"], run.burst_nj["fpga_vccint"], run.infer_us / run.inferences

Why on the board: one inference (~0.1 ms on the accelerator) is far shorter than a PAC1934
conversion (~1 ms) and than a host round trip (~3 ms); measured one at a time from the host its
"energy" is the link's. The board runs the N inferences with no host in the loop and measures
the accumulators over the burst and over an idle span of about the same length just before it.
Statistics over repeats and the labels live in :mod:`qtdeploy.energy.bench`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qtdeploy._protocol import (
    BENCH_CALIBRATION,
    BENCH_MAX_INFERENCES,
    BENCH_MAX_SPAN_US,
    Command,
    Engine,
    Status,
)
from qtdeploy.errors import DeviceError, UsageError
from qtdeploy.link import payloads as P
from qtdeploy.ops.power import rail_names
from qtdeploy.ops.session import Board
from qtdeploy.ops.stream import window_bytes

# The board answers after calibration + idle span + burst (each span at most BENCH_MAX_SPAN_US)
# plus three 1 ms REFRESH waits; the margin covers a slow calibration and the link.
_ANSWER_MARGIN_S = 5.0


@dataclass(frozen=True)
class BenchRun:
    """One POWER_BENCH answer: energy per rail over the idle span and over the burst."""

    engine: Engine
    inferences: int
    accel_cycles: int
    out_crc32: int
    t_idle_us: int
    t_burst_us: int
    t_end_us: int
    infer_us: int  # sum over the inferences of t_end - t_start (the board's clock)
    min_us: int
    max_us: int
    idle_nj: dict[str, int]
    burst_nj: dict[str, int]

    @property
    def idle_s(self) -> float:
        return (self.t_burst_us - self.t_idle_us) / 1e6

    @property
    def burst_s(self) -> float:
        return (self.t_end_us - self.t_burst_us) / 1e6

    def idle_mw(self, rails: tuple[str, ...]) -> float:
        """Mean idle power of ``rails`` over the idle span (mW)."""
        return sum(self.idle_nj[r] for r in rails) / 1e6 / self.idle_s

    def burst_uj(self, rails: tuple[str, ...]) -> float:
        """Energy of ``rails`` over the burst window, per inference (uJ)."""
        return sum(self.burst_nj[r] for r in rails) / 1e3 / self.inferences

    def above_idle_uj(self, rails: tuple[str, ...]) -> float:
        """Per inference, what the burst spent above the idle power over the burst's own length (uJ)."""
        extra_mj = sum(self.burst_nj[r] for r in rails) / 1e6 - self.idle_mw(rails) * self.burst_s
        return extra_mj * 1e3 / self.inferences


def bench_once(board: Board, window, *, count: int, engine: Engine = Engine.FPGA) -> BenchRun:
    """POWER_BENCH: ``count`` inferences of ``window`` on ``engine``, and an idle span before them.

    ``count`` outside 1..BENCH_MAX_INFERENCES is refused here (UsageError) before anything is
    sent; the board refuses a burst it estimates longer than BENCH_MAX_SPAN_US (BENCH_LIMIT,
    its message gives the largest count that fits). The request blocks the link for up to
    about twice that span; its timeout allows for it."""
    if not 1 <= count <= BENCH_MAX_INFERENCES:
        raise UsageError(
            f"--count {count} is outside 1..{BENCH_MAX_INFERENCES:,} inferences per burst.",
            "Use e.g. --count 1000; add --repeats for a smaller spread.",
        )
    values = window_bytes(window)
    req = P.PowerBenchRequest.build(dict(engine=int(engine), inferences=count, values=values))
    timeout = 2 * BENCH_MAX_SPAN_US / 1e6 * (1 + 1 / BENCH_CALIBRATION) + _ANSWER_MARGIN_S
    try:
        raw = board.link.request(Command.POWER_BENCH, req, timeout=timeout)
    except DeviceError as err:
        most = re.search(r"at most inferences 0x([0-9a-f]{8})", str(err))
        if err.status == Status.BENCH_LIMIT and most:
            raise DeviceError(
                f"A burst of {count:,} inferences on the {engine.name.lower()} engine would last longer than the "
                f"board allows ({BENCH_MAX_SPAN_US / 1e6:g} s).",
                f"Use --count {int(most.group(1), 16):,} or less (and more --repeats for a smaller spread).",
                status=err.status,
            ) from None
        raise
    c = P.parse_exact(P.BenchReport, raw, "POWER_BENCH response")
    names = rail_names(board)

    def name(r: int) -> str:
        return names[r] if r < len(names) else f"rail{r}"

    return BenchRun(
        engine=Engine(c.engine),
        inferences=c.inferences,
        accel_cycles=c.accel_cycles,
        out_crc32=c.out_crc32,
        t_idle_us=c.t_idle_us,
        t_burst_us=c.t_burst_us,
        t_end_us=c.t_end_us,
        infer_us=c.infer_us,
        min_us=c.min_us,
        max_us=c.max_us,
        idle_nj={name(r.rail): r.idle_nj for r in c.rails},
        burst_nj={name(r.rail): r.burst_nj for r in c.rails},
    )
