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
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from qtdeploy._protocol import Command, Engine, Slot, Status
from qtdeploy.errors import CompatibilityError, DeviceError, LinkError, QtdeployError
from qtdeploy.forecast.check import Checker, PredictionMismatch
from qtdeploy.forecast.sources import Columns, Reading, SensorError, Source, open_source
from qtdeploy.forecast.window import Scaling, Window, Windower
from qtdeploy.formats import blob as blob_fmt
from qtdeploy.link import payloads as P
from qtdeploy.model.intmodel import IntModel, from_blob
from qtdeploy.ops import power
from qtdeploy.ops.info import slot_info
from qtdeploy.ops.session import Board
from qtdeploy.ops.stream import WindowResult, WindowStream, infer, load_model

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


@dataclass
class _State:
    rows_done: int = 0
    restarts: int = 0
    granted: int = 0  # the board's stream queue (windows in flight)
    t_first: float | None = None
    t_last: float | None = None
    outstanding: dict[int, tuple[Window, float]] = field(default_factory=dict)  # stream seq -> window
    unsent: list[Window] = field(default_factory=list)  # taken from the source, never accepted by the board


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
    cfg = plan.im.config
    model = load_model(board, engine)
    want = cfg.window * cfg.features
    if model.in_count != want or model.out_count != cfg.horizon:
        raise CompatibilityError(
            f"The board's loaded model takes {model.in_count} values and gives {model.out_count}; "
            f"its blob says {cfg.window}x{cfg.features} and horizon {cfg.horizon}.",
            "Re-flash the image (`qtdeploy flash`) so bitstream and blob agree.",
        )
    wins = _Windows(plan, count, on_reading)
    live = plan.source.live
    # live: each row checked and shown as it arrives; replay: the reference runs in batches
    checker = Checker(plan.im, engine.name.lower(), batch=1 if live or energy else 256) if check else None
    st = _State()
    held: dict[int, Row] = {}  # results waiting for their truths (and for the check batch)
    pending_rows: deque[Row] = deque()
    energy_mj: list[float] = []
    latencies: list[float] = []
    board_us: list[int] = []
    errors: list[float] = []
    counts = {"ok": 0, "lost": 0, "failed": 0}

    def finish(row: Row) -> None:
        counts[row.status] += 1
        if row.latency_ms is not None:
            latencies.append(row.latency_ms)
        if row.board_us is not None:
            board_us.append(row.board_us)
        if row.energy_mj is not None:
            energy_mj.append(row.energy_mj)
        held[row.seq] = row
        flush(False)

    def flush(final: bool) -> None:
        # rows leave in window order, once their truths are in and (--check) their batch is verified
        while st.rows_done in held and (final or wins.settled(st.rows_done)):
            row = held.pop(st.rows_done)
            row.truth = wins.truth.pop(row.seq, [None] * cfg.horizon)
            pending_rows.append(row)
            st.rows_done += 1
        if checker is not None:
            checker.finish() if final else checker.collect(wait=False)
        while pending_rows and (checker is None or final or pending_rows[0].seq < checker.verified_upto):
            row = pending_rows.popleft()
            if row.prediction is not None:
                errors.extend(p - t for p, t in zip(row.prediction, row.truth) if t is not None)
            on_row(row)

    def result(win: Window, t_sent: float, r: WindowResult, e_mj: float | None = None) -> None:
        now = time.monotonic()
        st.t_first = st.t_first or t_sent
        st.t_last = now
        if r.lost:
            finish(Row(win.seq, win.stamp, "lost", error=r.error or "result lost", reading=win.last))
            return
        if not r.ok:
            finish(Row(win.seq, win.stamp, "failed", error=r.error or f"status {r.status}", reading=win.last))
            return
        y = np.asarray(r.outputs, dtype=np.int64)
        if checker is not None:
            checker.add(win.seq, win.x, y)
        finish(
            Row(
                win.seq,
                win.stamp,
                "ok",
                y_int=y.tolist(),
                prediction=plan.scaling.denormalise(y, win.last).tolist(),
                latency_ms=(now - t_sent) * 1e3,
                board_us=r.t_end_us - r.t_start_us,
                energy_mj=e_mj,
                reading=win.last,
            )
        )

    def lose_outstanding(why: str) -> None:
        for win in [w for _, (w, _t) in sorted(st.outstanding.items())] + st.unsent:
            finish(Row(win.seq, win.stamp, "lost", error=why, reading=win.last))
        st.outstanding.clear()
        st.unsent.clear()

    def restart(err: Exception) -> None:
        lose_outstanding(f"board reset or stream ended ({getattr(err, 'problem', err)})")
        if st.restarts >= restarts:
            raise err  # the rows so far, these marked lost, still reach --out
        st.restarts += 1
        deadline = time.monotonic() + RESTART_WAIT_S
        while True:
            try:
                try:
                    board.refresh()
                except LinkError:
                    board.reconnect()  # the port itself went away (power cycle, USB re-enumeration)
                load_model(board, engine)
                if on_restart is not None:
                    on_restart()
                return
            except (LinkError, DeviceError):
                if time.monotonic() > deadline:
                    raise err from None
                time.sleep(0.2)

    try:
        if energy:
            _one_at_a_time(board, engine, wins, st, result, restart, on_measure)
        else:
            _streamed(board, engine, model, wins, st, result, restart, live=live, max_in_flight=max_in_flight)
    except PredictionMismatch:
        if checker is not None:
            checker.close()
        raise  # rows from the mismatch's batch on are not written
    except QtdeployError:
        try:
            flush(True)  # the rows the board answered before the error still reach --out
        finally:
            if checker is not None:
                checker.close()
        raise
    finally:
        plan.source.close()
    try:
        flush(True)
    finally:
        if checker is not None:
            checker.close()
    elapsed = (st.t_last - st.t_first) if st.t_first and st.t_last and st.t_last > st.t_first else 0.0
    origin = "simulated" if board.virtual else "measured"
    done = sum(counts.values())
    return {
        "engine": engine.name.lower(),
        "source": plan.source.name,
        "board": board.caps.board_id,
        "origin": origin,
        "windows": done,
        **counts,
        "checked": checker.checked if checker else None,
        "restarts": st.restarts,
        "in_flight": st.granted or 1,
        "readings": plan.source.stats.readings,
        "skipped_lines": plan.source.stats.skipped,
        "last_skipped": plan.source.stats.last_error or None,
        "windows_per_s": round(done / elapsed, 2) if elapsed else None,
        "latency_ms": _pct(latencies),
        "board_time_us": _pct(board_us),
        "rmse": float(np.sqrt(np.mean(np.square(errors)))) if errors else None,
        "scored": len(errors),
        "target": plan.scaling.target,
        "units_from": "blob metadata (norm, input_scale, output_scale)",
        "energy_mj": (
            {
                "mean": float(np.mean(energy_mj)),
                "total": float(np.sum(energy_mj)),
                "per": "inference (POWER_MARK..POWER_ENERGY around INFER)",
                "origin": origin,
            }
            if energy_mj
            else None
        ),
        "mode": "one window at a time (--energy)" if energy else ("live" if live else "streamed"),
    }


