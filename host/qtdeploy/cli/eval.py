"""`qtdeploy eval`: integer-only accuracy of a blob on a CSV."""

from __future__ import annotations

import click

from qtdeploy.cli.options import json_option
from qtdeploy.cli.output import emit, stdout


@click.command("eval")
@click.argument("blob", type=click.Path(dir_okay=False))
@click.option("--data", type=click.Path(dir_okay=False), default=None, help="CSV to evaluate on.")
@click.option("--dataset", default=None, help="A packaged dataset instead of --data.")
@click.option(
    "--split",
    type=click.Choice(["test", "val", "train", "all"]),
    default="test",
    show_default=True,
    help="Chronological part of the series to score (train 70 %, val 15 %, test 15 %).",
)
@json_option
def command(blob, data, dataset, split, as_json) -> None:
    """De-normalised RMSE and MAE of the integer model, against a persistence baseline."""
    from qtdeploy.model.data import load_series
    from qtdeploy.model.evaluate import evaluate
    from qtdeploy.model.intmodel import load

    im = load(blob)
    series = load_series(
        data, dataset, im.meta.get("target") if data else None, im.meta.get("features") if data else None
    )
    result = evaluate(im, series, split)
    emit(
        result,
        as_json,
        lambda r: stdout.print(
            f"{r['windows']} {split} windows, integer model: RMSE {r['rmse']:.4f}, MAE {r['mae']:.4f}; "
            f"persistence RMSE {r['persistence_rmse']:.4f}, MAE {r['persistence_mae']:.4f} "
            f"(ratio {r['rmse_vs_persistence']:.3f})"
        ),
    )
