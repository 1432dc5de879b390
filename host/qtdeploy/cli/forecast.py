"""`qtdeploy forecast`: stream sensor windows to the board, predictions back, live."""

import click

from qtdeploy.cli.options import board_option, json_option, not_available, port_options


@click.command("forecast")
@port_options
@board_option
@click.option("--source", required=False, metavar="SRC", help="csv:FILE, serial:DEV or synthetic:")
@click.option("--engine", type=click.Choice(["fpga", "mcu"]), default="fpga", show_default=True)
@click.option("--count", type=int, default=None, help="Stop after N windows.")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Write every prediction to this CSV.")
@click.option("--check", is_flag=True, help="Recompute every prediction with the host integer reference.")
@click.option("--energy", is_flag=True, help="Attach each inference's energy to its row.")
@json_option
def command(port, baud, trace, board, source, engine, count, out, check, energy, as_json) -> None:
    """Forecast live on the board from a CSV, an attached sensor or a generator."""
    not_available("forecast", 6)
