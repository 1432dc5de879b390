"""`qtdeploy export`: the integer-only model as a blob, plus golden vectors."""

from __future__ import annotations

import click

from qtdeploy.cli.options import json_option
from qtdeploy.cli.output import emit, stdout


@click.command("export")
@click.argument("run", type=click.Path(file_okay=False))
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Blob to write (.qtb).")
@click.option(
    "--vectors", type=click.Path(file_okay=False), default=None, help="Also write golden vectors here."
)
@click.option("--windows", type=int, default=4, show_default=True, help="Windows in the golden vectors.")
@json_option
def command(run, out, vectors, windows, as_json) -> None:
    """Export a trained run to an integer-only .qtb blob (and check it against the QAT model)."""
    from qtdeploy.extras import require_module

    require_module("torch", what="torch (qtdeploy export reads a training run)", extra="train")
    from qtdeploy.train.runs import export_run

    report = export_run(run, out, vectors, windows)

    def human(r: dict) -> None:
        stdout.print(f"wrote {r['blob']} ({r['size_bytes']} bytes of integer payload)")
        if "agreement" in r:
            a = r["agreement"]
            stdout.print(
                f"QAT integer path vs reference on {a['windows']} test windows: "
                f"{'identical' if a['integer_path']['identical'] else a['integer_path']}; "
                f"fake-quant forward: {a['fake_quant']['frac_diff']:.1%} of outputs differ, "
                f"max {a['fake_quant']['max_lsb']:.1f} int32 LSB "
                f"({a['fake_quant']['max_vs_spread']:.2%} of the outputs' spread)"
            )
        if "vectors" in r:
            stdout.print(f"golden vectors in {r['vectors']}")

    emit(report, as_json, human)
