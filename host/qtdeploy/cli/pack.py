"""`qtdeploy pack`: integer tensors + description -> a .qtb blob."""

import click

from qtdeploy.cli.options import json_option, not_available


@click.command("pack")
@click.argument("source", required=False, type=click.Path())
@click.option("--out", type=click.Path(dir_okay=False), help="Blob to write (.qtb).")
@json_option
def command(source, out, as_json) -> None:
    """Build a versioned, checksummed blob from a directory or .npz plus a description."""
    not_available("pack", 2)
