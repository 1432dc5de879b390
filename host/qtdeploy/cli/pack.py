"""`qtdeploy pack`: integer tensors + description -> a .qtb blob (protocol/blob.md)."""

from __future__ import annotations

import click

from qtdeploy.cli.options import json_option
from qtdeploy.cli.output import emit, stdout
from qtdeploy.errors import UsageError


@click.command("pack")
@click.argument("source", type=click.Path(exists=True))
@click.option("--out", type=click.Path(dir_okay=False), help="Blob to write (.qtb).")
@click.option(
    "--desc",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="Description (model.toml/.json); required for an .npz SOURCE.",
)
@json_option
def command(source: str, out: str | None, desc: str | None, as_json: bool) -> None:
    """Build a versioned, checksummed blob from a directory or .npz plus a description.

    SOURCE is a directory of <name>.npy files with model.toml (or model.json), or an .npz with
    --desc. Nothing is written unless the whole model validates.
    """
    from qtdeploy.formats import blob, blob_source

    if not out:
        raise UsageError("`qtdeploy pack` needs --out FILE.qtb.", "Add --out model.qtb.")
    data = blob_source.pack_source(source, out, desc=desc)
    emit(blob.describe(data, source=out), as_json, _summary)


def _summary(info: dict) -> None:
    stdout.print(
        f"wrote {info['source']}: {info['size']:,} bytes, {len(info['tensors'])} tensors, "
        f"{len(info['luts'])} LUTs, ABI {info['abi']}, sha256 {info['sha256'][:16]}...",
        highlight=False,
        soft_wrap=True,
    )