def _pct(values: list[float]) -> dict | None:
    if not values:
        return None
    a = np.asarray(values, dtype=np.float64)
    return {
        "p50": round(float(np.percentile(a, 50)), 3),
        "p99": round(float(np.percentile(a, 99)), 3),
        "max": round(float(a.max()), 3),
    }


def _streamed(
    board: Board,
    engine: Engine,
    model,
    wins: _Windows,
    st: _State,
    result,
    restart,
    *,
    live: bool,
    max_in_flight: int,
) -> None:
    """Windows through a WindowStream: one per frame when live, else frames of ``stream.batch``."""
    stream = WindowStream(board, engine, model=model, max_in_flight=max_in_flight)

    def deliver(results: list[WindowResult]) -> None:
        for r in results:
            item = st.outstanding.pop(r.seq, None)
            if item is not None:  # a result for a window of this stream, by its number
                result(item[0], item[1], r)

    while True:
        try:
            if not stream.running:
                stream = WindowStream(board, engine, model=model, max_in_flight=max_in_flight)
                st.granted = stream.start()
            target = 1 if live else stream.batch
            while len(st.unsent) < target:
                w = wins.next()
                if w is None:
                    break
                st.unsent.append(w)
            if not st.unsent:
                deliver(list(stream.results()))
                stream.stop()
                deliver(stream.poll(0.0))  # windows whose result the link lost
                return
            t = time.monotonic()
            seqs = stream.submit_many([w.x for w in st.unsent], wait=live)
            for s, w in zip(seqs, st.unsent):
                st.outstanding[s] = (w, t)
            st.unsent.clear()
            deliver(stream.poll(0.0))
            if live:
                deliver(stream.poll(0.5))
        except SensorError:
            if stream.running:  # the sensor went away: answer what was sent, leave the board idle
                deliver(list(stream.results()))
                stream.stop()
                deliver(stream.poll(0.0))
            raise
        except LinkError as err:
            stream.running = False
            restart(err)


def _one_at_a_time(
    board: Board,
    engine: Engine,
    wins: _Windows,
    st: _State,
    result,
    restart,
    on_measure: Callable[[int, power.Measurement], None] | None,
) -> None:
    """--energy: POWER_MARK, INFER, POWER_ENERGY per window, so each window's energy is its own."""
    while True:
        w = wins.next()
        if w is None:
            return
        t = time.monotonic()
        try:
            with power.measure(board) as m:  # SensorError cannot happen in here: the window is complete
                r = infer(board, w.x, engine)
            result(
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
            if on_measure is not None:
                on_measure(w.seq, m)
        except LinkError as err:
            st.unsent.append(w)
            restart(err)
        except DeviceError as err:
            if getattr(err, "status", None) is None:
                raise
            if err.status == Status.NO_MODEL:  # it had one a window ago: the board reset between windows
                st.unsent.append(w)
                restart(err)
                continue
            result(w, t, WindowResult(seq=w.seq, status=err.status, error=err.problem))
