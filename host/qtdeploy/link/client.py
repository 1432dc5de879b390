"""The protocol layer: requests, responses, window, retries, events (protocol/link.md §5-6).

``Link(transport)`` knows frames and sequence numbers, not flash or models: the operations layer
(``qtdeploy flash``, ``info``, ...) builds payloads with :mod:`qtdeploy.link.payloads` and calls
:meth:`Link.request` or, for bulk transfers, :meth:`Link.request_many`, which keeps up to
``window`` requests in flight so that the wire, not round trips, sets the speed.

Retries are safe because the board answers a RETRY-flagged request it has already executed from
its response cache (link.md §5). Time comes from an injectable ``clock`` so tests can run the
retry logic against a scripted peer without sleeping.

On a noisy line (link.md §6.1) the link re-sends at once what an in-order answer or a DAMAGED
NAK shows lost (no timeout), sizes bulk frames with :class:`FrameFit`, re-sends a damaged
FLASH_WRITE as smaller pieces (``Request.split``), and gives up only after a run of failures
without any answer, not after a number of tries per frame.
"""

from __future__ import annotations

import logging
import random
import struct
import time
from collections import Counter, deque
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field

from construct import Container

from qtdeploy._protocol import (
    LINK_DEFAULT_BAUD,
    LINK_DEFAULT_WINDOW,
    LINK_MAX_PAYLOAD,
    LINK_MAX_WINDOW,
    LINK_MIN_PAYLOAD,
    LINK_PROTOCOL_VERSION,
    LINK_SEQ_MODULUS,
    STATUS_INFO,
    Command,
    Flag,
    Status,
)
from qtdeploy.errors import DeviceError, LinkError
from qtdeploy.link import payloads as P
from qtdeploy.link.framing import BadFrame, Decoder, Frame, FrameErrorKind, encode

log = logging.getLogger("qtdeploy.link")
Trace = Callable[[str, "Frame | BadFrame"], None]
_READ_CHUNK = 8192
# Command-specific time on top of the base timeout (link.md §6): datasheet worst cases rounded up.
_FIXED_EXTRA: dict[int, float] = {
    Command.FPGA_CONFIGURE: 2.0,
    Command.MODEL_LOAD: 2.0,
    Command.STREAM_STOP: 2.0,
}
_ERASE_PER_SECTOR = 0.5
_HASH_PER_MIB = 1.0
_PROGRAM_PER_KIB = (
    0.003  # FLASH_WRITE: S25FL128S page program max 750 us per 256 B, of the raw (decoded) length
)


@dataclass(frozen=True)
class Request:
    """One request for :meth:`Link.request_many`; ``timeout`` overrides the computed one.

    ``split``, if given, returns requests that together do what this one does with payloads of
    at most the given size; the link uses it to re-send a frame the line keeps damaging as
    smaller pieces (only for requests whose pieces may run in any order, e.g. FLASH_WRITEs of
    one sector)."""

    command: int
    payload: bytes = b""
    flags: int = 0
    timeout: float | None = None
    split: Callable[[int], list[Request]] | None = field(default=None, compare=False, repr=False)


@dataclass
class _Pending:
    request: Request
    seq: int
    deadline: float
    attempts: int = 1
    response: Frame | None = field(default=None)
    tx: int = 0  # ordinal of its latest transmission (the board answers in arrival order)
    first_tx: int = 0  # ordinal of its first transmission
    parent: _Pending | None = None  # a piece of a request that was split (Request.split)
    parts: list[_Pending] | None = None  # the pieces this request was re-sent as

    @property
    def open(self) -> bool:
        """Waiting for an answer to a transmission of its own (not answered, not split)."""
        return self.response is None and self.parts is None


