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
(the host assigns the numbers, the board requires new ones in order); every result event carries
the number of its window, and :class:`WindowStream` hands out results strictly in window order.
An event the link lost is not guessed: the window is sent again under its number (link.md
§7.18; a re-send is idempotent by window number, duplicates are dropped), and only a window the
board could not compute (the stream ended under it) comes out as a :class:`WindowResult` with
``lost=True``. A window the board failed carries its status and the board's detail text.

Live sources (a sensor producing a window every second) use :meth:`WindowStream.submit` and
:meth:`WindowStream.poll`; replay at full speed uses :meth:`WindowStream.run`, which packs several
windows into each STREAM_DATA frame and keeps the board's queue full. STREAM_DATA requests are
pipelined (:class:`~qtdeploy.link.Pipeline`): a frame the link lost and retransmitted arrives after
later ones, which the board refuses as OUT_OF_ORDER; those are sent again, in order, so window
numbers never shift. Frames carry as many windows as the line's current frame size allows
(:class:`~qtdeploy.link.client.FrameFit`: fewer on a noisy line). The board's refusals are told
apart by status code (NO_STREAM, OUT_OF_ORDER, BUSY), never by message text.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import cast

import numpy as np

from qtdeploy._protocol import LINK_NO_SLOT, Command, Engine, Slot, Status
from qtdeploy.errors import DeviceError, LinkError, UsageError
from qtdeploy.link import Pipeline
from qtdeploy.link import payloads as P
from qtdeploy.ops.session import Board

_DATA_HEADER = 8  # StreamData before the windows


class StreamEnded(LinkError):
    """The board is no longer streaming (NO_STREAM): it was reset or another session said HELLO,
    so the windows it held are gone with it."""


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
    """The host's view of one stream's windows (numbers from 0, in send order)."""

    submitted: int = 0  # windows sent (the next window number)
    accepted: int = 0  # windows below this number were accepted by the board (answered OK)
    released: int = 0  # windows below this number have been handed to ``ready``
    lost: int = 0  # windows handed out as lost
    unexpected: int = 0  # events for no outstanding window (a previous stream's, or garbage)
    duplicates: int = 0  # events for a window already answered (a re-send that was not needed)
    resent_windows: int = 0  # windows sent again because their result event was lost
    got: dict[int, WindowResult] = field(default_factory=dict)  # arrived, waiting for earlier ones
    data: dict[int, bytes] = field(default_factory=dict)  # unanswered windows' bytes, for re-sends
    redos: dict[int, int] = field(default_factory=dict)  # window -> times re-sent
    gone: set[int] = field(default_factory=set)  # unanswered, and not in the board's queue any more
    ready: deque = field(default_factory=deque)
    last_event: float = 0.0  # when the last result event of this stream arrived
    last_accept: float = 0.0  # when the board last accepted a STREAM_DATA (it had work from then)
    gap: float = 0.05  # smoothed time the board takes per result while it has work (s)


