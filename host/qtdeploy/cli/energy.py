"""`qtdeploy energy`: power-monitor logging in the field and reports."""

import click

from qtdeploy.cli.options import json_option, not_available, port_options


@click.group("energy")
def command() -> None:
    """Log power per rail for hours or days; report energy per inference."""


@command.command("log")
@port_options
@click.option("--out", required=False, type=click.Path(file_okay=False), help="Log directory (resumed if it exists).")
@click.option("--duration", default=None, help="How long to log, e.g. 90s, 10m, 3d (default: until Ctrl-C).")
@click.option("--rate", type=int, default=None, help="Samples per second per rail.")
@click.option("--rails", default=None, help="Comma-separated rail names (default: all in the board file).")
def log(port, baud, trace, out, duration, rate, rails) -> None:
    """Append power samples to a crash-safe log."""
    not_available("energy log", 7)


@command.command("report")
@click.argument("logdir", required=False, type=click.Path(file_okay=False))
@click.option("--png", type=click.Path(dir_okay=False), default=None, help="Write the plots to this PNG.")
@json_option
def report(logdir, png, as_json) -> None:
    """Mean power and energy per rail, energy per inference, plots."""
    not_available("energy report", 7)
