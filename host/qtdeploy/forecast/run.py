"""The forecast loop: source -> windows -> board -> rows, as a library call (the CLI is thin).

::

    with Board.open("sim") as b:
        summary = forecast(b, "synthetic:seed=1", engine=Engine.FPGA, count=200, check=True,
                           on_row=print)

The model's shape and statistics come from the blob in the board's active slot (read back over
the link and checked against the slot's SHA-256), so the host always windows for the model the
board actually runs. A replayed or generated source streams several windows in flight
(:class:`qtdeploy.ops.stream.WindowStream`); a live one (a sensor, or ``rate``) sends each window
as it completes. With ``energy`` every window runs alone (POWER_MARK, INFER, POWER_ENERGY): with
several in flight the board's energy cannot be split between them.

Rows carry the window number the host gave the window; a result is matched by the stream's own
window number, never by arrival order, and a result the link lost or a board reset swallowed is
a row with status ``lost``, never someone else's prediction.
"""

from __future__ import annotations

import hashlib
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from qtdeploy._protocol import Command, Engine, Slot, Status
from qtdeploy.errors import CompatibilityError, DeviceError, LinkError, QtdeployError
from qtdeploy.forecast.check import Checker, PredictionMismatch
from qtdeploy.forecast.sources import Columns, Reading, SensorError, Source, open_source
from qtdeploy.forecast.window import Scaling, Window, Windower
from qtdeploy.formats import blob as blob_fmt
from qtdeploy.link import payloads as P
from qtdeploy.link.transport import PortLost
from qtdeploy.model.intmodel import IntModel, from_blob
from qtdeploy.ops import power
from qtdeploy.ops.info import slot_info
from qtdeploy.ops.session import Board
from qtdeploy.ops.stream import StreamEnded, WindowResult, WindowStream, infer, load_model

READ_CHUNK = 256  # small enough that a noisy line still gets a chunk through in a few tries
RESTART_WAIT_S = 5.0


@dataclass
class Row:
    """One window's line in --out and the live view."""

    seq: int
    stamp: str
    status: str  # ok | lost | failed
    y_int: list[int] | None = None
    prediction: list[float] | None = None
    truth: list[float | None] = field(default_factory=list)
    latency_ms: float | None = None  # host: window ready -> result received
    board_us: int | None = None  # board: the engine's time for it (MCU clock)
    energy_mj: float | None = None
    error: str = ""
    reading: tuple[float, ...] = ()


def read_active_blob(board: Board) -> tuple[IntModel, bytes]:
    """The blob in the board's active slot, read with FLASH_READ and checked against SLOT_INFO's hash."""
    slots = slot_info(board)
    if slots.active_slot >= len(slots.slots):
        raise CompatibilityError(
            "The board has no active image, so there is no model to forecast with.",
            "Flash one: `qtdeploy flash --bitstream B --blob MODEL.qtb`.",
        )
    rec = slots.slots[slots.active_slot]
    if rec.blob_length == 0:
        raise CompatibilityError(
            f"Slot {Slot(slots.active_slot).name} holds no model blob.",
            "Flash a bitstream together with --blob MODEL.qtb.",
        )
    base = board.slot_regions(Slot(slots.active_slot)).blob_offset
    chunk = max(64, min(READ_CHUNK, board.caps.max_payload - 16))
    reads = [
        (
            Command.FLASH_READ,
            P.FlashRead.build(dict(offset=base + off, length=min(chunk, rec.blob_length - off))),
        )
        for off in range(0, rec.blob_length, chunk)
    ]
    data = b"".join(
        P.parse_exact(P.FlashReadResponse, ans, "FLASH_READ").data for ans in board.link.request_many(reads)
    )  # pipelined: the wire, not round trips
    if hashlib.sha256(data).digest() != bytes(rec.blob_sha256):
        raise LinkError(
            "The model blob read back from the board does not match the slot's SHA-256.",
            "Run `qtdeploy info`; re-flash the image if its hash is wrong.",
        )
    return from_blob(blob_fmt.unpack(data)), data


