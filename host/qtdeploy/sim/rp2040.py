"""The emulated RP2040 board: the firmware's UF2 in rp2040js (Node), its USB CDC on a pty.

Why a pty owned by Python: Node has no pseudo-terminal without a native module, and every host
command opens a board the same way (pyserial on a tty path). This process opens the pty pair and
shuttles bytes between its master side and the Node harness's stdin/stdout (firmware/emu), which
speaks USB to the emulated controller after enumerating it as Linux would. The harness's stderr
carries JSON events: ``enumerated`` (with the descriptors' VID/PID/strings) is what ``start`` waits
for, ``power-cut`` / ``hardware-rule`` end it with the exit codes hal/posix uses.
"""

from __future__ import annotations

import json
import logging
import os
import select
import shutil
import subprocess
import threading
import tty
from pathlib import Path

from qtdeploy.boards import load_board
from qtdeploy.errors import BoardFileError, LinkError, NotAvailableError
from qtdeploy.paths import firmware_dir
from qtdeploy.sim.process import BoardProcess

log = logging.getLogger("qtdeploy.sim.rp2040")
_ENUMERATE_TIMEOUT = 60.0  # wall seconds: boot + enumeration take ~2 s of a 2-core CI machine


def harness_pins(board: str = "env5") -> dict[str, int]:
    """The GPIOs the harness wires to the part models, from the board file."""
    b = load_board(board)
    pins = dict(b.mcu.pins)
    prog_b = b.fpga.pins["prog_b"].gpio
    if prog_b is None:
        raise BoardFileError(
            f"boards/{board}.toml routes no GPIO to the FPGA's PROG_B.",
            "The emulated RP2040 drives PROG_B: give fpga.pins.prog_b a gpio.",
        )
    pins["fpga_prog_b"] = prog_b
    return pins


def node_modules() -> Path:
    """firmware/emu/node_modules with rp2040js, installed by scripts/setup-env (npm ci)."""
    mods = firmware_dir() / "emu" / "node_modules" / "rp2040js"
    if shutil.which("node") is None or not mods.is_dir():
        raise NotAvailableError(
            "The RP2040 emulator needs Node.js and rp2040js (firmware/emu/node_modules).",
            "Run `source scripts/setup-env` (it runs `npm ci --prefix firmware/emu`), or install Node 20.",
        )
    return mods