class Link:
    """Request/response over a :class:`~qtdeploy.link.transport.Transport`, with HELLO negotiation."""

    def __init__(
        self,
        transport,
        *,
        window: int = LINK_MAX_WINDOW,
        max_payload: int = LINK_MAX_PAYLOAD,
        retries: int = 3,
        timeout: float = 0.5,
        baud: int | None = None,
        trace: Trace | None = None,
        clock: Callable[[], float] = time.monotonic,
        first_seq: int | None = None,
    ) -> None:
        if not 1 <= window <= LINK_MAX_WINDOW or not LINK_MIN_PAYLOAD <= max_payload <= LINK_MAX_PAYLOAD:
            raise ValueError(f"window {window} or max_payload {max_payload} outside protocol limits")
        self.transport = transport
        self.host_window, self.host_max_payload = window, max_payload
        self.window = min(window, LINK_DEFAULT_WINDOW)
        self.max_payload = max_payload
        self.retries, self.timeout = retries, timeout
        self.baud = baud or int(getattr(transport, "baud", LINK_DEFAULT_BAUD))
        self.sector_size = 4096
        self.info: Container | None = None
        self.events: deque[Frame] = deque()
        self.decoder = Decoder()
        self.stats: Counter[str] = Counter()
        self._trace, self._clock = trace, clock
        self._seq = random.randrange(LINK_SEQ_MODULUS) if first_seq is None else first_seq % LINK_SEQ_MODULUS
        self._event_seq: int | None = None
        self._flushed = False
        self.fit = FrameFit(max_payload)
        self._tx = 0  # transmissions so far
        self._fruitless = 0  # failed transmissions since the last answer (the retry budget)
        self._noise_seen = False  # damage seen on this link: NAKs, gaps, frames that failed checks

    # ---- public API -------------------------------------------------------------------------

    def request(
        self, command: int, payload: bytes = b"", *, flags: int = 0, timeout: float | None = None
    ) -> bytes:
        """Send one request, return the OK response's payload; DeviceError/LinkError otherwise."""
        results = self.request_many([Request(command, payload, flags, timeout)])
        try:
            return next(results)
        finally:
            results.close()

    def request_many(self, requests: Iterable[Request | tuple[int, bytes]]) -> Generator[bytes, None, None]:
        """Pipeline ``requests`` with up to ``window`` in flight; yield response payloads in order.

        The board executes in arrival order, and a retransmitted request runs after later ones
        that arrived (link.md §5), so only pass requests that do not depend on one another.
        A non-OK status raises DeviceError when its turn comes, after the requests already in
        flight have been answered, so the link is quiet again for the next call. Do not call
        :meth:`request` while iterating: its reads would swallow this batch's answers as late
        frames and force retries.
        """
        source = iter(requests)
        queue: deque[_Pending] = deque()
        inflight: dict[int, _Pending] = {}
        try:
            while True:
                while len(queue) < self.window:
                    req = next(source, None)
                    if req is None:
                        break
                    pending = self._send_new(req if isinstance(req, Request) else Request(*req), inflight)
                    queue.append(pending)
                    inflight[pending.seq] = pending
                if not queue:
                    return
                head = queue[0]
                if head.response is None:
                    self._wait(inflight)
                    continue
                queue.popleft()
                del inflight[head.seq]
                yield self._result(head)
        except LinkError:
            inflight.clear()  # the link is broken: waiting for the rest would only double the delay
            raise
        finally:
            self._drain(inflight)

    def hello(self) -> Container:
        """Exchange capabilities and adopt the negotiated window and payload size (link.md §7.1)."""
        payload = P.HelloRequest.build(
            dict(
                protocol_version=LINK_PROTOCOL_VERSION,
                window=self.host_window,
                max_payload=self.host_max_payload,
            )
        )
        info = P.parse_exact(P.HelloResponse, self.request(Command.HELLO, payload), "HELLO response")
        if not (
            1 <= info.window <= LINK_MAX_WINDOW and LINK_MIN_PAYLOAD <= info.max_payload <= LINK_MAX_PAYLOAD
        ):
            raise LinkError(
                f"The board offered window {info.window} and max payload {info.max_payload}, outside the protocol's limits.",
                "Update the firmware; `qtdeploy info` shows its version.",
            )
        self.window = min(info.window, self.host_window)
        self.max_payload = min(info.max_payload, self.host_max_payload)
        self.fit.ceiling = self.max_payload
        self.sector_size = info.layout.sector_size or self.sector_size
        self.events.clear()
        self._event_seq = 0
        self.info = info
        return info

    def set_baud(self, baud: int) -> int:
        """SET_BAUD, switch, and prove the new rate with a PING; revert if the board is silent."""
        granted = P.parse_exact(
            P.SetBaudResponse,
            self.request(Command.SET_BAUD, P.SetBaudRequest.build(dict(baud=baud))),
            "SET_BAUD",
        ).baud
        old = self.baud
        self.transport.set_baud(granted)
        self.baud = granted
        try:
            self.request(Command.PING, b"baud")
        except LinkError as exc:
            self.transport.set_baud(old)
            self.baud = old
            raise LinkError(
                f"The board stopped answering after switching to {granted} baud ({exc.problem})",
                "Use a lower --baud; the board returns to the old rate by itself after 1 s.",
            ) from exc
        return granted

    def read_events(self, deadline: float) -> None:
        """Read what arrives until ``deadline`` (or one read's worth): events go onto
        :attr:`events` for their readers; with no request outstanding, a response is a late one."""
        self._pump(deadline, {})

    def next_event(self, timeout: float) -> Frame | None:
        """The oldest EVENT frame, waiting up to ``timeout`` seconds for one; None if none came."""
        deadline = self._clock() + timeout
        while not self.events and self._clock() < deadline:
            self._pump(deadline, {})
        return self.events.popleft() if self.events else None

    @property
    def counters(self) -> Counter[str]:
        """Frame errors by name plus retries, timeouts, late duplicates and lost events."""
        return self.decoder.counters + self.stats

    def close(self) -> None:
        self.transport.close()

    # ---- sending ----------------------------------------------------------------------------

    def _send_new(self, req: Request, inflight: dict[int, _Pending]) -> _Pending:
        if len(req.payload) > self.max_payload:
            raise ValueError(f"{len(req.payload)}-byte payload exceeds the negotiated {self.max_payload}")
        seq = self._seq
        self._seq = (seq + 1) % LINK_SEQ_MODULUS
        # it executes after every unanswered request ahead of it: their wire time and their
        # command extra (an erase ahead of a write delays the write's answer by the erase)
        ahead = self._ahead(inflight)
        pending = _Pending(req, seq, 0.0)
        self._transmit(pending, retry=False)
        pending.deadline += ahead
        return pending

    def _transmit(self, pending: _Pending, *, retry: bool) -> None:
        req = pending.request
        flags = (req.flags | Flag.RETRY) if retry else (req.flags & ~Flag.RETRY)
        frame = Frame(req.command, req.payload, pending.seq, int(flags))
        data = encode(frame)
        if not self._flushed:
            data = b"\x00" + data  # flush whatever partial run the board holds (link.md §2)
            self._flushed = True
        self._emit("tx", frame)
        self.transport.write(data)
        self._tx += 1
        pending.tx = self._tx
        pending.first_tx = pending.first_tx or self._tx
        pending.deadline = self._clock() + self._timeout_for(req)

    def _ahead(self, inflight: dict[int, _Pending], but: _Pending | None = None) -> float:
        """How long a request sent now waits behind the unanswered ones: the board executes in
        arrival order, so their wire time and their command extras (an erase) come first."""
        return sum(
            max(0.0, self._timeout_for(p.request) - self.timeout)
            for p in inflight.values()
            if p.open and p is not but
        )

    def _budget(self, inflight: dict[int, _Pending]) -> int:
        """Failed transmissions in a row, with no answer in between, before the link gives up.

        Failures, not tries per frame: on a noisy line a frame may need many tries while the
        others get through, and that is progress. A silent board (nothing but timeouts on a
        clean line) still ends after ``retries`` per open request; once damage has been seen
        (NAKs, gaps, frames that failed their checks) the budget grows by ``4 x retries`` so
        that an unlucky run of damaged frames is not mistaken for a dead board."""
        n_open = sum(1 for p in inflight.values() if p.open)
        return self.retries * max(1, n_open) + (4 * self.retries if self._noise_seen else 0)

    def _retransmit(self, pending: _Pending, reason: str, inflight: dict[int, _Pending]) -> None:
        self._fruitless += 1
        if reason != "timeouts":
            self._noise_seen = True
        if self._fruitless > self._budget(inflight):
            name = _cmd_name(pending.request.command)
            errors = (
                ", ".join(f"{k} {v}" for k, v in sorted(self.counters.items()) if k != "frames") or "none"
            )
            raise LinkError(
                f"No answer to {name} (seq {pending.seq}) after {pending.attempts} attempts ({reason}); "
                f"{self._fruitless} failed transmissions in a row without an answer; link counters: {errors}.",
                "Check that the board is powered and running qtdeploy firmware, the port and cable, "
                "and try a lower --baud.",
            )
        self.fit.damaged(len(pending.request.payload), pending.tx, self._tx)
        self.stats["retries"] += 1
        self.stats[reason] += 1
        pending.attempts += 1
        req = pending.request
        if req.split is not None and len(req.payload) > self.fit.size:
            pieces = req.split(self.fit.size)
            if len(pieces) > 1:  # the line damages frames this size: send it as pieces that fit
                self.stats["splits"] += 1
                pending.parts = []
                for piece in pieces:
                    part = self._send_new(piece, inflight)
                    part.parent = pending
                    pending.parts.append(part)
                    inflight[part.seq] = part
                return
        self._transmit(pending, retry=True)
        pending.deadline += self._ahead(inflight, but=pending)  # it queues behind the rest again

    def _timeout_for(self, req: Request) -> float:
        if req.timeout is not None:
            return req.timeout
        extra = _FIXED_EXTRA.get(req.command, 0.0)
        if req.command in (Command.FLASH_ERASE, Command.FLASH_HASH) and len(req.payload) >= 8:
            (length,) = struct.unpack_from("<I", req.payload, 4)
            if req.command == Command.FLASH_ERASE:
                extra = _ERASE_PER_SECTOR * -(-length // self.sector_size)
            else:
                extra = _HASH_PER_MIB * length / (1 << 20)
        elif req.command == Command.FLASH_WRITE and len(req.payload) >= 8:
            (length,) = struct.unpack_from("<I", req.payload, 4)
            extra = _PROGRAM_PER_KIB * length / 1024
        return self.timeout + self._wire_time(req) + extra

    def _wire_time(self, req: Request) -> float:
        answer = self.max_payload if req.command in (Command.FLASH_READ, Command.PING) else 128
        return (len(req.payload) + answer + 40) * 10 / self.baud

    # ---- receiving --------------------------------------------------------------------------

    def _wait(self, inflight: dict[int, _Pending], until: float | None = None) -> None:
        """Read until the earliest deadline of an unanswered request (or ``until``, if sooner; with
        ``until`` it reads even when nothing is owed); retransmit what timed out."""
        open_ = [p for p in inflight.values() if p.open]
        if not open_ and until is None:
            return
        self._pump(min([*(p.deadline for p in open_), *([until] if until is not None else [])]), inflight)
        now = self._clock()
        for p in open_:
            if p.open and p.deadline <= now:
                self._retransmit(p, "timeouts", inflight)

    def _drain(self, inflight: dict[int, _Pending]) -> None:
        """Collect the answers still owed so their late arrival cannot confuse the next call."""
        try:
            while any(p.open for p in inflight.values()):
                self._wait(inflight)
        except LinkError as exc:
            log.warning("link: gave up draining %d requests: %s", len(inflight), exc.problem)

    def _pump(self, deadline: float, inflight: dict[int, _Pending]) -> None:
        data = self.transport.read(_READ_CHUNK, max(0.0, deadline - self._clock()))
        for item in self.decoder.feed(data) if data else ():
            if isinstance(item, BadFrame):
                self._on_bad(item, inflight)
            elif item.is_event:
                self._on_event(item)
            elif item.is_response:
                self._on_response(item, inflight)
            else:
                self.stats["not_response"] += 1
                self._emit("rx?", item)

    def _on_bad(self, bad: BadFrame, inflight: dict[int, _Pending]) -> None:
        self._emit("rx!", bad)
        self._noise_seen = True
        h = bad.header
        if bad.kind is FrameErrorKind.VERSION and h is not None and h.seq in inflight:
            raise LinkError(
                f"The board speaks link protocol version {h.version}; this qtdeploy speaks {LINK_PROTOCOL_VERSION}.",
                "Update qtdeploy or the firmware so both speak the same protocol version.",
            )

    def _on_event(self, frame: Frame) -> None:
        self._emit("evt", frame)
        if self._event_seq is not None and frame.seq != self._event_seq:
            self.stats["events_lost"] += (frame.seq - self._event_seq) % LINK_SEQ_MODULUS
        self._event_seq = (frame.seq + 1) % LINK_SEQ_MODULUS
        self.events.append(frame)

    def _on_response(self, frame: Frame, inflight: dict[int, _Pending]) -> None:
        self._emit("rx", frame)
        pending = inflight.get(frame.seq)
        if pending is None or not pending.open:
            self.stats["late"] += 1
        elif frame.command != pending.request.command:
            self.stats["mismatched"] += 1
        elif frame.status in (Status.BAD_FRAME, Status.DAMAGED):
            self._gaps(pending, inflight)
            self._retransmit(
                pending, "bad_frame" if frame.status == Status.BAD_FRAME else "damaged", inflight
            )
        else:
            pending.response = frame
            self._fruitless = 0
            self.fit.delivered(len(pending.request.payload))
            self._gaps(pending, inflight)
            self._join(pending.parent, inflight)

    def _join(self, whole: _Pending | None, inflight: dict[int, _Pending]) -> None:
        """A split request is answered once all its pieces are: by the first piece's answer that
        is not OK, else by the first piece's (its caller sees one answer, as for one frame)."""
        while whole is not None and whole.parts is not None:
            if any(p.response is None for p in whole.parts):
                return
            answers = [p.response for p in whole.parts if p.response is not None]
            bad = [a for a in answers if a.status != Status.OK]
            first = (bad or answers)[0]
            whole.response = Frame(first.command, first.payload, whole.seq, first.flags, first.status)
            for p in whole.parts:
                inflight.pop(p.seq, None)
            whole.parts = None
            whole = whole.parent

    def _gaps(self, answered: _Pending, inflight: dict[int, _Pending]) -> None:
        """Re-send at once what the board must have lost: it answers in arrival order, so an
        answer means that every request whose latest transmission went out before the answered
        request's *first* one, and is still unanswered, was lost on the way (or its answer was);
        no need to wait out a timeout. The first transmission, because a request that was sent
        again may be answered for its original: after a stall on the line, late answers to
        originals would otherwise pass for losses of everything sent since, and their re-sends
        (each answered again, from the board's cache) would feed the stall they came from."""
        for p in sorted(inflight.values(), key=lambda p: p.tx):
            if p.tx >= answered.first_tx:
                break
            if p.open and p is not answered:
                self._retransmit(p, "gaps", inflight)

    def _result(self, pending: _Pending) -> bytes:
        frame = pending.response
        assert frame is not None
        if frame.status == Status.OK:
            return frame.payload
        detail = frame.payload.decode("ascii", "replace").strip()
        name = _cmd_name(frame.command)
        try:
            status = Status(frame.status)
        except ValueError:
            raise DeviceError(
                f"{name} failed with unknown status 0x{frame.status:02x}"
                + (f": {detail}" if detail else "."),
                "Update qtdeploy; the firmware is newer than this host.",
                status=frame.status,
            ) from None
        info = STATUS_INFO[status]
        raise DeviceError(
            f"{name} failed: {status.name}: {info['meaning']}" + (f" Board says: {detail}" if detail else ""),
            info["action"],
            status=int(status),
        )

    def _emit(self, direction: str, item: Frame | BadFrame) -> None:
        if log.isEnabledFor(logging.DEBUG):
            text = item.describe() if isinstance(item, Frame) else f"bad frame: {item.kind.value}"
            log.debug("%-3s %s", direction, text)
        if self._trace is not None:
            self._trace(direction, item)


class FrameFit:
    """How large a bulk frame (FLASH_WRITE, STREAM_DATA) should be on this line now (link.md §6.1).

    A frame of n bytes survives a line that damages each byte with chance e with chance
    (1 - e)^n: at 1e-4 a 4 KiB frame is lost 1 time in 3, at 1e-3 nearly always. So the size is
    halved on each failure of a frame sent at (about) the current size after the last cut, and
    doubled after ``grow_after`` frames in a row delivered at the current size, between
    ``floor`` (one 256-byte flash page plus the FLASH_WRITE header) and the negotiated
    ``ceiling``. Additive-increase would grow too slowly from the floor on a line that cleaned
    up; a doubling only after a clean run keeps the size from oscillating on a steady rate.
    """

    def __init__(self, ceiling: int, *, floor: int = 268, grow_after: int = 16) -> None:
        self.ceiling, self.floor, self.grow_after = ceiling, min(floor, ceiling), grow_after
        self._size = ceiling
        self._streak = 0
        self._cut_tx = 0
        self.cuts = 0

    @property
    def size(self) -> int:
        """Largest payload a bulk frame should have now (never above the negotiated maximum)."""
        return max(self.floor, min(self._size, self.ceiling))

    def damaged(self, length: int, tx: int, now_tx: int) -> None:
        """A frame of ``length`` payload bytes, transmitted as the ``tx``-th, was lost or damaged;
        ``now_tx`` transmissions have been made. Frames sent before the last cut were sized for
        the old size, so their failures do not cut again."""
        self._streak = 0
        if tx > self._cut_tx and length * 2 >= self.size and self.size > self.floor:
            self._size = max(self.floor, self.size // 2)
            self._cut_tx = now_tx
            self.cuts += 1

    def delivered(self, length: int) -> None:
        """A frame of ``length`` payload bytes was answered."""
        if length * 2 < self.size:
            return  # a small request says nothing about frames of the current size
        self._streak += 1
        if self._streak >= self.grow_after and self.size < self.ceiling:
            self._size = min(self.ceiling, self.size * 2)
            self._streak = 0


def _cmd_name(code: int) -> str:
    try:
        return Command(code).name
    except ValueError:
        return f"command 0x{code:02x}"


class Pipeline:
    """Requests sent now and answered later, for a caller that reads events in between.

    Why not :meth:`Link.request_many`: a window stream must keep sending STREAM_DATA while it
    takes result events, and a blocking request leaves the host->board direction idle from the
    end of each frame until its answer has come back behind the board's queued events and the
    host has turned round (~1.7 ms per 32-window frame at 921600 baud, 9 % of the link,
    simulated). Here :meth:`send` returns at once, :meth:`pump` reads frames (responses matched,
    events queued on ``link.events``, timed-out requests retransmitted with RETRY as in
    :meth:`Link.request_many`), and :meth:`answers` yields the answered heads in send order.
    The ordering caveat of link.md §5 holds: a retransmitted request runs after later ones that
    arrived, so a caller whose requests depend on one another must cope (a window stream re-sends
    what the board refused as out of order)."""

    def __init__(self, link: Link) -> None:
        self.link = link
        self.queue: deque[tuple[_Pending, object]] = deque()
        self.inflight: dict[int, _Pending] = {}

    @property
    def outstanding(self) -> int:
        return len(self.queue)

    def send(self, command: int, payload: bytes, tag: object = None) -> None:
        """Transmit now; ``tag`` comes back with the answer."""
        pending = self.link._send_new(Request(command, payload), self.inflight)
        self.inflight[pending.seq] = pending
        self.queue.append((pending, tag))

    def pump(self, deadline: float) -> None:
        """Read until ``deadline`` (or the earliest retransmission due); retransmit what timed out."""
        self.link._wait(self.inflight, until=deadline)

    def answers(self) -> Iterator[tuple[object, bytes | DeviceError]]:
        """(tag, payload or the DeviceError of a non-OK status) for each answered head, in order."""
        while self.queue and self.queue[0][0].response is not None:
            pending, tag = self.queue.popleft()
            del self.inflight[pending.seq]
            try:
                yield tag, self.link._result(pending)
            except DeviceError as err:
                yield tag, err

    def abandon(self) -> None:
        """Forget what is owed (the link broke, or the board was reset): late answers count as late."""
        self.queue.clear()
        self.inflight.clear()