@dataclass
class Plan:
    """What one forecast run streams, checked before anything is sent."""

    im: IntModel
    scaling: Scaling
    source: Source


def prepare(board: Board, spec: str, *, rate: float | None = None) -> Plan:
    """Read the blob and open the source; a source that cannot feed this model fails here."""
    im, _ = read_active_blob(board)
    scaling = Scaling.from_model(im)
    columns = Columns(scaling.features, scaling.target)
    return Plan(im, scaling, open_source(spec, columns, norm=scaling.norm, rate=rate))


class _Windows:
    """Windows from the source, with truths recorded as later readings arrive."""

    def __init__(self, plan: Plan, count: int | None, on_reading: Callable[[Reading], None]) -> None:
        cfg = plan.im.config
        self.w = Windower(plan.scaling, cfg.window, cfg.horizon)
        self.count, self.horizon, self.on_reading = count, cfg.horizon, on_reading
        self.truth: dict[int, list[float | None]] = {}
        self.it = iter(plan.source)
        self.done = False

    def settled(self, seq: int) -> bool:
        """All of window ``seq``'s truths have been read (or will never be)."""
        return self.done or self.w.readings >= seq + self.w.window + self.horizon

    def next(self) -> Window | None:
        while not self.done:
            limit = self.count is not None and self.w.seq >= self.count
            if limit and self.w.readings >= self.w.seq - 1 + self.w.window + self.horizon:
                self.done = True  # the last window's truths are in
                return None
            r = next(self.it, None)
            if r is None:
                self.done = True
                return None
            self.on_reading(r)
            if limit:
                self.w.readings += 1  # read for the truths only
                win = None
            else:
                win = self.w.push(r)
            for k, h, v in self.w.truths(r, self.w.seq):
                self.truth.setdefault(k, [None] * self.horizon)[h] = v
            if win is not None:
                return win
        return None


