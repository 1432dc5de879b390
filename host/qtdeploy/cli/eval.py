"""`qtdeploy eval`: integer-only accuracy of a blob on a CSV."""

from __future__ import annotations

import click

from qtdeploy.cli.options import json_option
from qtdeploy.cli.output import emit, stderr, stdout


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
@click.option(
    "--period",
    type=click.IntRange(min=1),
    default=None,
    help="Seasonal period in readings: adds the seasonal-naive baseline.",
)
@json_option
def command(blob, data, dataset, split, period, as_json) -> None:
    """RMSE and MAE of the integer model in the target's units, beside persistence, a least-squares
    linear model fitted on the training split, and seasonal naive (with --period); and how many
    standard errors (Diebold-Mariano) the model is ahead of persistence on the split's windows."""
    from qtdeploy.model.baselines import optional_text
    from qtdeploy.model.data import load_series
    from qtdeploy.model.evaluate import advice, evaluate
    from qtdeploy.model.intmodel import load

    im = load(blob)
    series = load_series(
        data, dataset, im.meta.get("target") if data else None, im.meta.get("features") if data else None
    )
    result = evaluate(im, series, split, period)
    result["warnings"] = advice(result)

    def human(r: dict) -> None:
        stdout.print(
            f"{r['windows']} {split} windows, integer model (emulated by the host reference): "
            f"RMSE {r['rmse']:.4f}, MAE {r['mae']:.4f}; persistence RMSE {r['persistence_rmse']:.4f} "
            f"(ratio {r['rmse_vs_persistence']:.3f}"
            + (
                f", {r['persistence_se_ahead']:.2f} standard errors ahead"
                if r["persistence_se_ahead"] is not None
                else ""
            )
            + f"), linear RMSE {r['linear_rmse']:.4f} "
            f"(ratio {r['rmse_vs_linear']:.3f})" + optional_text(r, "RMSE ")
        )
        for w in r["warnings"]:
            stderr.print(f"[yellow]warning:[/] {w}")

    emit(result, as_json, human)
