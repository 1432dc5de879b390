"""Power and energy on the board: POWER_READ, POWER_MARK, POWER_ENERGY, POWER_STREAM
(protocol/link.md §7.20-7.23, protocol/power.md).

::

    with Board.open("sim") as b:
        s = read(b)                              # instantaneous V, mA, mW per rail
        with measure(b) as m:                    # POWER_MARK before, POWER_ENERGY after
            infer(b, window)
        print(m.energy_mj, m.report.duration_s)  # the board's own accumulated energy
        with PowerStream(b, rate_hz=10) as ps:   # samples as EVENT frames
            for sample in ps.poll(1.0): ...

Rails are named as in the board file (``[[power.rails]]``, in file order = rail id). Energy per
inference sums ``compute_rails`` (every rail except the ones feeding the others, so nothing is
counted twice). On the virtual board every figure is simulated (``origin``).

Why energy from the board and not from integrating samples: POWER_ENERGY is the PAC193x's own
accumulator (every conversion at 1024 samples/s, across any number of refreshes), so an inference
shorter than the gap between two logged samples is still counted in full.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from qtdeploy._protocol import Command
from qtdeploy.errors import UsageError
from qtdeploy.link import payloads as P
from qtdeploy.ops.session import Board

FLAG_INVALID = 0x01


@dataclass(frozen=True)
class RailReading:
    rail: int
    name: str
    bus_v: float
    current_ma: float
    power_mw: float
    invalid: bool = False  # saturated, or the monitor did not answer


@dataclass(frozen=True)
class PowerSample:
    """One reading of some rails at ``t_us`` (MCU microseconds since boot). In a stream, power
    is the mean since the previous sample (from the accumulators); POWER_READ's is instantaneous."""

    t_us: int
    rails: tuple[RailReading, ...]

    @property
    def t_s(self) -> float:
        return self.t_us / 1e6


@dataclass(frozen=True)
class Marker:
    id: int
    t_us: int


@dataclass(frozen=True)
class EnergyReport:
    """POWER_ENERGY: nanojoules per rail from ``t_start_us`` (the marker) to ``t_end_us`` (now)."""

    marker: int
    t_start_us: int
    t_end_us: int
    energy_nj: dict[str, int]

    @property
    def duration_s(self) -> float:
        return (self.t_end_us - self.t_start_us) / 1e6

    def energy_mj(self, rails: Iterable[str] | None = None) -> float:
        """Millijoules summed over ``rails`` (default: every rail in the report)."""
        names = self.energy_nj.keys() if rails is None else rails
        return sum(self.energy_nj[r] for r in names) / 1e6


def rail_names(board: Board) -> tuple[str, ...]:
    """The board file's rails in rail-id order (``rail<i>`` for a board without a board file)."""
    bf = board.board_file
    return tuple(r.name for r in bf.rails) if bf is not None else tuple(f"rail{i}" for i in range(32))


def upstream_rails(board: Board) -> tuple[str, ...]:
    """Rails that supply the others (board file ``upstream = true``): summing them with their
    loads would count energy twice."""
    bf = board.board_file
    return tuple(r.name for r in bf.rails if r.upstream) if bf is not None else ()


def compute_rails(board: Board) -> tuple[str, ...]:
    """The rails whose sum is "the board's energy": every rail but the upstream supplies."""
    up = upstream_rails(board)
    return tuple(r for r in rail_names(board) if r not in up)


def rail_mask(board: Board, rails: Iterable[str] | None) -> int:
    """Bit r set for each named rail; 0 (all) for None. Unknown names are a UsageError."""
    if rails is None:
        return 0
    names = rail_names(board)
    mask = 0
    for r in rails:
        if r not in names:
            raise UsageError(
                f"rail {r!r} is not on board {board.caps.board_id!r}.", f"Use one of: {', '.join(names)}."
            )
        mask |= 1 << names.index(r)
    return mask


def _sample(board: Board, c) -> PowerSample:
    names = rail_names(board)
    return PowerSample(
        c.t_us,
        tuple(
            RailReading(
                r.rail,
                names[r.rail] if r.rail < len(names) else f"rail{r.rail}",
                r.bus_mv / 1000.0,
                r.current_ua / 1000.0,
                r.power_uw / 1000.0,
                bool(r.flags & FLAG_INVALID),
            )
            for r in c.rails
        ),
    )


def read(board: Board, rails: Iterable[str] | None = None) -> PowerSample:
    """POWER_READ: the monitors' last conversion per rail (instantaneous V, mA, mW)."""
    raw = board.link.request(Command.POWER_READ, struct.pack("<I", rail_mask(board, rails)))
    return _sample(board, P.parse_exact(P.PowerSample, raw, "POWER_READ"))


