"""`qtdeploy info`: what the board is and what it holds."""

from __future__ import annotations

from typing import Any

import click

from qtdeploy.cli.options import board_option, json_option, open_board, port_options
from qtdeploy.cli.output import emit, stdout


@click.command("info")
@port_options
@board_option
@json_option
def command(port: str | None, baud: int | None, trace: bool, board: str | None, as_json: bool) -> None:
    """Firmware and protocol version, flash layout, slots with hashes, FPGA state and ABI."""
    from qtdeploy.ops import info

    with open_board(port, baud, trace, board) as session:
        result = info(session)
    emit(result, as_json, render)


def render(r: dict[str, Any]) -> None:
    """A person's view of ``qtdeploy.ops.info``'s dict."""
    from rich.table import Table

    kind = "virtual board" if r["virtual"] else "board"
    stdout.print(
        f"[bold]{kind} {r['board']}[/]  firmware {r['firmware']}, link protocol v{r['protocol_version']}, "
        f"{r['baud']} baud, window {r['link']['window']} x {r['link']['max_payload']} B, "
        f"codecs {', '.join(r['link']['codecs'])}",
        highlight=False,
        soft_wrap=True,
    )
    b = r.get("build")
    if b:
        boot = (
            b["boot_status"]
            if b["boot_status"] == "OK"
            else f"[bold red]{b['boot_status']}[/]: {b['boot_meaning']}"
        )
        stdout.print(
            f"build: {b['build_id'] or 'no build-id'} ({b['target']}), boot {boot}",
            highlight=False,
            soft_wrap=True,
        )
    f = r["flash"]
    stdout.print(
        f"flash: {f['size'] // 1024:,} KiB, JEDEC {f['jedec_id']}, sector {f['sector_size'] // 1024} KiB, "
        f"page {f['page_size']} B",
        highlight=False,
        soft_wrap=True,
    )
    table = Table(title=f"slots (active: {r['active_slot'] or 'none'})")
    for col in ("slot", "state", "seq", "image", "bytes"):
        table.add_column(col, no_wrap=True)
    table.add_column("sha256", no_wrap=True)
    for s in r["slots"]:
        name = s["slot"] + (" *" if s["active"] else "")
        for i, part in enumerate(("bitstream", "blob")):
            p = s[part]
            first = i == 0
            table.add_row(
                name if first else "",
                s["state"] if first else "",
                str(s["seq"]) if first else "",
                part,
                f"{p['length']:,}",
                p["sha256"][:24] if p["length"] else "-",
            )
    stdout.print(table)
    g = r["fpga"]
    stdout.print(
        f"FPGA: {g['state']} from slot {g['slot'] or '-'}, DONE {int(g['done'])}, IDCODE {g['idcode']}, "
        f"ABI {g['abi']}",
        highlight=False,
        soft_wrap=True,
    )