class ForecastRun:
    """One forecast run: the source's windows through the board, rows out in window order.

    Why a class: the loop keeps a handful of running tallies (rows held for their truths, the
    windows on the board, latencies, energies) that every step updates; as attributes of one
    object they are visible to each method instead of being closed over by nested functions.
    The stream is owned here and ended only through :meth:`WindowStream.end`."""

    def __init__(
        self,
        board: Board,
        plan: Plan,
        *,
        engine: Engine,
        count: int | None,
        check: bool,
        energy: bool,
        on_row: Callable[[Row], None],
        on_reading: Callable[[Reading], None],
        max_in_flight: int,
        restarts: int,
        on_measure: Callable[[int, power.Measurement], None] | None,
        on_restart: Callable[[], None] | None,
    ) -> None:
        self.board, self.plan, self.engine = board, plan, engine
        self.energy, self.on_row, self.max_in_flight = energy, on_row, max_in_flight
        self.max_restarts, self.on_measure, self.on_restart = restarts, on_measure, on_restart
        self.cfg = plan.im.config
        self.wins = _Windows(plan, count, on_reading)
        self.live = plan.source.live
        # live: each row checked and shown as it arrives; replay: the reference runs in batches
        self.checker = (
            Checker(plan.im, engine.name.lower(), batch=1 if self.live or energy else 256) if check else None
        )
        self.rows_done = 0
        self.restarts = 0
        self.granted = 0  # the board's stream queue (windows in flight)
        self.t_first: float | None = None
        self.t_last: float | None = None
        self.outstanding: dict[int, tuple[Window, float]] = {}  # stream seq -> window, time sent
        self.unsent: list[Window] = []  # taken from the source, not (or no longer) on the board
        self.held: dict[int, Row] = {}  # results waiting for their truths (and the check batch)
        self.pending_rows: deque[Row] = deque()
        self.energy_mj: list[float] = []
        self.latencies: list[float] = []
        self.board_us: list[int] = []
        self.errors: list[float] = []
        self.counts = {"ok": 0, "lost": 0, "failed": 0}
        self.resent = 0  # windows sent again (result event lost, or the stream broke off)
        self.stream: WindowStream | None = None

    # ---- the run ---------------------------------------------------------------------------

    def run(self) -> dict:
        model = load_model(self.board, self.engine)
        cfg = self.cfg
        want = cfg.window * cfg.features
        if model.in_count != want or model.out_count != cfg.horizon:
            raise CompatibilityError(
                f"The board's loaded model takes {model.in_count} values and gives {model.out_count}; "
                f"its blob says {cfg.window}x{cfg.features} and horizon {cfg.horizon}.",
                "Re-flash the image (`qtdeploy flash`) so bitstream and blob agree.",
            )
        try:
            if self.energy:
                self._one_at_a_time()
            else:
                self._streamed(model)
        except PredictionMismatch:
            if self.checker is not None:
                self.checker.close()
            raise  # rows from the mismatch's batch on are not written
        except QtdeployError:
            try:
                self._flush(True)  # the rows the board answered before the error still reach --out
            finally:
                if self.checker is not None:
                    self.checker.close()
            raise
        finally:
            self.plan.source.close()
        try:
            self._flush(True)
        finally:
            if self.checker is not None:
                self.checker.close()
        return self._summary()

    def end_stream(self) -> None:
        """End the window stream on the host (the link broke or the board was reset)."""
        if self.stream is not None:
            self.stream.end()

    # ---- rows ------------------------------------------------------------------------------

    def _finish(self, row: Row) -> None:
        self.counts[row.status] += 1
        if row.latency_ms is not None:
            self.latencies.append(row.latency_ms)
        if row.board_us is not None:
            self.board_us.append(row.board_us)
        if row.energy_mj is not None:
            self.energy_mj.append(row.energy_mj)
        self.held[row.seq] = row
        self._flush(False)

    def _flush(self, final: bool) -> None:
        """Rows leave in window order, once their truths are in and (--check) their batch is verified."""
        wins, checker = self.wins, self.checker
        while self.rows_done in self.held and (final or wins.settled(self.rows_done)):
            row = self.held.pop(self.rows_done)
            row.truth = wins.truth.pop(row.seq, [None] * self.cfg.horizon)
            self.pending_rows.append(row)
            self.rows_done += 1
        if checker is not None:
            checker.finish() if final else checker.collect(wait=False)
        while self.pending_rows and (
            checker is None or final or self.pending_rows[0].seq < checker.verified_upto
        ):
            row = self.pending_rows.popleft()
            if row.prediction is not None:
                self.errors.extend(p - t for p, t in zip(row.prediction, row.truth) if t is not None)
            self.on_row(row)

    def _result(self, win: Window, t_sent: float, r: WindowResult, e_mj: float | None = None) -> None:
        now = time.monotonic()
        self.t_first = self.t_first or t_sent
        self.t_last = now
        if r.lost:
            self._finish(Row(win.seq, win.stamp, "lost", error=r.error or "result lost", reading=win.last))
            return
        if not r.ok:
            self._finish(
                Row(win.seq, win.stamp, "failed", error=r.error or f"status {r.status}", reading=win.last)
            )
            return
        y = np.asarray(r.outputs, dtype=np.int64)
        if self.checker is not None:
            self.checker.add(win.seq, win.x, y)
        self._finish(
            Row(
                win.seq,
                win.stamp,
                "ok",
                y_int=y.tolist(),
                prediction=self.plan.scaling.denormalise(y, win.last, win.scale, win.anchor).tolist(),
                latency_ms=(now - t_sent) * 1e3,
                board_us=r.t_end_us - r.t_start_us,
                energy_mj=e_mj,
                reading=win.last,
            )
        )

    # ---- restarts --------------------------------------------------------------------------

    def _restart(self, err: Exception) -> None:
        """After a LinkError: reopen the board, load the model again and go on.

        Windows on the board when it broke off are lost if the board was reset (its stream
        ended: a reset, another session's HELLO, a power cut that took the port), since their
        results are gone with it. If only the link failed and the board answers HELLO on the same
        port, they go out again in the new stream: the board could compute them, so they are not
        reported lost."""
        self.end_stream()
        on_board = [w for _, (w, _t) in sorted(self.outstanding.items())]
        self.outstanding.clear()
        if self.restarts >= self.max_restarts:
            self._lose(on_board + self.unsent, f"the run ended on a link error ({_problem(err)})")
            raise err  # the rows so far, these marked lost, still reach --out
        self.restarts += 1
        deadline = time.monotonic() + RESTART_WAIT_S
        # the board was reset: its stream ended, the model it had is gone, or the port went away
        reset = isinstance(err, (StreamEnded, PortLost)) or getattr(err, "status", None) == Status.NO_MODEL
        while True:
            try:
                try:
                    self.board.refresh()
                except PortLost:
                    reset = True
                    self.board.reconnect()  # the port itself went away (power cycle, USB re-enumeration)
                load_model(self.board, self.engine)
                if self.on_restart is not None:
                    self.on_restart()
                break
            except (LinkError, DeviceError):
                if time.monotonic() > deadline:
                    self._lose(on_board + self.unsent, f"the board did not answer again ({_problem(err)})")
                    raise err from None
                time.sleep(0.2)
        if reset:
            # the batch being sent met the reset too
            self._lose(on_board + self.unsent, f"board reset or stream ended ({_problem(err)})")
        else:
            self.resent += len(on_board)
            self.unsent[:0] = on_board

    def _lose(self, windows: list[Window], why: str) -> None:
        """Rows for windows whose results went with the board (or the run ended before them)."""
        for win in windows:
            self._finish(Row(win.seq, win.stamp, "lost", error=why, reading=win.last))
        gone = {id(w) for w in windows}  # by identity: windows hold arrays, == is elementwise
        self.unsent = [w for w in self.unsent if id(w) not in gone]

    # ---- the two loops ---------------------------------------------------------------------

    def _deliver(self, results: list[WindowResult]) -> None:
        for r in results:
            item = self.outstanding.pop(r.seq, None)
            if item is not None:  # a result for a window of this stream, by its number
                self._result(item[0], item[1], r)

    def _streamed(self, model) -> None:
        """Windows through a WindowStream: one per frame when live, else frames of ``stream.batch``."""
        board, engine = self.board, self.engine
        stream = self.stream = WindowStream(board, engine, model=model, max_in_flight=self.max_in_flight)
        while True:
            try:
                if not stream.running:
                    stream = self.stream = WindowStream(
                        board, engine, model=model, max_in_flight=self.max_in_flight
                    )
                    self.granted = stream.start()
                target = 1 if self.live else stream.batch
                while len(self.unsent) < target:
                    w = self.wins.next()
                    if w is None:
                        break
                    self.unsent.append(w)
                if not self.unsent:
                    self._deliver(list(stream.results()))
                    stream.stop()
                    self._deliver(stream.poll(0.0))  # windows whose result never came
                    self.resent += stream.resent_windows
                    return
                t = time.monotonic()
                batch = self.unsent[:]
                seqs = stream.submit_many([w.x for w in batch], wait=self.live)
                for s, w in zip(seqs, batch):
                    self.outstanding[s] = (w, t)
                self.unsent = self.unsent[len(batch) :]
                self._deliver(stream.poll(0.0))
                if self.live:
                    self._deliver(stream.poll(0.5))
            except SensorError:
                if stream.running:  # the sensor went away: answer what was sent, leave the board idle
                    self._deliver(list(stream.results()))
                    stream.stop()
                    self._deliver(stream.poll(0.0))
                raise
            except LinkError as err:
                self.resent += stream.resent_windows
                self._restart(err)

    def _one_at_a_time(self) -> None:
        """--energy: POWER_MARK, INFER, POWER_ENERGY per window, so each window's energy is its own."""
        board, engine = self.board, self.engine
        while True:
            w = self.unsent.pop(0) if self.unsent else self.wins.next()
            if w is None:
                return
            t = time.monotonic()
            try:
                with power.measure(board) as m:  # SensorError cannot happen in here: the window is complete
                    r = infer(board, w.x, engine)
                self._result(
                    w,
                    t,
                    WindowResult(
                        seq=w.seq,
                        outputs=r.outputs,
                        engine=r.engine,
                        accel_cycles=r.accel_cycles,
                        t_start_us=r.t_start_us,
                        t_end_us=r.t_end_us,
                    ),
                    m.energy_mj,
                )
                if self.on_measure is not None:
                    self.on_measure(w.seq, m)
            except LinkError as err:
                self.unsent.insert(0, w)
                self._restart(err)
            except DeviceError as err:
                if getattr(err, "status", None) is None:
                    raise
                if err.status == Status.NO_MODEL:  # it had one a window ago: the board reset between windows
                    self.unsent.insert(0, w)
                    self._restart(err)
                    continue
                self._result(
                    w, t, WindowResult(seq=w.seq, status=err.status or Status.INTERNAL, error=err.problem)
                )

    # ---- summary ---------------------------------------------------------------------------

    def _summary(self) -> dict:
        plan, board = self.plan, self.board
        t_first, t_last = self.t_first, self.t_last
        elapsed = (t_last - t_first) if t_first and t_last and t_last > t_first else 0.0
        origin = board.origin
        done = sum(self.counts.values())
        return {
            "engine": self.engine.name.lower(),
            "source": plan.source.name,
            "board": board.caps.board_id,
            "origin": origin,
            "windows": done,
            **self.counts,
            "checked": self.checker.checked if self.checker else None,
            "restarts": self.restarts,
            "resent": self.resent,
            "in_flight": self.granted or 1,
            "readings": plan.source.stats.readings,
            "skipped_lines": plan.source.stats.skipped,
            "last_skipped": plan.source.stats.last_error or None,
            "windows_per_s": round(done / elapsed, 2) if elapsed else None,
            "latency_ms": _pct(self.latencies),
            "board_time_us": _pct(self.board_us),
            "rmse": float(np.sqrt(np.mean(np.square(self.errors)))) if self.errors else None,
            "scored": len(self.errors),
            "target": plan.scaling.target,
            "units_from": "blob metadata (norm, input_scale, output_scale)",
            "energy_mj": (
                {
                    "mean": float(np.mean(self.energy_mj)),
                    "total": float(np.sum(self.energy_mj)),
                    "per": "window: the whole board's energy over the request's span (POWER_MARK..POWER_ENERGY "
                    "around INFER, host round trip included)",
                    "origin": origin,
                }
                if self.energy_mj
                else None
            ),
            "mode": "one window at a time (--energy)"
            if self.energy
            else ("live" if self.live else "streamed"),
        }