def mark(board: Board) -> Marker:
    """POWER_MARK: a snapshot of every rail's accumulated energy (the board keeps the last 4)."""
    c = P.parse_exact(P.PowerMark, board.link.request(Command.POWER_MARK), "POWER_MARK")
    return Marker(c.marker, c.t_us)


def energy(board: Board, marker: Marker | int = 0) -> EnergyReport:
    """POWER_ENERGY: energy per rail since ``marker`` (0: since the board booted)."""
    mid = marker.id if isinstance(marker, Marker) else int(marker)
    c = P.parse_exact(
        P.EnergyReport, board.link.request(Command.POWER_ENERGY, struct.pack("<I", mid)), "POWER_ENERGY"
    )
    names = rail_names(board)
    return EnergyReport(
        c.marker,
        c.t_start_us,
        c.t_end_us,
        {names[r.rail] if r.rail < len(names) else f"rail{r.rail}": r.energy_nj for r in c.rails},
    )


@dataclass
class Measurement:
    """What :func:`measure` fills in: the marker, then the board's report at the end."""

    rails: tuple[str, ...]
    marker: Marker | None = None
    report: EnergyReport | None = None

    @property
    def energy_mj(self) -> float:
        """Energy over the measured span, summed over ``rails`` (mJ)."""
        if self.report is None:
            raise RuntimeError("the measurement has not ended")
        return self.report.energy_mj(self.rails)

    @property
    def duration_s(self) -> float:
        return self.report.duration_s if self.report else 0.0


@contextmanager
def measure(board: Board, rails: Iterable[str] | None = None) -> Iterator[Measurement]:
    """POWER_MARK on entry, POWER_ENERGY on exit: the board's energy of what ran inside.

    For ``qtdeploy forecast --energy``, around each inference::

        with measure(board) as m:
            result = infer(board, window, engine)
        row["energy_mj"] = m.energy_mj

    ``rails`` defaults to :func:`compute_rails`. The span includes the link round trips around
    the work (a few ms of idle power): what the board spent from the mark to the report.
    """
    m = Measurement(tuple(rails) if rails is not None else compute_rails(board))
    m.marker = mark(board)
    yield m
    m.report = energy(board, m.marker)


@dataclass
class PowerStream:
    """POWER_STREAM: samples as EVENT frames while the stream runs (a context manager).

    Only POWER_STREAM events are taken from the link; others (window-stream results) stay
    queued for their reader, so a forecast and a power stream share one session. ``lost``
    counts samples whose events the link dropped (gaps in ``sample_seq``)."""

    board: Board
    rate_hz: int = 10
    rails: tuple[str, ...] | None = None
    granted_hz: int = 0
    mask: int = 0
    lost: int = 0
    _next_seq: int = 0
    _pending: list[PowerSample] = field(default_factory=list)

    def start(self) -> int:
        """Start sampling; returns the rate the board granted (<= the one asked for)."""
        req = struct.pack("<BBHI", 1, 0, self.rate_hz, rail_mask(self.board, self.rails))
        self._take()  # events of an earlier stream queued so far are not this one's
        self._pending.clear()
        c = P.parse_exact(P.PowerStream, self.board.link.request(Command.POWER_STREAM, req), "POWER_STREAM")
        self.granted_hz, self.mask, self._next_seq, self.lost = c.rate_hz, c.rail_mask, 0, 0
        return self.granted_hz

    def stop(self) -> list[PowerSample]:
        """Stop sampling; returns the samples the board sent up to its answer (its last batch)."""
        self.board.link.request(Command.POWER_STREAM, struct.pack("<BBHI", 0, 0, 0, 0))
        return self.poll(0.0)

    def poll(self, timeout: float = 0.0) -> list[PowerSample]:
        """Samples that arrived, waiting up to ``timeout`` s for the first one."""
        link = self.board.link
        deadline = time.monotonic() + timeout
        link.read_events(time.monotonic())  # what has arrived, without waiting (frames onto link.events)
        self._take()
        while not self._pending and time.monotonic() < deadline:
            link.read_events(deadline)
            self._take()
        out, self._pending = self._pending, []
        return out

    def _take(self) -> None:
        link = self.board.link
        mine = [e for e in link.events if e.command == Command.POWER_STREAM]
        if not mine:
            return
        others = [e for e in link.events if e.command != Command.POWER_STREAM]
        link.events.clear()
        link.events.extend(others)
        for frame in mine:
            ev = P.parse_exact(P.PowerEvent, frame.payload, "POWER_STREAM event")
            if ev.sample_seq > self._next_seq:
                self.lost += ev.sample_seq - self._next_seq
            self._next_seq = ev.sample_seq + ev.samples
            self._pending.extend(_sample(self.board, s) for s in ev.data)

    def __enter__(self) -> PowerStream:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
