"""`qtdeploy energy`: power-monitor logging in the field and reports.

`log` streams POWER_STREAM samples from a board (qtdeploy.energy.board_source) into a crash-safe
log (qtdeploy.energy.logger); `report` works on any log directory.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from qtdeploy.cli import energy_fleet
from qtdeploy.cli.options import json_option, parse_duration, port_options
from qtdeploy.cli.output import emit, stderr, stdout
from qtdeploy.energy.board_source import DEFAULT_RATE_HZ
from qtdeploy.errors import LinkError, UsageError


@click.group("energy")
def command() -> None:
    """Log power per rail for hours or days; report energy per inference."""


from qtdeploy.cli import energy_bench  # noqa: E402  (issue 15: bench and plan live in their own module)

command.add_command(energy_bench.bench)
command.add_command(energy_bench.plan)


@command.command("log")
@port_options
@click.option(
    "--board", "board_file", default=None, help="Board file name (default: what the board reports)."
)
@click.option(
    "--out", required=False, type=click.Path(file_okay=False), help="Log directory (resumed if it exists)."
)
@click.option("--duration", default=None, help="How long to log, e.g. 90s, 10m, 3d (default: until Ctrl-C).")
@click.option(
    "--rate",
    type=int,
    default=DEFAULT_RATE_HZ,
    show_default=True,
    help="Samples per second (each the mean power since the previous one, so no energy is missed "
    "at a low rate). 8 rails at 2/s is about 57 MB a day (35 MB of samples, 22 MB of checksummed manifest); at 10/s about 200 MB.",
)
@click.option("--rails", default=None, help="Comma-separated rail names (default: all in the board file).")
@energy_fleet.push_options
@json_option
def log(
    port: str | None,
    baud: int | None,
    trace: bool,
    board_file: str | None,
    out: str | None,
    duration: str | None,
    rate: int,
    rails: str | None,
    push_url: str | None,
    push_as: str | None,
    as_json: bool,
) -> None:
    """Append power samples to a crash-safe log; waits for a board that goes away."""
    from qtdeploy.cli.options import setup_trace
    from qtdeploy.energy.board_source import BoardSource
    from qtdeploy.energy.logger import SourceLost, run_logger

    if out is None:
        raise UsageError(
            "`qtdeploy energy log` needs --out DIR.",
            "Give the directory to log into (it is resumed if it exists).",
        )
    seconds = parse_duration(duration)
    if not 1 <= rate <= 1024:
        raise UsageError(
            f"--rate {rate} is outside 1..1024 samples per second.", "Use e.g. --rate 2 for a field log."
        )
    setup_trace(trace)
    wanted = tuple(r.strip() for r in rails.split(",") if r.strip()) if rails else None
    source = BoardSource(port, baud=baud, board_file=board_file, rate_hz=rate, rails=wanted)
    energy_fleet.check_push(push_url)  # a refused login fails before the board is touched
    try:
        source.open()  # a wrong port or rail fails now, before a log directory exists
    except SourceLost as err:
        raise LinkError(
            f"no board to log from: {err}", "Check --port (or --port sim for the virtual board)."
        ) from None
    stopping: list[int] = []
    old = {sig: signal.signal(sig, lambda *_: stopping.append(1)) for sig in (signal.SIGINT, signal.SIGTERM)}
    pusher = None
    try:
        pusher = energy_fleet.start_push(push_url, out, push_as)
        with _live(seconds, not as_json) as progress:
            stats = run_logger(
                source,
                out,
                duration_s=seconds,
                total_rails=source.total_rails,
                stop=lambda: bool(stopping),
                progress=progress,
            )
    finally:
        source.close()  # also when the log cannot be opened (another log's rails, a full disk)
        pushed = energy_fleet.finish_push(pusher)
        for sig, handler in old.items():
            signal.signal(sig, handler)
    result = {
        "log": out,
        "board": source.board,
        "origin": source.origin,
        "rails": list(source.rails),
        "rate_hz": source.rate_hz,
        "samples": stats.samples,
        "seconds": round(stats.seconds, 3),
        "gaps": stats.gaps,
        "gap_seconds": round(stats.gap_s, 3),
        "samples_lost_on_link": source.lost_samples,
    } | pushed
    emit(result, as_json, _human_log)


@contextmanager
def _live(seconds: float | None, enabled: bool) -> Iterator[Callable[[Any], None] | None]:
    """A progress line on stderr: time logged (of --duration, if given), samples, gaps."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=stderr) as bar:
        task = bar.add_task("logging", total=seconds)
        yield lambda st: bar.update(
            task, completed=st.seconds, description=f"logging: {st.samples} samples, {st.gaps} gap(s)"
        )


