"""`qtdeploy export`: the integer-only model as a blob, plus golden vectors."""

import click

from qtdeploy.cli.options import json_option, not_available


@click.command("export")
@click.argument("run", required=False, type=click.Path(file_okay=False))
@click.option("--out", type=click.Path(dir_okay=False), help="Blob to write (.qtb).")
@click.option("--vectors", type=click.Path(file_okay=False), default=None, help="Also write golden vectors here.")
@json_option
def command(run, out, vectors, as_json) -> None:
    """Export a trained run to an integer-only .qtb blob."""
    not_available("export", 4)
