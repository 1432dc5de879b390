"""An energy log kept by a session that is busy with other work (``qtdeploy forecast --energy``).

Why not ``energy log`` in a second process: a serial port has one reader. A forecast that also
wants the power trace runs a POWER_STREAM on its own session (window-stream results and power
samples are told apart by their event command, so neither reader takes the other's events),
and writes one ``inference`` event per window with the board's energy for it::

    with Board.open(port) as b, SessionRecorder(b, "runs/energy") as rec:
        for window in windows:
            with measure(b) as m:                  # POWER_MARK .. POWER_ENERGY
                result = infer(b, window, engine)
            rec.inference(m, detail=f"window {i}")
            rec.pump()                             # samples in, a chunk committed every 0.5 s

``energy report`` then prefers these board figures to integrating samples. The crash promise
(at most the last second lost) holds as long as ``pump`` runs at least every half second.
"""

from __future__ import annotations

import time
from pathlib import Path

from qtdeploy.energy.board_source import DEFAULT_RATE_HZ
from qtdeploy.energy.logfile import Event, LogWriter, Sample
from qtdeploy.ops import power
from qtdeploy.ops.session import Board


class SessionRecorder:
    """POWER_STREAM samples and measured inferences from an open session into a log directory."""

    def __init__(
        self,
        board: Board,
        out: str | Path,
        *,
        rate_hz: int = DEFAULT_RATE_HZ,
        rails: tuple[str, ...] | None = None,
        flush_interval_s: float = 0.5,
    ) -> None:
        self.board = board
        self.names = names = tuple(rails) if rails else power.rail_names(board)
        first = self._sync_clock()
        self.stream = power.PowerStream(board, rate_hz=rate_hz, rails=names)
        self.stream.start()
        self.origin = board.origin
        self.writer = LogWriter.open(
            out,
            board=board.caps.board_id,
            origin=self.origin,
            rails=names,
            rate_hz=self.stream.granted_hz,
            total_rails=tuple(r for r in names if r not in power.upstream_rails(board)),
            flush_interval_s=flush_interval_s,
            sample_power="interval_mean",
        )
        self.writer.add_event(
            Event(
                first.t_s,
                self.offset + first.t_s,
                "session",
                detail=f"session {self.writer.session} {self.origin}",
            )
        )
        self.samples = 0
        self.last_unix_s = self.offset + first.t_s
        self.resets = 0

    def _sync_clock(self) -> power.PowerSample:
        """board time -> unix time offset from one POWER_READ between two host clock reads."""
        t0 = time.time()
        first = power.read(self.board, self.names[:1])
        self.offset = (t0 + time.time()) / 2 - first.t_s
        return first

    def after_reset(self, why: str = "board reset") -> None:
        """The board lost its state (a reset, or a HELLO from another session) and its
        POWER_STREAM with it: mark the span since the last sample as a ``gap`` (what `energy
        report` leaves out) and sample again, on a fresh clock offset since a reset board's
        clock starts over."""
        now = time.time()
        self.writer.add_event(
            Event(0.0, self.last_unix_s, "gap", duration_s=max(0.0, now - self.last_unix_s), detail=why)
        )
        self.resets += 1
        self._sync_clock()
        self.stream.start()

    def pump(self) -> int:
        """Move arrived samples into the log and commit a chunk if one is due; returns samples."""
        return self._add(self.stream.poll(0.0))

    def _add(self, got: list[power.PowerSample]) -> int:
        for s in got:
            self.writer.add_sample(
                Sample(
                    s.t_s, self.offset + s.t_s, tuple((r.bus_v, r.current_ma, r.power_mw) for r in s.rails)
                )
            )
        self.samples += len(got)
        if got:
            self.last_unix_s = self.offset + got[-1].t_s
        self.writer.flush_if_due()
        return len(got)

    def inference(self, m: power.Measurement, detail: str = "") -> None:
        """One ``inference`` event: the measured span and the board's energy for it (mJ over the
        measurement's rails)."""
        if m.report is None:
            raise ValueError("the measurement has not ended")
        t = m.report.t_start_us / 1e6
        self.writer.add_event(
            Event(
                t, self.offset + t, "inference", duration_s=m.duration_s, energy_mj=m.energy_mj, detail=detail
            )
        )

    def close(self) -> None:
        try:
            self.pump()
            self._add(self.stream.stop())  # the board's last batch comes before its answer
        finally:
            self.writer.close()

    def __enter__(self) -> SessionRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
