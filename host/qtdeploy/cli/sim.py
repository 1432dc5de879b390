"""`qtdeploy sim`: start a virtual board and print its port."""

import click

from qtdeploy.cli.options import board_option, not_available


@click.command("sim")
@board_option
@click.option("--flash-file", type=click.Path(dir_okay=False), default=None, help="Flash image file (persists).")
@click.option("--fpga", type=click.Choice(["model", "rtl"]), default="model", show_default=True)
def command(board, flash_file, fpga) -> None:
    """Run our firmware on the host as a virtual board behind a pseudo-terminal."""
    not_available("sim", 3)
