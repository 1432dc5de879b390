"""pyserial URL handler for ``sim://``: the virtual board wherever ``serial_for_url`` is used.

``serial.serial_for_url("sim://?flash=/tmp/f.bin&time_scale=0.01")`` (or ``--port sim`` on the
command line) starts a virtual board on that flash file, or attaches to one that ``qtdeploy sim``
runs on it, and opens its pseudo-terminal like any serial device. A board started here lives
exactly as long as the port: ``close()`` stops it. pyserial finds this module because
:mod:`qtdeploy.sim` adds itself to ``serial.protocol_handler_packages``.

URL parameters: ``flash`` (path; default the user cache's flash file), ``board`` (board file
name, default ``virtual``), ``time_scale`` (float), ``die_after`` (flash op count: power cut),
``pacing`` (0 to move bytes at memory speed), ``fpga`` (``model`` or ``rtl``: the Verilated RTL),
``mcu`` (``posix``, the default, or ``rp2040``: the enV5's UF2 in the RP2040 emulator, board
``env5``; qtdeploy.sim.rp2040).
``orphan_exit`` (seconds, default 60; ``never`` to disable): a board started here exits that long
after the process that opened the port is gone, so a command killed with SIGKILL leaves no board
behind (a board of ``qtdeploy sim`` runs until it is stopped).
"""

from __future__ import annotations

import subprocess
import urllib.parse
from pathlib import Path

import serial
from serial.serialposix import Serial as PosixSerial

from qtdeploy.sim import rtl
from qtdeploy.sim.board import ORPHAN_EXIT_S, SimOptions, VirtualBoard, running_fpga, start_or_attach

_KEYS = ("flash", "board", "time_scale", "die_after", "pacing", "fpga", "mcu", "orphan_exit")


def parse_url(url: str) -> SimOptions:
    """``sim://?flash=...&...`` -> SimOptions; raises SerialException naming a bad parameter."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() != "sim":
        raise serial.SerialException(f"expected a sim:// URL, got {url!r}")
    query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - set(_KEYS))
    if unknown:
        raise serial.SerialException(
            f"unknown sim:// parameter(s) {', '.join(unknown)}; known: {', '.join(_KEYS)}"
        )
    one = {k: v[-1] for k, v in query.items()}
    mcu = one.get("mcu") or "posix"
    if mcu not in ("posix", "rp2040"):
        raise serial.SerialException(f"sim:// mcu={mcu!r}: known are posix (the default) and rp2040")
    try:
        return SimOptions(
            mcu=mcu,
            board=one.get("board") or ("env5" if mcu == "rp2040" else "virtual"),
            flash_file=Path(one["flash"]).expanduser() if one.get("flash") else None,
            time_scale=float(one.get("time_scale", 1.0)),
            die_after_flash_ops=int(one["die_after"]) if one.get("die_after") else None,
            pacing=one.get("pacing", "1") not in ("0", "false", "no"),
            fpga=one.get("fpga") or "model",
            orphan_exit_s=_orphan_exit(one.get("orphan_exit")),
        )
    except ValueError as exc:
        raise serial.SerialException(f"bad sim:// parameter in {url!r}: {exc}") from exc


def _orphan_exit(text: str | None) -> float | None:
    if text is None or text == "":
        return ORPHAN_EXIT_S
    if text.lower() in ("never", "none", "off"):
        return None
    value = float(text)
    if value <= 0:
        raise ValueError(f"orphan_exit must be > 0 seconds or 'never', got {text!r}")
    return value


def to_url(options: SimOptions) -> str:
    """The inverse of :func:`parse_url`, for passing a board's options to another process."""
    query = {"board": options.board, "time_scale": repr(options.time_scale)}
    if options.flash_file:
        query["flash"] = str(options.flash_file)
    if options.die_after_flash_ops is not None:
        query["die_after"] = str(options.die_after_flash_ops)
    if not options.pacing:
        query["pacing"] = "0"
    if options.fpga != "model":
        query["fpga"] = options.fpga
    if options.mcu != "posix":
        query["mcu"] = options.mcu
    if options.orphan_exit_s != ORPHAN_EXIT_S:
        query["orphan_exit"] = "never" if options.orphan_exit_s is None else repr(options.orphan_exit_s)
    return "sim://?" + urllib.parse.urlencode(query)


class Serial(PosixSerial):
    """A POSIX serial port on the virtual board's pty; owns the board process it started."""

    board: VirtualBoard | None = None
    pty: str = ""
    fpga: str = "model"  # what the board behind the pty runs: its own options', or the running one's

    def open(self) -> None:
        url = self._port
        if url is None:
            raise serial.SerialException("Port must be configured before it can be used.")
        options = parse_url(url)
        if options.mcu == "rp2040":  # the enV5's UF2 in the emulator (qtdeploy.sim.rp2040)
            from qtdeploy.sim.rp2040 import start_or_attach_rp2040

            self.pty, self.board = start_or_attach_rp2040(options)  # type: ignore[assignment]
        else:
            self.pty, self.board = start_or_attach(options)
        self.fpga = (
            options.fpga if self.board is not None else (running_fpga(options.flash_path()) or options.fpga)
        )
        self.portstr = self.pty  # what PosixSerial.open() passes to os.open
        try:
            super().open()
        except BaseException:
            self._stop_board()
            raise

    def before_configure(self, bitstream: bytes) -> list[Path]:
        """Before the board configures ``bitstream``: when it runs the Verilated RTL, build the
        library of each design the bitstream carries, which the board dlopens at configuration
        (without it the board had to be restarted to run a design flashed while it ran)."""
        if self.fpga != "rtl":
            return []
        return [rtl.build_lib(d) for d in rtl.designs_in(bitstream)]

    def _reconfigure_port(self, force_update: bool = False) -> None:
        # A pty has no baud (the board paces itself at the rate SET_BAUD chose); rates such as
        # 3000000 that termios cannot express on a pty must not fail the open.
        try:
            super()._reconfigure_port(force_update)
        except (serial.SerialException, OSError, ValueError):
            pass

    def read(self, size: int = 1) -> bytes:
        try:
            return super().read(size)
        except (serial.SerialException, OSError) as exc:
            raise self._explain(exc) from exc

    def write(self, data) -> int | None:
        try:
            return super().write(data)
        except (serial.SerialException, OSError) as exc:
            raise self._explain(exc) from exc

    def _explain(self, exc: BaseException) -> serial.SerialException:
        """Name why the pty failed when it was our board that ended (power cut, broken rule)."""
        board = self.board
        if board is not None and board.proc is not None and board.returncode is None:
            try:  # the pty fails the moment the process dies, a little before it can be reaped
                board.proc.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                pass
        if board is not None and board.returncode is not None:
            why = board.stderr_text().strip().splitlines()
            return serial.SerialException(
                f"the virtual board exited with status {board.returncode}" + (f" ({why[-1]})" if why else "")
            )
        return exc if isinstance(exc, serial.SerialException) else serial.SerialException(str(exc))

    def close(self) -> None:
        super().close()
        self._stop_board()

    def _stop_board(self) -> None:
        if self.board is not None:
            self.board.stop()
            self.board = None