def forecast(
    board: Board,
    plan: Plan,
    *,
    engine: Engine = Engine.FPGA,
    count: int | None = None,
    check: bool = False,
    energy: bool = False,
    on_row: Callable[[Row], None] = lambda r: None,
    on_reading: Callable[[Reading], None] = lambda r: None,
    max_in_flight: int = 64,
    restarts: int = 2,
    on_measure: Callable[[int, power.Measurement], None] | None = None,
    on_restart: Callable[[], None] | None = None,
) -> dict:
    """Stream ``plan.source`` through the board; ``on_row`` gets every window's row in window order.

    Raises PredictionMismatch (with ``check``) on the first difference from the host reference;
    LinkError when the board stops answering and ``restarts`` are used up, or the sensor vanishes.
    Rows produced before an error have been handed to ``on_row``. With ``energy``, ``on_measure``
    gets (window seq, the board's measurement) for each inference (an energy log's events);
    ``on_restart`` runs once the board answers again after a reset (its other streams ended)."""
    return ForecastRun(
        board,
        plan,
        engine=engine,
        count=count,
        check=check,
        energy=energy,
        on_row=on_row,
        on_reading=on_reading,
        max_in_flight=max_in_flight,
        restarts=restarts,
        on_measure=on_measure,
        on_restart=on_restart,
    ).run()


def _problem(err: Exception) -> str:
    return str(getattr(err, "problem", err))


def _pct(values: Sequence[float]) -> dict | None:
    if not values:
        return None
    a = np.asarray(values, dtype=np.float64)
    return {
        "p50": round(float(np.percentile(a, 50)), 3),
        "p99": round(float(np.percentile(a, 99)), 3),
        "max": round(float(a.max()), 3),
    }
