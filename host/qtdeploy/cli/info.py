"""`qtdeploy info`: what the board is and what it holds."""

import click

from qtdeploy.cli.options import board_option, json_option, not_available, port_options


@click.command("info")
@port_options
@board_option
@json_option
def command(port, baud, trace, board, as_json) -> None:
    """Firmware and protocol version, flash layout, slots with hashes, FPGA state and ABI."""
    not_available("info", 3)
