"""`qtdeploy inspect`: show what a blob or bitstream contains."""

import click

from qtdeploy.cli.options import json_option, not_available


@click.command("inspect")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@json_option
def command(file, as_json) -> None:
    """Show a .qtb blob or a .bit/.bin bitstream: header, tensors, IDCODE, ABI."""
    not_available("inspect", 2)
