"""How the CLI draws what the formats and the flash describe, for a person (rich): the formats only
describe (``describe(data) -> dict``), so the layers below never import the terminal's library."""

from __future__ import annotations

import json
from typing import Any

from rich.table import Table

from qtdeploy.cli.output import stdout


def render_blob(info: dict[str, Any]) -> None:
    """Print ``describe``'s result for a person: header, shape, tables, metadata, hash."""
    hp = info["hparams"]
    stdout.print(
        f"[bold]{info['source'] or 'blob'}[/]: qtdeploy blob v{info['version']}, {info['size']:,} bytes"
    )
    stdout.print(
        f"  ABI        [bold]{info['abi']}[/]  ({info['abi_string']})", highlight=False, soft_wrap=True
    )
    stdout.print(
        "  model      " + "  ".join(f"{k}={v}" for k, v in hp.items()), highlight=False, soft_wrap=True
    )
    table = Table(title=f"{len(info['tensors'])} tensors", title_justify="left", box=None, pad_edge=False)
    for col in ("#", "name", "bits", "signed", "shape", "zp", "mult", "shift", "offset", "bytes"):
        table.add_column(col, justify="left" if col in ("name", "shape", "signed") else "right")
    for t in info["tensors"]:
        table.add_row(
            str(t["id"]),
            t["name"],
            str(t["bits"]),
            "s" if t["signed"] else "u",
            "x".join(map(str, t["shape"])) or "scalar",
            str(t["zero_point"]),
            str(t["multiplier"]),
            str(t["shift"]),
            f"{t['offset']:#x}",
            f"{t['length']:,}",
        )
    stdout.print(table)
    if info["luts"]:
        luts = Table(title=f"{len(info['luts'])} LUTs", title_justify="left", box=None, pad_edge=False)
        for col in ("#", "name", "bits", "signed", "entries", "offset", "bytes"):
            luts.add_column(col, justify="left" if col in ("name", "signed") else "right")
        for lut in info["luts"]:
            luts.add_row(
                str(lut["id"]),
                lut["name"],
                str(lut["bits"]),
                "s" if lut["signed"] else "u",
                str(lut["entries"]),
                f"{lut['offset']:#x}",
                f"{lut['length']:,}",
            )
        stdout.print(luts)
    stdout.print(f"metadata ({len(info['meta'])} keys)")
    for key, value in info["meta"].items():
        text = json.dumps(value, ensure_ascii=False)
        stdout.print(f"  {key:<14} {text if len(text) <= 72 else text[:69] + '...'}", highlight=False)
    stdout.print(f"sha256 {info['sha256']}  [green]verified[/]", highlight=False, soft_wrap=True)


def render_bitstream(info: dict[str, Any]) -> None:
    """Print a bitstream description for a person."""
    table = Table(
        title=f"{info['source']} ({info['container']}, {info['file_bytes']:,} bytes)", show_header=False
    )
    table.add_column("field", style="bold")
    table.add_column("value")
    if info["header"]:
        for key, value in info["header"].items():
            table.add_row(key, value)
    table.add_row("IDCODE", f"{info['idcode']} ({info['device'] or 'unknown part'})")
    table.add_row("ABI (USR_ACCESS)", info["abi"] or "not set (no AXSS write)")
    table.add_row(
        "frame data",
        f"{info['fdri_words'] * 4:,} bytes, {info['frames']:,} frames"
        + (", compressed" if info["compressed"] else ""),
    )
    table.add_row("CRC checks", str(info["crc_checks"]))
    table.add_row("commands", " ".join(info["commands"]))
    if info["simulated"]:
        table.add_row("note", "[yellow]simulated bitstream: for the virtual board only[/]")
    stdout.print(table)


def render_images(images: list[dict[str, Any]]) -> None:
    """One line per image written: kind, length, flash offset, SHA-256 (both flash paths)."""
    for im in images:
        stdout.print(
            f"{im['kind']:9} {im['length']:>9,} B at {im['offset']:#08x}  sha256 {im['sha256']}",
            highlight=False,
            soft_wrap=True,
        )