class EmulatedBoard(BoardProcess):
    """One ``node firmware/emu/harness.mjs`` process behind a pty; a context manager."""

    def __init__(
        self,
        uf2: Path,
        parts: Path,
        flash_file: Path,
        *,
        board: str = "env5",
        die_after_flash_ops: int | None = None,
        time_scale: float = 1.0,
        flash_jedec: int | None = None,
    ) -> None:
        self.uf2, self.parts, self.flash_file = Path(uf2), Path(parts), Path(flash_file)
        self.board = board
        self.die_after = die_after_flash_ops
        self.time_scale = time_scale
        self.flash_jedec = flash_jedec  # another chip than the board file's (fault injection)
        self.proc: subprocess.Popen[bytes] | None = None
        self.pty = ""
        self.events: list[dict] = []
        self.usb: dict = {}
        self._enumerated = threading.Event()
        self._master = -1
        self._slave = -1
        self._lock = threading.Lock()
        self.state_file: Path | None = None  # written by publish() for `qtdeploy sim --mcu rp2040`

    def publish(self) -> None:
        """Let other processes attach to this board (``--port sim://?mcu=rp2040&flash=...``)."""
        from qtdeploy.sim.board import _state_file

        assert self.proc is not None
        self.state_file = _state_file(self.flash_file)
        self.state_file.write_text(
            json.dumps({"pid": self.proc.pid, "pty": self.pty, "fpga": "model", "mcu": "rp2040"})
        )
        self._published = True

    def start(self) -> EmulatedBoard:
        node_modules()
        cmd = [
            "node",
            str(firmware_dir() / "emu" / "harness.mjs"),
            "--uf2",
            str(self.uf2),
            "--parts",
            str(self.parts),
            "--flash",
            str(self.flash_file),
            "--pins",
            json.dumps(harness_pins(self.board)),
            "--time-scale",
            repr(float(self.time_scale)),
        ]
        if self.die_after:
            cmd += ["--die-after-flash-ops", str(self.die_after)]
        if self.flash_jedec:
            cmd += ["--flash-jedec", str(self.flash_jedec)]
        self.flash_file.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
        )
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # a byte pipe, like /dev/ttyACM0 in raw mode
        self.pty = os.ttyname(self._slave)
        threading.Thread(target=self._events, daemon=True).start()
        threading.Thread(target=self._to_host, daemon=True).start()
        threading.Thread(target=self._to_board, daemon=True).start()
        if not self._enumerated.wait(_ENUMERATE_TIMEOUT) or self.proc.poll() is not None:
            self.stop()
            raise LinkError(
                f"The emulated RP2040 did not enumerate on USB: {self.stderr_text()[-800:] or 'no output'}.",
                "Rebuild the firmware (qtdeploy firmware build --board env5) and check `node --version` (20+).",
            )
        return self

    def _events(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode(errors="replace").strip()
            try:
                ev = json.loads(line)
            except ValueError:
                ev = {"event": "log", "text": line}
            self.events.append(ev)
            log.debug("rp2040: %s", line)
            if ev.get("event") == "enumerated":
                self.usb = ev
                self._enumerated.set()
        self._enumerated.set()  # the process ended: start() reports it

    def _to_host(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        try:
            while True:
                data = os.read(fd, 65536)
                if not data:
                    # the chip is gone (power cut, broken rule, stop): hang the pty up, as the
                    # posix board's exit does, so the host's next read fails at once
                    self._close_pty()
                    return
                view = memoryview(data)
                while view:
                    view = view[os.write(self._master, view) :]
        except OSError:
            return  # stop() closed the pty

    def _to_board(self) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        while self.proc.poll() is None:
            try:
                ready, _, _ = select.select([self._master], [], [], 0.2)
            except (OSError, ValueError):
                return  # stop() closed the pty
            if not ready:
                continue
            try:
                data = os.read(self._master, 65536)
            except OSError:
                return
            try:
                self.proc.stdin.write(data)
                self.proc.stdin.flush()
            except (BrokenPipeError, ValueError):
                return

    def stderr_text(self) -> str:
        return "\n".join(json.dumps(e) for e in self.events)

    def stop(self) -> int | None:
        if getattr(self, "_published", False) and self.state_file is not None:
            self.state_file.unlink(missing_ok=True)
        code = self._end()
        self._close_pty()
        return code

    def _close_pty(self) -> None:
        with self._lock:
            for fd in (self._master, self._slave):
                if fd >= 0:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
            self._master = self._slave = -1


def start_or_attach_rp2040(options) -> tuple[str, EmulatedBoard | None]:
    """``sim://?mcu=rp2040``: attach to an emulated board running on the flash file, or build the
    firmware (once per source change) and start one; as :func:`qtdeploy.sim.board.start_or_attach`."""
    import fcntl

    from qtdeploy.errors import UsageError
    from qtdeploy.firmware import build
    from qtdeploy.sim.board import running_pty

    if options.fpga != "model":
        raise UsageError(
            "The RP2040 emulator's FPGA is the accelerator's C model; --fpga rtl needs the host build.",
            "Drop fpga=rtl, or use the posix virtual board (mcu=posix) for the Verilated RTL.",
        )
    flash = options.flash_path()
    flash.parent.mkdir(parents=True, exist_ok=True)
    with open(flash.with_name(flash.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        pty = running_pty(flash)
        if pty is not None:
            return pty, None
        fw = build(options.board, emulator=True)
        assert fw.parts_wasm is not None  # emulator=True builds the part models
        board = EmulatedBoard(
            fw.uf2,
            fw.parts_wasm,
            flash,
            board=options.board,
            die_after_flash_ops=options.die_after_flash_ops,
            time_scale=options.time_scale,
        ).start()
        return board.pty, board
