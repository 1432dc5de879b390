"""`qtdeploy eval`: integer-only accuracy of a blob on a CSV."""

import click

from qtdeploy.cli.options import json_option, not_available


@click.command("eval")
@click.argument("blob", required=False, type=click.Path(dir_okay=False))
@click.option("--data", type=click.Path(dir_okay=False), help="CSV to evaluate on.")
@json_option
def command(blob, data, as_json) -> None:
    """De-normalised RMSE and MAE of the integer model, against a persistence baseline."""
    not_available("eval", 4)
