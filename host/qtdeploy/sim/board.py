"""Start, find and stop virtual boards: our firmware as a host process behind a pseudo-terminal.

Why a state file beside the flash file: a virtual board is identified by its flash, like a real
one by its chip. ``qtdeploy sim`` writes ``<flash>.board.json`` (pid, pty) while it runs, so a
later ``--port sim`` with the same flash file attaches to that board instead of starting a
second process on the same file, which would corrupt it. A lock file around the check-and-start
keeps two processes from both deciding to start one.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from qtdeploy.boards import load_board
from qtdeploy.errors import LinkError, UsageError
from qtdeploy.paths import cache_dir
from qtdeploy.sim.build import executable
from qtdeploy.sim.process import BoardProcess

log = logging.getLogger("qtdeploy.sim")
EXIT_POWER_CUT = 75
EXIT_HW_RULE = 70
_START_TIMEOUT = 10.0
ORPHAN_EXIT_S = 60.0  # a sim:// board outlives a killed host command by this long


def default_flash_file(board: str = "virtual") -> Path:
    """The persistent flash of the user's default virtual board (the user cache dir)."""
    return cache_dir() / f"{board}-flash.bin"


@dataclass(frozen=True)
class SimOptions:
    """How to run a virtual board; ``time_scale`` multiplies flash and FPGA busy times.

    ``fpga``: ``model`` (the accelerator's C model) or ``rtl`` (the Verilated RTL, one library per
    design, built from the designs in the flash before the board starts: qtdeploy.sim.rtl).
    ``orphan_exit_s``: the board exits this long after the process that started it is gone (a
    host command killed with SIGKILL cannot stop its board); None: it runs until stopped, as
    boards of ``qtdeploy sim`` do (it passes None).
    """

    board: str = "virtual"
    flash_file: Path | None = None
    time_scale: float = 1.0
    die_after_flash_ops: int | None = None
    pacing: bool = True
    fpga: str = "model"
    # "posix": the firmware built for the host (hal/posix); "rp2040": the enV5's UF2 in the
    # rp2040js emulator against the same part models (qtdeploy.sim.rp2040)
    mcu: str = "posix"
    orphan_exit_s: float | None = ORPHAN_EXIT_S

    def flash_path(self) -> Path:
        return Path(self.flash_file) if self.flash_file else default_flash_file(self.board)


def _state_file(flash: Path) -> Path:
    return flash.with_name(flash.name + ".board.json")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _running_state(flash: Path) -> dict | None:
    """The state file of a board another process runs on ``flash``, if that board is alive."""
    try:
        state = json.loads(_state_file(flash).read_text())
    except (OSError, ValueError):
        return None
    pty = state.get("pty")
    if isinstance(state.get("pid"), int) and _alive(state["pid"]) and pty and os.path.exists(pty):
        return state
    return None


def running_pty(flash: Path) -> str | None:
    """The pty of a board another process runs on ``flash`` (per its state file), if alive."""
    state = _running_state(flash)
    return str(state["pty"]) if state else None


def running_fpga(flash: Path) -> str | None:
    """The --fpga mode ('model' or 'rtl') of a board another process runs on ``flash``, if alive."""
    mode = (_running_state(flash) or {}).get("fpga")
    return mode if isinstance(mode, str) else None


