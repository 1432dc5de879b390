"""`qtdeploy energy`: power-monitor logging in the field and reports.

`report` works on any log directory. `log` needs a board that answers POWER_STREAM; until the
firmware does, it asks the board (HELLO, then POWER_STREAM stop, which is harmless) and refuses
with the "not available yet" line rather than inventing samples.
"""

from __future__ import annotations

from typing import Any

import click

from qtdeploy.cli.options import json_option, not_available, port_options
from qtdeploy.cli.output import emit, stdout
from qtdeploy.errors import DeviceError, UsageError


@click.group("energy")
def command() -> None:
    """Log power per rail for hours or days; report energy per inference."""


@command.command("log")
@port_options
@click.option("--out", required=False, type=click.Path(file_okay=False), help="Log directory (resumed if it exists).")
@click.option("--duration", default=None, help="How long to log, e.g. 90s, 10m, 3d (default: until Ctrl-C).")
@click.option("--rate", type=int, default=None, help="Samples per second per rail.")
@click.option("--rails", default=None, help="Comma-separated rail names (default: all in the board file).")
def log(port: str | None, baud: int | None, trace: bool, out: str | None, duration: str | None,
        rate: int | None, rails: str | None) -> None:
    """Append power samples to a crash-safe log."""
    if out is None:
        raise UsageError("`qtdeploy energy log` needs --out DIR.", "Give the directory to log into (it is resumed if it exists).")
    parse_duration(duration)
    if not _board_streams_power(port, baud, trace):
        not_available("energy log", 7)


def _board_streams_power(port: str | None, baud: int | None, trace: bool) -> bool:
    """Whether the board executes POWER_STREAM: a stop request (harmless) answered OK, not
    UNSUPPORTED. Opening the board sends HELLO first, as every session does."""
    from qtdeploy._protocol import Command
    from qtdeploy.cli.options import open_board

    with open_board(port, baud, trace, None) as board:
        try:
            board.link.request(Command.POWER_STREAM, bytes(8))
        except DeviceError:
            return False
        return True


def parse_duration(text: str | None) -> float | None:
    """'90s', '10m', '3h', '2d' or plain seconds -> seconds."""
    if text is None:
        return None
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        if text[-1:] in units:
            return float(text[:-1]) * units[text[-1]]
        return float(text)
    except ValueError:
        raise UsageError(f"--duration {text!r} is not a duration.", "Write it as 90s, 10m, 3h or 2d.") from None


@command.command("report")
@click.argument("logdir", required=True, type=click.Path(file_okay=False))
@click.option("--png", type=click.Path(dir_okay=False), default=None, help="Write the plots to this PNG.")
@json_option
def report(logdir: str, png: str | None, as_json: bool) -> None:
    """Mean power and energy per rail, energy per inference, plots."""
    from qtdeploy.energy.report import report as make_report

    emit(make_report(logdir, png=png), as_json, _human)


def _human(r: dict[str, Any]) -> None:
    from rich.table import Table

    stdout.print(f"[bold]{r['origin'].upper()}[/] energy log {r['log']} (board {r['board']}): "
                 f"{r['samples']} samples over {r['duration_s']:.1f} s, "
                 f"{r['gaps']['count']} gap(s) totalling {r['gaps']['seconds']:.1f} s", highlight=False)
    table = Table("rail", "mean mW", "energy mJ", "mean V", "mean mA")
    for name, v in r["rails"].items():
        if v["mean_mw"] is None:
            table.add_row(name, "-", "-", "-", "-")
        else:
            table.add_row(name, f"{v['mean_mw']:.3f}", f"{v['energy_mj']:.3f}", f"{v['mean_v']:.3f}", f"{v['mean_ma']:.3f}")
    stdout.print(table)
    inf = r["inferences"]
    if inf["count"]:
        from qtdeploy.energy.plots import energy_unit

        k, unit = energy_unit(inf["mean_mj"])
        stdout.print(f"energy per inference ({inf['source']}, sum of {', '.join(r['total_rails'])}): "
                     f"mean {inf['mean_mj'] * k:.4g} {unit}, median {inf['median_mj'] * k:.4g} {unit}, "
                     f"min {inf['min_mj'] * k:.4g}, max {inf['max_mj'] * k:.4g} {unit} over {inf['count']} inferences",
                     highlight=False)
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
