"""`qtdeploy rtl`: accelerator reports, simulation bitstreams, Vivado projects."""

import click

from qtdeploy.cli.options import json_option, not_available


@click.group("rtl")
def command() -> None:
    """The FPGA accelerator: resource and latency reports, bitstreams for the virtual board."""


@command.command("sim-bitstream")
@click.option("--abi", default=None, help="Accelerator ABI id (hex) or a .qtb blob to take it from.")
@click.option("--out", type=click.Path(dir_okay=False), help="Bitstream to write (.bit).")
@json_option
def sim_bitstream(abi, out, as_json) -> None:
    """Write a bitstream for the virtual board (not loadable onto silicon)."""
    not_available("rtl sim-bitstream", 2)


@command.command("report")
@click.option("--config", default=None, metavar="W,D,B", help="Window, d_model, bits.")
@json_option
def report(config, as_json) -> None:
    """Yosys resource use on the XC7S15, simulated cycles and latency, energy estimate."""
    not_available("rtl report", 5)


@command.command("vivado")
@click.option("--board", default="env5")
@click.option("--out", type=click.Path(file_okay=False))
def vivado(board, out) -> None:
    """Write a Vivado project script and constraints for the real bitstream."""
    not_available("rtl vivado", 5)
