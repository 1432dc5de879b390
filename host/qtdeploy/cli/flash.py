"""`qtdeploy flash`: bitstream + blob into a slot, verified, committed, FPGA configured."""

from __future__ import annotations

import os
from typing import Any

import click

from qtdeploy.cli.options import board_option, json_option, open_board, port_options
from qtdeploy.cli.output import byte_progress, emit, stdout
from qtdeploy.cli.render import render_images
from qtdeploy.errors import UsageError


@click.command("flash")
@port_options
@board_option
@click.option(
    "--bitstream", type=click.Path(dir_okay=False), help="Xilinx .bit or .bin for the board's FPGA."
)
@click.option(
    "--blob", type=click.Path(dir_okay=False), help="Model blob (.qtb) from `qtdeploy pack`/`export`."
)
@click.option(
    "--slot", type=click.Choice(["a", "b"]), default=None, help="Target slot (default: the inactive one)."
)
@click.option(
    "--no-resume", is_flag=True, help="Rewrite every sector, even those that already hold the image."
)
@click.option(
    "--compress",
    type=click.Choice(["auto", "none", "heatshrink"]),
    default="auto",
    show_default=True,
    help="FLASH_WRITE compression: heatshrink where it pays (auto), never, or every frame.",
)
@click.option(
    "--via",
    default=None,
    metavar="URL",
    help="Flash straight over SPI with an FTDI adapter, e.g. ftdi://ftdi:232h/1.",
)
@json_option
def command(
    port: str | None,
    baud: int | None,
    trace: bool,
    board: str | None,
    bitstream: str | None,
    blob: str | None,
    slot: str | None,
    no_resume: bool,
    compress: str,
    via: str | None,
    as_json: bool,
) -> None:
    """Write, verify (SHA-256 on the board), commit and configure a new image.

    Checks part, ABI and sizes before erasing anything; never writes the active slot; resumes an
    interrupted flash without rewriting sectors that already hold the right bytes.
    """
    from qtdeploy.ops import flash

    if not bitstream:
        raise UsageError(
            "`qtdeploy flash` needs --bitstream FILE.bit.", "Add --bitstream (and --blob for the model)."
        )
    if via:  # straight into the SPI flash through an FTDI adapter, the MCU held in reset (protocol/ftdi.md)
        from qtdeploy.cli.flash_ftdi import run

        return run(via, board=board, bitstream=bitstream, blob=blob, slot=slot, as_json=as_json)
    total = sum(os.path.getsize(p) for p in (bitstream, blob) if p and os.path.isfile(p))
    with open_board(port, baud, trace, board) as session:
        label = "flash (simulated board)" if session.virtual else "flash"
        with byte_progress(label, total=total, enabled=not as_json and not trace) as update:
            result = flash(
                session,
                bitstream=bitstream,
                blob=blob,
                slot=slot,
                progress=lambda done, _total: update(done),
                resume=not no_resume,
                compress=compress,
            )
    emit(result, as_json, render)


def render(r: dict[str, Any]) -> None:
    sim = " (simulated)" if r["simulated"] else ""
    render_images(r["images"])
    stdout.print(
        f"slot {r['slot']}: {r['sectors_written']} sectors written ({r['sectors_erased']} erased first, the others "
        f"already blank), {r['sectors_skipped']} already verified "
        f"(skipped), verified by SHA-256 on the board; committed as seq {r['slot_seq']}, active slot "
        f"{r['active_slot']}",
        highlight=False,
        soft_wrap=True,
    )
    if r["fpga"]:
        f = r["fpga"]
        stdout.print(
            f"FPGA {f['state']}: IDCODE {f['idcode']}, ABI {f['abi']}", highlight=False, soft_wrap=True
        )
    s = r["seconds"]
    stdout.print(
        f"time{sim}: total {s['total']:.2f} s (write {s['write']:.2f} s, verify {s['verify']:.2f} s, "
        f"commit {s['commit']:.2f} s, configure {s['configure']:.2f} s)",
        highlight=False,
        soft_wrap=True,
    )
    if r["bytes_written"]:
        stdout.print(
            f"throughput{sim}: {r['write_bytes_per_s']:,} B/s payload at {r['baud']} baud = "
            f"{100 * r['wire_ratio']:.1f} % of the wire's {r['wire_bytes_per_s']:,} B/s",
            highlight=False,
            soft_wrap=True,
        )
        c = r["compression"]
        stdout.print(
            f"compression: {c['codec']} ({c['mode']}): {c['raw_bytes']:,} B in {c['wire_bytes']:,} B of frame data, "
            f"ratio {c['ratio']:.2f} ({c['compressed_frames']} of {c['frames']} frames compressed)",
            highlight=False,
            soft_wrap=True,
        )