class VirtualBoard(BoardProcess):
    """One running ``qtd-virtual-board`` process; a context manager that stops it on exit.

    ``publish=True`` writes the state file so that other processes attach to this board.
    """

    def __init__(self, options: SimOptions = SimOptions(), *, publish: bool = False) -> None:
        if options.fpga not in ("model", "rtl"):
            raise UsageError(
                f"--fpga {options.fpga!r} is neither 'model' nor 'rtl'.",
                "Use --fpga model (the C model) or --fpga rtl (the Verilated RTL).",
            )
        if not load_board(options.board).virtual:
            raise UsageError(
                f"Board file {options.board!r} describes real hardware (virtual = false); the virtual board must say "
                "it is virtual, so that nothing mistakes it (or its timings) for the real one.",
                "Use --board virtual (it extends env5), or a board file with virtual = true.",
            )
        self.options = options
        self.flash_file = options.flash_path()
        self.publish = publish
        self.proc: subprocess.Popen[str] | None = None
        self.pty: str = ""
        self._stderr: list[str] = []
        self._collector: threading.Thread | None = None

    # ---- lifetime ----------------------------------------------------------------------------

    def start(self) -> VirtualBoard:
        """Build if needed, start the process, read its pty path from the first stdout line."""
        from qtdeploy.sim import rtl  # only --fpga rtl uses it; it reads the RTL sources' hashes

        if self.options.fpga == "rtl":
            rtl.check_tools()  # the rtl extra and a C++ compiler, before anything is built or started
        exe = executable(self.options.board)
        self.flash_file.parent.mkdir(parents=True, exist_ok=True)
        cmd = [
            str(exe),
            "--flash-file",
            str(self.flash_file),
            "--time-scale",
            repr(float(self.options.time_scale)),
        ]
        if self.options.die_after_flash_ops is not None:
            cmd += ["--die-after-flash-ops", str(self.options.die_after_flash_ops)]
        if not self.options.pacing:
            cmd.append("--no-pacing")
        if self.options.orphan_exit_s is not None:
            cmd += ["--orphan-exit-s", repr(float(self.options.orphan_exit_s))]
        if self.options.fpga == "rtl":
            rtl.prebuild_flash(self.flash_file)  # a design flashed later runs after a restart
            cmd += ["--fpga", "rtl", "--rtl-lib-dir", str(rtl.lib_dir())]
        env = {k: v for k, v in os.environ.items() if k != "QTD_DIE_AFTER_FLASH_OPS"}
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True
        )
        line = self._first_line()
        if not line.startswith("/"):
            code = self.proc.wait(timeout=5)
            raise LinkError(
                f"The virtual board did not start (exit {code}): {self.stderr_text().strip() or 'no output'}.",
                f"Check the flash file {self.flash_file} is writable; rebuild with `make -C firmware`.",
            )
        self.pty = line
        self._collector = threading.Thread(target=self._collect_stderr, daemon=True)
        self._collector.start()
        if self.publish:
            _state_file(self.flash_file).write_text(
                json.dumps({"pid": self.proc.pid, "pty": self.pty, "fpga": self.options.fpga})
            )
        log.debug("virtual board pid %d on %s (flash %s)", self.proc.pid, self.pty, self.flash_file)
        return self

    def _first_line(self) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        result: list[str] = []
        reader = threading.Thread(target=lambda: result.append(self.proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(_START_TIMEOUT)
        if not result:
            self.proc.kill()
            return ""
        return result[0].strip()

    def _collect_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line)
            log.debug("board: %s", line.rstrip())

    def stderr_text(self) -> str:
        """What the board wrote to stderr so far (all of it once the process has ended)."""
        if self.proc is not None and self.proc.poll() is not None and self._collector is not None:
            self._collector.join(timeout=2)
        return "".join(self._stderr)

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after 5 s; removes the state file this board published."""
        if self.publish and running_pty(self.flash_file) == self.pty:
            _state_file(self.flash_file).unlink(missing_ok=True)
        return self._end()


def start_or_attach(options: SimOptions) -> tuple[str, VirtualBoard | None]:
    """The pty of the board on ``options``' flash file: a running one's, or a new board's.

    Returns (pty, board) where board is None when attached (someone else owns the process) and
    the started VirtualBoard otherwise (the caller stops it). Options other than the flash file
    only apply to a board started here.
    """
    board = VirtualBoard(options)  # validates the options before anything touches the disk
    flash = board.flash_file
    flash.parent.mkdir(parents=True, exist_ok=True)
    with open(flash.with_name(flash.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        pty = running_pty(flash)
        if pty is not None:
            return pty, None
        board.start()
        return board.pty, board
