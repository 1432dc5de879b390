"""`qtdeploy flash`: bitstream + blob into a slot, verified, committed, FPGA configured."""

import click

from qtdeploy.cli.options import board_option, json_option, not_available, port_options


@click.command("flash")
@port_options
@board_option
@click.option("--bitstream", type=click.Path(dir_okay=False), help="Xilinx .bit or .bin for the board's FPGA.")
@click.option("--blob", type=click.Path(dir_okay=False), help="Model blob (.qtb) from `qtdeploy pack`/`export`.")
@click.option("--slot", type=click.Choice(["a", "b"]), default=None, help="Target slot (default: the inactive one).")
@click.option("--via", default=None, metavar="URL", help="Flash straight over SPI with an FTDI adapter, e.g. ftdi://ftdi:232h/1.")
@json_option
def command(port, baud, trace, board, bitstream, blob, slot, via, as_json) -> None:
    """Write, verify (SHA-256 on the board), commit and configure a new image."""
    not_available("flash", 3)
