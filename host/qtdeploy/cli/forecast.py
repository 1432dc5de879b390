"""`qtdeploy forecast`: stream sensor windows to the board, predictions back, live."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import click

from qtdeploy.cli.options import board_option, json_option, open_board, port_options
from qtdeploy.cli.output import emit, stderr, stdout
from qtdeploy.errors import UsageError

# Power samples per second in a forecast's --energy-log: a run lasts hours, not the days of
# `energy log` (2/s), and 10/s keeps what a SIGKILL can cost (one sample period plus the 0.5 s
# commit interval) under a second; ~200 MB a day for 8 rails.
ENERGY_LOG_RATE_HZ = 10


@click.command("forecast")
@port_options
@board_option
@click.option(
    "--source",
    required=True,
    metavar="SRC",
    help="csv:FILE (replayed), serial:DEV[?baud=N] (a sensor printing lines: protocol/sensor-lines.md) "
    "or synthetic:[seed=N,period=P] (a generator for demos).",
)
@click.option(
    "--engine",
    type=click.Choice(["fpga", "mcu"]),
    default="fpga",
    show_default=True,
    help="The accelerator or the MCU's integer kernel.",
)
@click.option(
    "--count", type=click.IntRange(min=1), default=None, help="Stop after N windows (default: source end)."
)
@click.option(
    "--rate",
    type=float,
    default=None,
    help="Readings per second for csv:/synthetic: (default: as fast as the link allows).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write every window's timestamp, seq, prediction and truth (and energy) to this CSV.",
)
@click.option(
    "--check",
    is_flag=True,
    help="Recompute every prediction with the host integer reference; "
    "stop with an error on the first mismatch.",
)
@click.option(
    "--energy",
    is_flag=True,
    help="Attach each inference's energy (POWER_MARK..POWER_ENERGY) to its row. "
    "Windows then run one at a time (INFER), since the board's energy cannot be split between "
    "windows in flight together.",
)
@click.option(
    "--energy-log",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    metavar="DIR",
    help="With --energy: also log power samples and each inference into DIR (the `energy log` "
    "format; `qtdeploy energy report DIR` reads it).",
)
@json_option
def command(
    port, baud, trace, board, source, engine, count, rate, out, check, energy, energy_log, as_json
) -> None:
    """Forecast live on the board from a CSV, an attached sensor or a generator.

    The model's window, features and normalisation come from the blob in the board's active
    slot. Timings and energy from the virtual board are simulated.
    """
    from qtdeploy._protocol import Engine
    from qtdeploy.cli.live import LiveView
    from qtdeploy.energy.recorder import SessionRecorder
    from qtdeploy.forecast.output import RowWriter
    from qtdeploy.forecast.run import forecast, prepare

    if energy_log is not None and not energy:
        raise UsageError("--energy-log needs --energy.", "Add --energy (windows then run one at a time).")
    with open_board(port, baud, trace, board) as b, ExitStack() as stack:
        plan = prepare(b, source, rate=rate)
        recorder = (
            stack.enter_context(SessionRecorder(b, energy_log, rate_hz=ENERGY_LOG_RATE_HZ))
            if energy_log is not None
            else None
        )
        origin = b.origin
        target = plan.scaling.target or "y"
        writer = (
            RowWriter(out, target=target, horizon=plan.im.config.horizon, energy=energy, origin=origin)
            if out
            else None
        )
        view = LiveView(
            stderr,
            features=plan.scaling.features,
            target=target,
            origin=origin,
            engine=engine,
            total=count,
            enabled=not as_json,
        )

        def on_row(row) -> None:
            view.on_row(row)
            if writer is not None:
                writer.write(row)

        def on_reading(r) -> None:
            view.on_reading(r)
            if recorder is not None:
                recorder.pump()  # samples in, a chunk committed every 0.5 s

        def on_measure(seq: int, m) -> None:
            assert recorder is not None  # forecast() gets on_measure only with a recorder (below)
            recorder.inference(m, detail=f"window {seq}")
            recorder.pump()

        try:
            with view:
                summary = forecast(
                    b,
                    plan,
                    engine=Engine[engine.upper()],
                    count=count,
                    check=check,
                    energy=energy,
                    on_row=on_row,
                    on_reading=on_reading,
                    on_measure=on_measure if recorder is not None else None,
                    on_restart=recorder.after_reset if recorder is not None else None,
                )
        finally:
            if writer is not None:
                writer.close()
        if summary.get("energy_mj"):  # issue 15: what the inference itself adds, from `energy bench`
            summary["energy_mj"]["bench"] = _bench_beside(b, Engine[engine.upper()], recorder)
    summary["out"] = str(out) if out else None
    summary["energy_log"] = str(energy_log) if energy_log else None
    emit(summary, as_json, _human)


def _bench_beside(b, engine, recorder) -> dict | None:
    """The cached `energy bench` increment of the board's model on ``engine`` (None if never run);
    also written into the energy log, so `energy report` prints it beside the per-request figure."""
    import time

    from qtdeploy.energy.bench import bench_for_board
    from qtdeploy.energy.logfile import Event

    bench = bench_for_board(b, engine)
    if bench is not None and bench["uj"] is not None and recorder is not None:
        recorder.writer.add_event(
            Event(0.0, time.time(), "bench", energy_mj=bench["uj"] / 1e3, detail=bench["label"])
        )
    return bench


def _human(s: dict) -> None:
    sim = f" ({s['origin']})"
    stdout.print(
        f"{s['windows']} windows on the {s['engine']} engine from {s['source']}: {s['ok']} ok, "
        f"{s['lost']} lost, {s['failed']} failed",
        highlight=False,
    )
    if s["checked"] is not None:
        stdout.print(f"check: {s['checked']} predictions equal the host integer reference", highlight=False)
    if s["windows_per_s"]:
        lat = s["latency_ms"] or {}
        stdout.print(
            f"{s['windows_per_s']:.1f} windows/s, latency p50 {lat.get('p50')} ms p99 {lat.get('p99')} ms{sim}",
            highlight=False,
        )
    if s["rmse"] is not None:
        stdout.print(f"RMSE {s['rmse']:.3f} {s['target']} over {s['scored']} scored steps", highlight=False)
    if s["energy_mj"]:
        e = s["energy_mj"]
        stdout.print(
            f"board energy over each request's span (POWER_MARK..POWER_ENERGY, host round trip included): "
            f"{e['mean']:.4f} mJ per window, {e['total']:.3f} mJ total{sim}",
            highlight=False,
        )
        bench = e.get("bench")
        if bench is None:
            stdout.print(
                "  the inference itself: no on-board bench for this model yet "
                "(`qtdeploy energy bench --count 1000`)",
                highlight=False,
            )
        elif bench["uj"] is None:
            stdout.print(f"  the inference itself (on-board bench): {bench['label']}", highlight=False)
        else:
            stdout.print(
                f"  the inference itself (on-board bench, whole board above idle): {bench['uj']:.4g} uJ "
                f"({bench['label']})",
                highlight=False,
            )
    if s["skipped_lines"]:
        stdout.print(
            f"[yellow]skipped {s['skipped_lines']} malformed line(s)[/]; last: {s['last_skipped']}",
            highlight=False,
        )
    if s["restarts"]:
        stdout.print(
            f"[yellow]the stream restarted {s['restarts']} time(s)[/] (board reset)", highlight=False
        )
    if s["out"]:
        stdout.print(f"rows written to {s['out']}", highlight=False)
    if s["energy_log"]:
        stdout.print(
            f"energy log in {s['energy_log']} (`qtdeploy energy report {s['energy_log']}`)", highlight=False
        )