def _human_log(r: dict[str, Any]) -> None:
    stdout.print(
        f"[bold]{r['origin'].upper()}[/] energy log {r['log']} (board {r['board']}): {r['samples']} samples "
        f"of {len(r['rails'])} rails at {r['rate_hz']}/s over {r['seconds']:.1f} s, {r['gaps']} gap(s) "
        f"totalling {r['gap_seconds']:.1f} s",
        highlight=False,
    )
    if "push" in r:
        energy_fleet.human_push_summary(r["push"])


@command.command("report")
@click.argument("logdir", required=False, type=click.Path(file_okay=False))
@energy_fleet.report_options
@click.option("--png", type=click.Path(dir_okay=False), default=None, help="Write the plots to this PNG.")
@json_option
def report(
    logdir: str | None,
    from_url: str | None,
    fleet_board: str | None,
    since: str | None,
    png: str | None,
    as_json: bool,
) -> None:
    """Mean power and energy per rail, energy per inference, plots (of a LOGDIR or a fleet database)."""
    from qtdeploy.energy.report import report as make_report

    if energy_fleet.fleet_report_cmd(logdir, from_url, fleet_board, since, png, as_json):
        return
    if logdir is None:
        raise UsageError("`qtdeploy energy report` needs a LOGDIR or --from URL.", "Give the log directory.")
    emit(make_report(logdir, png=png), as_json, _human)


def _human(r: dict[str, Any]) -> None:
    from rich.table import Table

    stdout.print(
        f"[bold]{r['origin'].upper()}[/] energy log {r['log']} (board {r['board']}): "
        f"{r['samples']} samples over {r['duration_s']:.1f} s, "
        f"{r['gaps']['count']} gap(s) totalling {r['gaps']['seconds']:.1f} s "
        f"({r['gaps']['marked']} board disconnect(s), {len(r['gaps']['unmarked'])} between runs)",
        highlight=False,
    )
    table = Table("rail", "mean mW", "energy mJ", "mean V", "mean mA")
    for name, v in r["rails"].items():
        if v["mean_mw"] is None:
            table.add_row(name, "-", "-", "-", "-")
        else:
            table.add_row(
                name,
                f"{v['mean_mw']:.3f}",
                f"{v['energy_mj']:.3f}",
                f"{v['mean_v']:.3f}",
                f"{v['mean_ma']:.3f}",
            )
    stdout.print(table)
    inf = r["inferences"]
    if inf["count"]:
        from qtdeploy.energy.plots import energy_unit

        k, unit = energy_unit(inf["mean_mj"])
        stdout.print(
            f"energy per inference request ({inf['source']}, sum of {', '.join(r['total_rails'])}): "
            f"mean {inf['mean_mj'] * k:.4g} {unit}, median {inf['median_mj'] * k:.4g} {unit}, "
            f"min {inf['min_mj'] * k:.4g}, max {inf['max_mj'] * k:.4g} {unit} over {inf['count']} inferences",
            highlight=False,
        )
        if "above_baseline_mean_mj" in inf:
            k, unit = energy_unit(abs(inf["above_baseline_mean_mj"]) or inf["mean_mj"])
            stdout.print(
                f"  of which above the baseline ({inf['baseline_mw']:.1f} mW, the log's median, over each "
                f"measured span, median {inf['span_ms_median']:.2f} ms): mean "
                f"{inf['above_baseline_mean_mj'] * k:.3g} {unit}"
                + (
                    f" +- {inf['above_baseline_sem_mj'] * k:.2g} {unit} (standard error)"
                    if inf["above_baseline_sem_mj"]
                    else ""
                )
                + " (a modelled split: the excess of one inference is within the monitor's noise)",
                highlight=False,
            )
        if "bench_above_idle_mj" in inf:
            stdout.print(
                f"  the inference itself (on-board bench, whole board above idle): "
                f"{inf['bench_above_idle_mj'] * 1e3:.4g} uJ ({inf['bench_label']})",
                highlight=False,
            )
    else:
        stdout.print("no inference markers in this log")
    damaged = r["chunks"]["damaged"]
    style = "bold red" if damaged else "green"
    stdout.print(f"[{style}]{r['chunks']['ok']} chunks verified, {len(damaged)} damaged[/]", highlight=False)
    for d in damaged:
        stdout.print(f"  damaged: {d['where']}: {d['reason']}", highlight=False)
    if r["uncommitted_bytes"]:
        stdout.print(f"uncommitted tail (a crash mid-chunk, not part of the log): {r['uncommitted_bytes']}")
    if r.get("png"):
        stdout.print(f"plots: {r['png']}")


energy_fleet.register(command)  # energy push, energy migrate
