"""`qtdeploy train`: quantization-aware training of a forecaster."""

import click

from qtdeploy.cli.options import json_option, not_available


@click.command("train")
@click.option("--data", type=click.Path(dir_okay=False), help="CSV with a header row.")
@click.option("--target", help="Column to forecast.")
@click.option("--features", default=None, help="Comma-separated input columns (default: the target).")
@click.option("--window", type=int, default=None)
@click.option("--d-model", type=int, default=None)
@click.option("--bits", type=int, default=None)
@click.option("--horizon", type=int, default=None)
@click.option("--epochs", type=int, default=None)
@click.option("--out", type=click.Path(file_okay=False), help="Run directory for the checkpoint and metrics.json.")
@json_option
def command(data, target, features, window, d_model, bits, horizon, epochs, out, as_json) -> None:
    """Train a forecaster with fake quantisation at 2..8 bits."""
    not_available("train", 4)
