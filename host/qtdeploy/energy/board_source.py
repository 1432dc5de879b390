"""The board as a ``SampleSource``: POWER_STREAM samples over the link, for the field logger.

Why its own class and not the logger talking to the link: the logger's promises (flush every
0.5 s, wait for a board that went away, mark the gap) hold for any source; this class only
turns the link into samples and every way a board can go away into ``SourceLost``:

- the port fails (cable pulled, the virtual board's process ended): the link raises LinkError;
- the board answers nothing for ``silence_s`` (a watchdog reset on a UART bridge keeps the port
  but stops the stream): no samples arrive;
- the board restarted between two reads (its clock went backwards).

Times: ``t_s`` is the board's clock (MCU seconds since boot); ``unix_s`` maps it to the host's
clock with the offset measured at each connection (a POWER_READ round trip), so rows of
several sessions sort on one axis. A stream sample's power is the mean over the conversions
since the previous sample (protocol/power.md §6), so a low log rate still counts every joule.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from qtdeploy.energy.logfile import Event, Sample
from qtdeploy.energy.logger import SourceLost
from qtdeploy.errors import DeviceError, LinkError, QtdeployError
from qtdeploy.ops import power
from qtdeploy.ops.session import Board

DEFAULT_RATE_HZ = 2  # 8 rails: ~57 MB a day with the manifest (protocol/power.md §5)


class BoardSource:
    """POWER_STREAM start in ``open``, PowerEvents decoded in ``read``, ``SourceLost`` when the
    board goes away. ``board``, ``origin``, ``rails`` and ``rate_hz`` are known after the first
    ``open`` (the CLI opens once before logging, so a wrong port fails at once)."""

    def __init__(
        self,
        port: str | None,
        *,
        baud: int | None = None,
        board_file: str | None = None,
        rate_hz: int = DEFAULT_RATE_HZ,
        rails: tuple[str, ...] | None = None,
        silence_s: float | None = None,
        opener: Callable[..., Board] = Board.open,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.port, self.baud, self.board_file = port, baud, board_file
        self.wanted_hz = rate_hz
        self.wanted_rails = rails
        self.silence_s = silence_s if silence_s is not None else max(3.0, 5.0 / rate_hz)
        self._opener, self._clock = opener, clock
        self.session: Board | None = None
        self.stream: power.PowerStream | None = None
        self.board = ""
        self.origin = "measured"
        self.rails: tuple[str, ...] = ()
        self.total_rails: tuple[str, ...] = ()
        self.rate_hz = rate_hz
        self.sample_power = "interval_mean"  # each sample: mean power since the previous one
        self.connections = 0
        self.lost_samples = 0
        self._offset = 0.0
        self._last_t_us = -1
        self._last_arrival = 0.0
        self._healthy = False

    def open(self) -> None:
        if self.session is not None:
            return
        try:
            b = self._opener(self.port, board=self.board_file, baud=self.baud)
        except QtdeployError as err:
            raise SourceLost(str(err)) from err
        try:
            names = power.rail_names(b)
            rails = self.wanted_rails or names
            t0 = self._clock()
            first = power.read(b, rails[:1])
            t1 = self._clock()
            self._offset = (t0 + t1) / 2 - first.t_s
            stream = power.PowerStream(b, rate_hz=self.wanted_hz, rails=rails)
            stream.start()
        except QtdeployError as err:
            b.close()
            if not isinstance(err, LinkError) and self.connections == 0:
                raise  # a refusal (unknown rail, no monitors) will not get better by waiting
            raise SourceLost(str(err)) from err
        self.session, self.stream = b, stream
        self.board = b.caps.board_id
        self.origin = b.origin
        self.rails = tuple(rails)
        self.total_rails = tuple(r for r in self.rails if r not in power.upstream_rails(b))
        self.rate_hz = stream.granted_hz
        self.connections += 1
        self._last_t_us = first.t_us
        self._last_arrival = self._clock()
        self._healthy = True

    def read(self, timeout_s: float) -> tuple[list[Sample], list[Event]]:
        if self.stream is None:
            raise SourceLost("not connected")
        try:
            got = self.stream.poll(timeout_s)
        except (LinkError, DeviceError) as err:
            self._healthy = False
            raise SourceLost(str(err)) from err
        now = self._clock()
        if not got:
            if now - self._last_arrival > self.silence_s:
                self._healthy = False
                raise SourceLost(f"no power samples for {now - self._last_arrival:.1f} s")
            return [], []
        self._last_arrival = now
        self.lost_samples = self.stream.lost
        out = []
        for s in got:
            if s.t_us <= self._last_t_us:
                raise SourceLost("the board's clock went backwards: it restarted")
            self._last_t_us = s.t_us
            out.append(
                Sample(
                    s.t_s, self._offset + s.t_s, tuple((r.bus_v, r.current_ma, r.power_mw) for r in s.rails)
                )
            )
        return out, []

    def close(self) -> None:
        b, self.session, self.stream = self.session, None, None
        if b is None:
            return
        if self._healthy:  # a board that stopped answering would only cost the stop's retries
            try:
                power.PowerStream(b).stop()
            except (QtdeployError, OSError):
                pass
        try:
            b.close()
        except (QtdeployError, OSError):
            pass
