"""`qtdeploy inspect`: show what a blob or bitstream contains.

Dispatches on content, not extension: a .qtb starts with the blob magic; anything else is
tried as a Xilinx .bit/.bin. Each format module owns its ``describe(data) -> dict``;
:mod:`qtdeploy.cli.render` draws it; this file only chooses.
"""

from pathlib import Path

import click

from qtdeploy.cli.options import json_option
from qtdeploy.cli.output import emit
from qtdeploy.errors import FormatError


@click.command("inspect")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@json_option
def command(file: str, as_json: bool) -> None:
    """Show a .qtb blob or a .bit/.bin bitstream: header, tensors, IDCODE, ABI."""
    from qtdeploy.cli.render import render_bitstream, render_blob
    from qtdeploy.formats import bitstream, blob

    data = Path(file).read_bytes()
    if not data:
        raise FormatError(f"{file} is empty.", "Pass a .qtb blob or a .bit/.bin bitstream.")
    if blob.looks_like_blob(data):
        emit(blob.describe(data, source=file), as_json, render_blob)
    else:
        emit(bitstream.describe(data, source=file), as_json, render_bitstream)
