"""``qtdeploy flash --via URL``: the thin CLI side of :func:`qtdeploy.ftdi.flash.flash_via`."""

from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from qtdeploy.boards import load_board
from qtdeploy.cli.output import byte_progress, emit, stdout
from qtdeploy.cli.render import render_images
from qtdeploy.errors import UsageError
from qtdeploy.ftdi.adapter import virtual_flash_file


def run(
    via: str, *, board: str | None, bitstream: str, blob: str | None, slot: str | None, as_json: bool
) -> None:
    try:
        import pyftdi  # noqa: F401
    except ImportError as exc:
        raise UsageError(
            "flash --via needs pyftdi, which is not installed.",
            "pip install 'qtdeploy[ftdi]' (or run scripts/setup-env).",
        ) from exc
    from qtdeploy.ftdi.flash import flash_via

    virtual = virtual_flash_file()
    board_file = load_board(board or ("virtual" if virtual else "env5"))
    total = sum(os.path.getsize(p) for p in (bitstream, blob) if p and os.path.isfile(p))
    with ExitStack() as stack:
        if virtual:
            from qtdeploy.ftdi.virtual.backend import VirtualFt232h, attached

            stack.enter_context(attached(VirtualFt232h(board_file, Path(virtual))))
        label = "flash via FTDI (simulated adapter)" if virtual else "flash via FTDI"
        with byte_progress(label, total=total, enabled=not as_json) as update:
            result = flash_via(
                via,
                board=board_file,
                bitstream=bitstream,
                blob=blob,
                slot=slot,
                progress=lambda done, _total: update(done),
            )
    emit(result, as_json, render)


def render(r: dict[str, Any]) -> None:
    sim = " (simulated: virtual FT232H timing model)" if r["simulated"] else ""
    render_images(r["images"])
    stdout.print(
        f"flash {r['jedec_id']} via {r['via']} at {r['spi_hz'] / 1e6:.1f} MHz SPI, held off the bus: "
        f"{', '.join(r['mcu_held']) or 'nothing'}",
        highlight=False,
        soft_wrap=True,
    )
    stdout.print(
        f"slot {r['slot']}: {r['sectors_written']} sectors written ({r['sectors_erased']} erased first), "
        f"{r['sectors_skipped']} already held the image; verified by read-back SHA-256; committed as seq "
        f"{r['slot_seq']} (meta_{r['meta_copy']}), active slot {r['active_slot']}",
        highlight=False,
        soft_wrap=True,
    )
    s = r["seconds"]
    stdout.print(
        f"time{sim}: total {s['total']:.2f} s (write {s['write']:.2f} s, verify {s['verify']:.2f} s, "
        f"commit {s['commit']:.2f} s)",
        highlight=False,
        soft_wrap=True,
    )
    if r["write_bytes_per_s"]:
        stdout.print(
            f"throughput{sim}: write {r['write_bytes_per_s']:,} B/s = {100 * r['write_ratio']:.1f} %, read "
            f"{r['read_bytes_per_s']:,} B/s = {100 * r['read_ratio']:.1f} % of the SPI clock's "
            f"{r['spi_limit_bytes_per_s']:,} B/s",
            highlight=False,
            soft_wrap=True,
        )