class WindowStream:
    """A window stream on one engine (link.md §7.17-7.19); see the module docstring.

    ``max_in_flight`` is what the host asks for; :attr:`granted` is what the board gave (its
    queue). The stream never has more than ``granted`` windows queued on the board, so the board
    never answers BUSY. ``event_timeout`` bounds the wait for the next result while windows are
    outstanding (a board that stopped answering becomes a LinkError, not a hang).
    ``max_redos``: how often one window is sent again because its result event was lost before
    the stream gives up with a LinkError (the board answers, but the line destroys its results).
    """

    def __init__(
        self,
        board: Board,
        engine: Engine = Engine.FPGA,
        *,
        model: ModelInfo | None = None,
        max_in_flight: int = 32,
        event_timeout: float = 5.0,
        max_redos: int = 8,
    ) -> None:
        if not 1 <= max_in_flight <= 255:
            raise UsageError(f"max_in_flight {max_in_flight} is outside 1..255.", "Pass 1..255.")
        self.board, self.engine, self.model = board, Engine(engine), model
        self.max_in_flight, self.event_timeout, self.max_redos = max_in_flight, event_timeout, max_redos
        self.granted = 0
        self.batch = 1
        self.running = False
        self._c = _Counts()
        self._pipe_or_none: Pipeline | None = None
        self.resent = 0  # STREAM_DATA frames re-sent after the board refused them (order, BUSY)

    # ---- lifecycle --------------------------------------------------------------------------

    @property
    def _pipe(self) -> Pipeline:
        """The STREAM_DATA pipeline, which exists from the stream's start on."""
        assert self._pipe_or_none is not None, "the stream has not started"
        return self._pipe_or_none

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
        self._c = _Counts(last_event=time.monotonic())
        self._pipe_or_none = Pipeline(self.board.link)
        self.resent = 0
        return self.granted

    def end(self) -> None:
        """Forget the stream on the host without a word to the board (it was reset, or the link
        broke): what is owed is abandoned; :meth:`start` begins a new one."""
        self.running = False
        if self._pipe_or_none is not None:
            self._pipe.abandon()

    def stop(self) -> StreamSummary:
        """Wait for the outstanding results (re-sending windows whose result was lost), then
        STREAM_STOP; windows still unanswered after ``event_timeout`` without progress are lost."""
        if not self.running:
            raise UsageError("the stream is not running.", "Call start() first.")
        deadline = time.monotonic() + self.event_timeout
        while (self.in_flight or self._pipe.outstanding) and time.monotonic() < deadline:
            if self._pump(min(0.2, deadline - time.monotonic())):
                deadline = time.monotonic() + self.event_timeout
        self.end()  # nothing owed now, or the board stopped answering
        ans = P.parse_exact(P.StreamStopResponse, self.board.link.request(Command.STREAM_STOP), "STREAM_STOP")
        self._pump(0.0)
        self._lose_unanswered("result never arrived")
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
            self.end()
            self.board.link.request(Command.STREAM_STOP)
        except (LinkError, DeviceError):
            pass

    # ---- windows in ------------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        """Windows sent whose result has not arrived yet."""
        return self._c.submitted - self._c.released - len(self._c.got)

    @property
    def resent_windows(self) -> int:
        """Windows sent again because their result event was lost on the link."""
        return self._c.resent_windows

    @property
    def duplicate_events(self) -> int:
        """Result events for a window already answered (a re-send that turned out not needed)."""
        return self._c.duplicates

    def _queued(self) -> int:
        """Windows the board may hold in its queue: unanswered, less those known to have left it."""
        return self.in_flight - len(self._c.gone)

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
        """Windows per STREAM_DATA: as many as the frame size that fits the line now allows
        (:class:`qtdeploy.link.client.FrameFit`: smaller on a noisy line)."""
        return max(1, min(0xFFFF, (self.board.link.fit.size - _DATA_HEADER) // max(1, n)))

    def _send(self, batch: list[bytes]) -> list[int]:
        """Queue one STREAM_DATA on the link without waiting for its answer (see Pipeline)."""
        first = self._c.submitted
        n = len(batch[0])
        if any(len(b) != n for b in batch):
            raise UsageError(
                "windows of one STREAM_DATA differ in size.", "Give every window the same shape."
            )
        self._wait_link()
        self._transmit(first, batch, 0, redo=False)
        for i, b in enumerate(batch):
            self._c.data[first + i] = b
        self._c.submitted += len(batch)
        return list(range(first, first + len(batch)))

    def _wait_link(self) -> None:
        while self._pipe.outstanding >= max(1, self.board.link.window - 1):
            self._pump(0.2)  # the link's window is full of unanswered STREAM_DATAs

    def _transmit(self, first: int, batch: list[bytes], resends: int, *, redo: bool) -> None:
        req = P.StreamData.build(
            dict(window_seq=first, windows=len(batch), count=len(batch[0]), values=b"".join(batch))
        )
        self._pipe.send(Command.STREAM_DATA, req, tag=(first, batch, resends, redo))

    def _answers(self) -> None:
        """STREAM_DATA answers, in send order: OK, or what a refusal means for the stream."""
        limit = 4 * (self.board.link.retries + 1)
        for tag, ans in self._pipe.answers():
            first, batch, resends, redo = cast(tuple, tag)  # what _send tagged the frame with
            if not isinstance(ans, DeviceError):
                P.parse_exact(P.StreamDataResponse, ans, "STREAM_DATA")
                self._c.last_accept = time.monotonic()
                if not redo:
                    self._c.accepted = max(self._c.accepted, first + len(batch))
                continue
            if ans.status == Status.NO_STREAM:
                self.end()  # a reset or another session's HELLO ended it on the board
                raise StreamEnded(
                    f"The board is no longer streaming (windows {self._c.released}.."
                    f"{self._c.submitted - 1} unanswered): it was reset or another session said HELLO.",
                    "Open the board again (HELLO), MODEL_LOAD and start a new stream.",
                ) from ans
            if redo and ans.status == Status.BUSY:
                self._c.gone.update(range(first, first + len(batch)))  # not queued: try again later
                continue
            if ans.status in (Status.OUT_OF_ORDER, Status.BUSY) and resends < limit:
                # an earlier frame was lost and retransmitted after this one arrived (link.md §5),
                # or the queue was full: this one was refused, not run; send it again, in order
                self.resent += 1
                self._transmit(first, batch, resends + 1, redo=redo)
                continue
            self.end()
            raise ans

    def _wait_room(self, k: int) -> None:
        deadline = time.monotonic() + self.event_timeout
        while self._queued() + k > self.granted:
            if self._pump(max(0.0, min(0.2, deadline - time.monotonic()))):
                deadline = time.monotonic() + self.event_timeout
            elif time.monotonic() >= deadline:
                self._timeout()

    def _timeout(self) -> None:
        raise LinkError(
            f"No result from the board for windows {self._c.released}..{self._c.submitted - 1} "
            f"within {self.event_timeout:g} s.",
            "Check the board (a reset stops the stream; `qtdeploy info`), then start the stream again.",
        )

    def _check_running(self) -> None:
        if not self.running:
            raise UsageError("the stream is not running.", "Call start() (or use `with WindowStream(...)`).")

    # ---- re-sending windows whose result was lost ------------------------------------------

    def _redo_due(self) -> None:
        """Send again the windows whose result event the link destroyed (link.md §7.18).

        Two ways to know: the board runs new windows in window order, so the event of a window
        sent once shows that every earlier window sent once and still unanswered lost its event
        (exact, marked in :meth:`_on_event`); and when no event has come for four times the usual
        gap while windows are owed and every frame was accepted, the rest of the queue's events
        were lost (the tail, and re-sent windows whose event was lost again). A needless re-send
        costs a duplicate event, which is dropped: a window number names one window's result."""
        c = self._c
        if not self.running or self._pipe_or_none is None:
            return
        now = time.monotonic()
        # quiet: no result for 4 usual gaps since the board last had news or work (a live source
        # that sends a window a second must not make every window look overdue)
        quiet = now - max(c.last_event, c.last_accept) > max(0.3, 4 * c.gap)
        if quiet and not self._pipe.outstanding and self.in_flight:
            owed = [i for i in range(c.released, c.accepted) if i not in c.got and i not in c.gone]
            if owed:
                c.gone.update(owed)
                c.last_event = now  # one round of re-sends per quiet period
        todo = sorted(i for i in c.gone if i < c.accepted)
        if not todo:
            return
        n = len(c.data[todo[0]])
        per = min(self._per_frame(n), self.granted)  # a run must fit the board's queue
        run: list[int] = []
        for i in todo:
            if run and (i != run[-1] + 1 or len(run) >= per):
                if not self._redo(run):
                    return
                run = []
            run.append(i)
        if run:
            self._redo(run)

    def _redo(self, run: list[int]) -> bool:
        """Re-send one run of consecutive windows if the board's queue has room; False if not."""
        c = self._c
        if self._queued() + len(run) > self.granted or self._pipe.outstanding >= max(
            1, self.board.link.window - 1
        ):
            return False
        for i in run:
            c.redos[i] = c.redos.get(i, 0) + 1
            if c.redos[i] > self.max_redos:
                self.end()
                raise LinkError(
                    f"The result of window {i} was lost on the link {self.max_redos} times; the board "
                    f"answers, but the line destroys what it sends (link counters: "
                    f"{dict(self.board.link.counters)}).",
                    "Check the cable and lower --baud; results so far are kept.",
                )
            c.gone.discard(i)
        c.resent_windows += len(run)
        self._transmit(run[0], [c.data[i] for i in run], 0, redo=True)
        return True

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
        deadline = time.monotonic() + self.event_timeout
        while self._c.ready or self.in_flight:
            if not self._c.ready:
                if self._pump(min(0.2, self.event_timeout)):
                    deadline = time.monotonic() + self.event_timeout
                elif time.monotonic() >= deadline:
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
                if self._queued() + per <= self.granted:
                    self._send(batch[:per])
                    batch = batch[per:]
                    self._pump(0.0)
                else:
                    self._wait_room(per)
            elif not self.in_flight:
                break
            else:
                yield from self.results()
            while self._c.ready:
                yield self._c.ready.popleft()
        while self._c.ready:
            yield self._c.ready.popleft()

    # ---- events ----------------------------------------------------------------------------

    def _pump(self, timeout: float) -> bool:
        """Read the link for up to ``timeout`` s (returning once a stream event arrived), move
        this stream's events into the ready queue and re-send windows whose result was lost.
        Other events (power samples) stay on the link."""
        deadline = time.monotonic() + timeout
        got = self._take_events()
        while not got and time.monotonic() < deadline:
            self._read(min(deadline, time.monotonic() + 0.05))  # answers matched, events queued
            got = self._take_events()
            self._redo_due()
        if not got and timeout == 0.0:
            self._read(time.monotonic())
            got = self._take_events()
        self._redo_due()
        return got

    def _read(self, deadline: float) -> None:
        if self._pipe_or_none is None:
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
        before = self._c.released + len(self._c.got)
        for frame in mine:
            self._on_event(frame)
        return self._c.released + len(self._c.got) > before

    def _on_event(self, frame) -> None:
        c = self._c
        if len(frame.payload) < 4:
            c.unexpected += 1
            return
        seq = int.from_bytes(frame.payload[:4], "little")
        if not c.released <= seq < c.submitted:
            if seq < c.released:
                c.duplicates += 1
            else:
                c.unexpected += 1  # not an outstanding window: never attach it to one
            return
        if seq in c.got:
            c.duplicates += 1
            return
        now = time.monotonic()
        c.gap = 0.8 * c.gap + 0.2 * min(1.0, now - max(c.last_event, c.last_accept))
        c.last_event = now
        if frame.status == Status.OK:
            res = P.parse_exact(P.StreamResultEvent, frame.payload, "stream result event")
            c.got[seq] = _result(seq, res.result)
        else:
            detail = P.parse_exact(P.StreamErrorEvent, frame.payload, "stream error event").detail
            c.got[seq] = WindowResult(seq=seq, status=frame.status, engine=self.engine, error=detail)
        c.gone.discard(seq)
        c.data.pop(seq, None)
        if seq not in c.redos:
            # windows sent once run in window order: an earlier one sent once and still owed
            # has lost its event on the link
            c.gone.update(i for i in range(c.released, seq) if i not in c.got and i not in c.redos)
        self._release()

    def _release(self) -> None:
        c = self._c
        while c.released in c.got:
            c.ready.append(c.got.pop(c.released))
            c.released += 1

    def _lose_unanswered(self, why: str) -> None:
        """The stream is over: what never got a result is lost (the board could not compute it)."""
        c = self._c
        for seq in range(c.released, c.submitted):
            if seq not in c.got:
                c.got[seq] = WindowResult(seq=seq, status=Status.OK, engine=self.engine, lost=True, error=why)
                c.lost += 1
        c.gone.clear()
        c.data.clear()
        self._release()
