"""On-board inference: MODEL_LOAD, INFER and window streams (protocol/link.md §7.15-7.19).

Three calls cover what ``qtdeploy forecast`` and the benchmarks need::

    with Board.open("sim") as b:
        model = load_model(b, Engine.FPGA)          # weights from the active slot's blob
        r = infer(b, window, Engine.FPGA)           # one window, one round trip
        with WindowStream(b, Engine.FPGA, model=model) as s:
            for res in s.run(windows):              # as fast as the link allows
                print(res.seq, res.outputs)

Why a stream and not INFER in a loop: INFER costs a round trip per window; a stream keeps up to
``max_in_flight`` windows queued on the board, whose results come back as EVENT frames while the
next windows are on the wire, so the link and not the round trip sets the pace.

**Results are never attached to the wrong window.** Windows are numbered from 0 per stream
(the host assigns the numbers, the board requires them in order); every result event carries
the number of its window, and :class:`WindowStream` hands out results strictly in window order.
An event the link lost is not guessed: the gap shows as a :class:`WindowResult` with
``lost=True`` (the next event's number, or the board's STREAM_STOP counts, reveal it), and a
window the board failed carries its status and the board's detail text.

Live sources (a sensor producing a window every second) use :meth:`WindowStream.submit` and
:meth:`WindowStream.poll`; replay at full speed uses :meth:`WindowStream.run`, which packs several
windows into each STREAM_DATA frame and keeps the board's queue full. STREAM_DATA requests are
pipelined (:class:`~qtdeploy.link.Pipeline`): a frame the link lost and retransmitted arrives after
later ones, which the board refuses as out of order; those are sent again, in order, so window
numbers never shift.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from qtdeploy._protocol import LINK_NO_SLOT, Command, Engine, Slot, Status
from qtdeploy.errors import DeviceError, LinkError, UsageError
from qtdeploy.link import Pipeline
from qtdeploy.link import payloads as P
from qtdeploy.ops.session import Board

_DATA_HEADER = 8  # StreamData before the windows


@dataclass(frozen=True)
class ModelInfo:
    """MODEL_LOAD's answer: what one window and one prediction look like on this engine."""

    engine: Engine
    in_count: int  # int8 values per window (window x features, row-major)
    out_count: int  # int32 outputs per prediction (horizon)
    out_width: int
    abi: int


@dataclass(frozen=True)
class WindowResult:
    """One window's answer. ``outputs`` is None unless ``ok``; times are the MCU's clock (µs,
    simulated on the virtual board); ``accel_cycles`` is the accelerator's CYCLES (0 on MCU)."""

    seq: int
    status: int = Status.OK
    outputs: np.ndarray | None = None
    engine: Engine | None = None
    accel_cycles: int = 0
    t_start_us: int = 0
    t_end_us: int = 0
    error: str = ""
    lost: bool = False  # the link dropped this window's result event

    @property
    def ok(self) -> bool:
        return self.status == Status.OK and not self.lost


@dataclass(frozen=True)
class StreamSummary:
    """STREAM_STOP's counts, plus what the host saw."""

    windows_done: int
    windows_failed: int
    submitted: int
    lost: int


def load_model(board: Board, engine: Engine = Engine.FPGA, slot: Slot | None = None) -> ModelInfo:
    """MODEL_LOAD: the blob of ``slot`` (None: the active slot) onto ``engine``.

    For the FPGA engine the board checks that the configured bitstream's ABI equals the blob's
    (ABI_MISMATCH otherwise) and writes every tensor and LUT into the accelerator.
    """
    req = P.ModelLoad.build(dict(engine=int(engine), slot=LINK_NO_SLOT if slot is None else int(slot)))
    info = P.parse_exact(P.ModelInfo, board.link.request(Command.MODEL_LOAD, req), "MODEL_LOAD response")
    return ModelInfo(Engine(info.engine), info.in_count, info.out_count, info.out_width, info.abi)


def infer(board: Board, window, engine: Engine = Engine.FPGA) -> WindowResult:
    """INFER: one quantized window (int8 values, row-major (T, m)) on ``engine``, one round trip."""
    values = window_bytes(window)
    payload = P.InferRequest.build(dict(engine=int(engine), values=values))
    res = P.parse_exact(P.InferResult, board.link.request(Command.INFER, payload), "INFER response")
    return _result(0, res)


