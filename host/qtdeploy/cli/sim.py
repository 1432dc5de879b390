"""`qtdeploy sim`: start a virtual board, print its port, run until Ctrl-C."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from typing import Any

import click

from qtdeploy.cli.options import board_option, json_option
from qtdeploy.cli.output import emit, stdout
from qtdeploy.errors import LinkError


@click.command("sim")
@board_option
@click.option(
    "--flash-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Flash image file (persists; default under the user cache dir).",
)
@click.option(
    "--time-scale",
    type=float,
    default=1.0,
    show_default=True,
    help="Multiply flash and FPGA busy times (0.01: fast tests).",
)
@click.option("--no-pacing", is_flag=True, help="Move UART bytes at memory speed instead of the baud rate.")
@click.option("--fpga", type=click.Choice(["model", "rtl"]), default="model", show_default=True)
@click.option(
    "--mcu",
    type=click.Choice(["posix", "rp2040"]),
    default="posix",
    show_default=True,
    help="posix: the firmware built for this host; rp2040: the enV5's UF2 in the RP2040 emulator (board env5).",
)
@json_option
def command(
    board: str | None,
    flash_file: str | None,
    time_scale: float,
    no_pacing: bool,
    fpga: str,
    mcu: str,
    as_json: bool,
) -> None:
    """Run our firmware on the host as a virtual board behind a pseudo-terminal.

    Other commands reach it with --port sim (same default flash file) or with the printed
    sim:// URL / pty path; it runs until Ctrl-C (or SIGTERM).
    """
    from qtdeploy.sim import SimOptions, VirtualBoard, running_pty
    from qtdeploy.sim.protocol_sim import to_url

    options = SimOptions(
        board=board or ("env5" if mcu == "rp2040" else "virtual"),
        flash_file=Path(flash_file) if flash_file else None,
        time_scale=time_scale,
        pacing=not no_pacing,
        fpga=fpga,
        mcu=mcu,
        orphan_exit_s=None,  # runs until stopped, whoever started it
    )
    flash = options.flash_path()
    if running_pty(flash):
        raise LinkError(
            f"A virtual board already runs on {flash} (port {running_pty(flash)}).",
            "Use it (--port sim), stop it, or pass another --flash-file.",
        )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if mcu == "rp2040":
        from qtdeploy.sim.rp2040 import start_or_attach_rp2040

        _, started = start_or_attach_rp2040(options)
        assert started is not None  # no board ran on this flash (checked above)
        started.publish()
        board_cm: Any = started
    else:
        board_cm = VirtualBoard(options, publish=True)
    with board_cm as vb:
        info = {
            "port": vb.pty,
            "url": to_url(options),
            "flash_file": str(flash),
            "pid": vb.proc.pid if vb.proc else None,
        }
        emit(
            info,
            as_json,
            lambda r: stdout.print(
                f"virtual board on [bold]{r['port']}[/] (flash {r['flash_file']}); use --port sim or --port {r['port']}. "
                "Ctrl-C stops it.",
                highlight=False,
                soft_wrap=True,
            ),
        )
        sys.stdout.flush()
        try:
            while vb.returncode is None:
                time.sleep(0.2)
        except KeyboardInterrupt:
            return
        raise LinkError(
            f"The virtual board exited with status {vb.returncode}: {vb.stderr_text().strip()}",
            "See the message above; exit 75 is a simulated power cut, 70 a broken hardware rule.",
        )