def window_bytes(window, in_count: int | None = None) -> bytes:
    """A window as the int8 bytes the board takes; refuses values outside int8 or a wrong size."""
    if isinstance(window, (bytes, bytearray, memoryview)):
        data = bytes(window)
    else:
        arr = np.asarray(window)
        if arr.dtype.kind not in "iu":
            raise UsageError(
                f"a window must hold integers (quantized int8), got dtype {arr.dtype}.",
                "Quantize the window with the blob's x scale first.",
            )
        if arr.size and (arr.min() < -128 or arr.max() > 127):
            raise UsageError(
                f"window values {int(arr.min())}..{int(arr.max())} do not fit int8.",
                "Clamp to the model's x.range when quantizing.",
            )
        data = arr.astype(np.int8).ravel().tobytes()
    if in_count is not None and len(data) != in_count:
        raise UsageError(
            f"a window has {len(data)} values; the loaded model takes {in_count}.",
            "Window the input with the model's window x features.",
        )
    return data


def _result(seq: int, res) -> WindowResult:
    return WindowResult(
        seq=seq,
        outputs=np.asarray(res.outputs, dtype=np.int64),
        engine=Engine(res.engine),
        accel_cycles=res.accel_cycles,
        t_start_us=res.t_start_us,
        t_end_us=res.t_end_us,
    )


@dataclass
class _Counts:
    submitted: int = 0  # windows sent (the next window number)
    answered: int = 0  # windows whose result (or loss) has been handed to _ready
    lost: int = 0
    unexpected: int = 0  # events for no outstanding window (a previous stream's, or garbage)
    ready: deque = field(default_factory=deque)


class WindowStream:
    """A window stream on one engine (link.md §7.17-7.19); see the module docstring.

    ``max_in_flight`` is what the host asks for; :attr:`granted` is what the board gave (its
    queue). The stream never has more than ``granted`` windows unanswered, so the board never
    answers BUSY. ``event_timeout`` bounds the wait for the next result while windows are
    outstanding (a board that stopped answering becomes a LinkError, not a hang).
    """

    def __init__(
        self,
        board: Board,
        engine: Engine = Engine.FPGA,
        *,
        model: ModelInfo | None = None,
        max_in_flight: int = 32,
        event_timeout: float = 5.0,
    ) -> None:
        if not 1 <= max_in_flight <= 255:
            raise UsageError(f"max_in_flight {max_in_flight} is outside 1..255.", "Pass 1..255.")
        self.board, self.engine, self.model = board, Engine(engine), model
        self.max_in_flight, self.event_timeout = max_in_flight, event_timeout
        self.granted = 0
        self.batch = 1
        self.running = False
        self._c = _Counts()
        self._pipe: Pipeline | None = None
        self.resent = 0  # STREAM_DATA frames re-sent after the board refused them as out of order

    # ---- lifecycle --------------------------------------------------------------------------

    def start(self) -> int:
        """STREAM_START; returns the granted max_in_flight. NO_MODEL unless MODEL_LOAD ran."""
        req = P.StreamStart.build(dict(engine=int(self.engine), max_in_flight=self.max_in_flight))
        ans = P.parse_exact(P.StreamStart, self.board.link.request(Command.STREAM_START, req), "STREAM_START")
        self.granted = ans.max_in_flight
        if self.granted < 1:
            raise LinkError("The board granted a stream of 0 windows in flight.", "Update the firmware.")
        # about a quarter of the board's queue per frame: up to four frames queued, so the next one
        # is on its way while the board answers the last (measured: halves lost 10 % at 921600)
        self.batch = max(1, self.granted // 4)
        self.running = True
        self._c = _Counts()
        self._pipe = Pipeline(self.board.link)
        self.resent = 0
        return self.granted

    def stop(self) -> StreamSummary:
        """Wait for the outstanding results (so STREAM_STOP's own wait stays short), STREAM_STOP,
        and account for events the link lost (they become ``lost`` results in :meth:`poll`)."""
        if not self.running:
            raise UsageError("the stream is not running.", "Call start() first.")
        deadline = time.monotonic() + self.event_timeout
        while (self.in_flight or self._pipe.outstanding) and time.monotonic() < deadline:
            if self._pump(min(0.2, deadline - time.monotonic())):
                deadline = time.monotonic() + self.event_timeout
        self.running = False
        self._pipe.abandon()  # nothing owed now, or the board stopped answering
        ans = P.parse_exact(P.StreamStopResponse, self.board.link.request(Command.STREAM_STOP), "STREAM_STOP")
        self._pump(0.0)
        self._mark_lost(self._c.submitted)  # answered after its last event: what is missing was lost
        return StreamSummary(ans.windows_done, ans.windows_failed, self._c.submitted, self._c.lost)

    def __enter__(self) -> WindowStream:
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self.running:
            return
        if exc_type is None:
            self.stop()
            return
        try:  # leave the board idle for the next command, but do not mask the original error
            self.running = False
            if self._pipe is not None:
                self._pipe.abandon()
            self.board.link.request(Command.STREAM_STOP)
        except (LinkError, DeviceError):
            pass

    # ---- windows in ------------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        """Windows sent whose result has not arrived yet."""
        return self._c.submitted - self._c.answered

    def submit(self, window) -> int:
        """Send one window now (a STREAM_DATA of one window); returns its number. Waits, reading
        results into :meth:`poll`'s queue, while ``granted`` windows are unanswered."""
        return self.submit_many([window])[0]

    def submit_many(self, windows: Iterable, *, wait: bool = True) -> list[int]:
        """Send windows in as few STREAM_DATA frames as the payload size allows; returns their numbers.

        With ``wait`` the board has accepted them when this returns (a refusal raises here);
        without, the frames are pipelined and a refusal surfaces in a later call (replay loops
        that keep the link busy)."""
        self._check_running()
        data = [window_bytes(w, self.model.in_count if self.model else None) for w in windows]
        seqs: list[int] = []
        while data:
            k = min(len(data), self._per_frame(len(data[0])), self.granted)
            self._wait_room(k)
            seqs += self._send(data[:k])
            data = data[k:]
        while wait and self._pipe.outstanding:
            self._pump(0.2)  # answers (and events) in; Pipeline retransmits or gives up with LinkError
        return seqs

    def _per_frame(self, n: int) -> int:
        return max(1, min(0xFFFF, (self.board.link.max_payload - _DATA_HEADER) // max(1, n)))

    def _send(self, batch: list[bytes]) -> list[int]:
        """Queue one STREAM_DATA on the link without waiting for its answer (see Pipeline)."""
        first = self._c.submitted
        n = len(batch[0])
        if any(len(b) != n for b in batch):
            raise UsageError(
                "windows of one STREAM_DATA differ in size.", "Give every window the same shape."
            )
        while self._pipe.outstanding >= max(1, self.board.link.window - 1):
            self._pump(0.2)  # the link's window is full of unanswered STREAM_DATAs
        self._transmit(first, batch, 0)
        self._c.submitted += len(batch)
        return list(range(first, first + len(batch)))

    def _transmit(self, first: int, batch: list[bytes], resends: int) -> None:
        req = P.StreamData.build(
            dict(window_seq=first, windows=len(batch), count=len(batch[0]), values=b"".join(batch))
        )
        self._pipe.send(Command.STREAM_DATA, req, tag=(first, batch, resends))

    def _answers(self) -> None:
        """STREAM_DATA answers, in send order: OK, or what a refusal means for the stream."""
        for (first, batch, resends), ans in self._pipe.answers():
            if not isinstance(ans, DeviceError):
                P.parse_exact(P.StreamDataResponse, ans, "STREAM_DATA")
                continue
            if ans.status == Status.BAD_ARGUMENT and "no stream running" in ans.problem:
                self.running = False  # a reset or another session's HELLO ended it on the board
                self._pipe.abandon()
                raise LinkError(
                    f"The board is no longer streaming (windows {self._c.answered}.."
                    f"{self._c.submitted - 1} unanswered): it was reset or another session said HELLO.",
                    "Open the board again (HELLO), MODEL_LOAD and start a new stream.",
                ) from ans
            if (
                ans.status == Status.BAD_ARGUMENT
                and "not the next window" in ans.problem
                and resends <= self.board.link.retries
            ):
                # an earlier frame was lost and retransmitted after this one arrived (link.md §5):
                # this one was refused, not run; send it again, behind the frames still owed
                self.resent += 1
                self._transmit(first, batch, resends + 1)
                continue
            self._pipe.abandon()
            raise ans

    def _wait_room(self, k: int) -> None:
        deadline = time.monotonic() + self.event_timeout
        while self.in_flight + k > self.granted:
            if self._pump(max(0.0, min(0.2, deadline - time.monotonic()))):
                deadline = time.monotonic() + self.event_timeout
            elif time.monotonic() >= deadline:
                self._timeout()

    def _timeout(self) -> None:
        raise LinkError(
            f"No result from the board for windows {self._c.answered}..{self._c.submitted - 1} "
            f"within {self.event_timeout:g} s.",
            "Check the board (a reset stops the stream; `qtdeploy info`), then start the stream again.",
        )

    def _check_running(self) -> None:
        if not self.running:
            raise UsageError("the stream is not running.", "Call start() (or use `with WindowStream(...)`).")

    # ---- results out -----------------------------------------------------------------------

    def poll(self, timeout: float = 0.0) -> list[WindowResult]:
        """Results that have arrived, in window order; waits up to ``timeout`` s for the first."""
        if not self._c.ready and self.in_flight:
            self._pump(timeout)
        else:
            self._pump(0.0)
        out = list(self._c.ready)
        self._c.ready.clear()
        return out

    def results(self) -> Iterator[WindowResult]:
        """Every outstanding result, in window order, waiting for each (event_timeout bounds a gap)."""
        while self._c.ready or self.in_flight:
            if not self._c.ready:
                if not self._pump(self.event_timeout) and not self._c.ready:
                    self._timeout()
            while self._c.ready:
                yield self._c.ready.popleft()

    def run(self, windows: Iterable) -> Iterator[WindowResult]:
        """Stream ``windows`` as fast as the link allows; yield every result in window order.

        Windows go out in frames of :attr:`batch` (a quarter of the board's queue), sent without
        waiting for the previous frame's answer, so the next frames are on the wire while the
        board works through the last. Pulls from ``windows`` only when there is room, so a
        generator source is read lazily.
        """
        self._check_running()
        source = iter(windows)
        target = self.batch
        batch: list[bytes] = []
        exhausted = False
        in_count = self.model.in_count if self.model else None
        while True:
            while not exhausted and len(batch) < target:
                w = next(source, None)
                if w is None:
                    exhausted = True
                else:
                    batch.append(window_bytes(w, in_count))
            if batch:
                per = min(len(batch), self._per_frame(len(batch[0])))
                if self.in_flight + per <= self.granted:
                    self._send(batch[:per])
                    batch = batch[per:]
                    self._pump(0.0)
                else:
                    self._wait_room(per)
            elif not self.in_flight:
                break
            else:
                if not self._pump(self.event_timeout) and not self._c.ready:
                    self._timeout()
            while self._c.ready:
                yield self._c.ready.popleft()
        while self._c.ready:
            yield self._c.ready.popleft()

    # ---- events ----------------------------------------------------------------------------

    def _pump(self, timeout: float) -> bool:
        """Read the link for up to ``timeout`` s (returning once a stream event arrived) and move
        this stream's events into the ready queue. Other events (power samples) stay on the link."""
        deadline = time.monotonic() + timeout
        got = self._take_events()
        while not got and time.monotonic() < deadline:
            self._read(deadline)  # frames in: answers matched, events queued on link.events
            got = self._take_events()
        if not got and timeout == 0.0:
            self._read(time.monotonic())
            got = self._take_events()
        return got

    def _read(self, deadline: float) -> None:
        if self._pipe is None:
            self.board.link.read_events(deadline)
            return
        self._pipe.pump(deadline)
        self._answers()

    def _take_events(self) -> bool:
        link = self.board.link
        mine = [e for e in link.events if e.command == Command.STREAM_DATA]
        if not mine:
            return False
        others = [e for e in link.events if e.command != Command.STREAM_DATA]
        link.events.clear()
        link.events.extend(others)
        for frame in mine:
            self._on_event(frame)
        return True

    def _on_event(self, frame) -> None:
        if len(frame.payload) < 4:
            self._c.unexpected += 1
            return
        seq = int.from_bytes(frame.payload[:4], "little")
        if not self._c.answered <= seq < self._c.submitted:
            self._c.unexpected += 1  # not an outstanding window: never attach it to one
            return
        self._mark_lost(seq)  # events come in window order: anything skipped was lost on the link
        if frame.status == Status.OK:
            res = P.parse_exact(P.StreamResultEvent, frame.payload, "stream result event")
            self._c.ready.append(_result(seq, res.result))
        else:
            detail = P.parse_exact(P.StreamErrorEvent, frame.payload, "stream error event").detail
            self._c.ready.append(WindowResult(seq=seq, status=frame.status, engine=self.engine, error=detail))
        self._c.answered = seq + 1

    def _mark_lost(self, upto: int) -> None:
        for seq in range(self._c.answered, upto):
            self._c.ready.append(
                WindowResult(
                    seq=seq,
                    status=Status.OK,
                    engine=self.engine,
                    lost=True,
                    error="result event lost on the link",
                )
            )
            self._c.lost += 1
        self._c.answered = max(self._c.answered, upto)
