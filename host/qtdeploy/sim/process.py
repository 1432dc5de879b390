"""What both virtual boards share as a child process: its status, a wait, an orderly end, and the
context manager that stops it.

Why one base: the host build (``sim.board.VirtualBoard``) and the emulated RP2040
(``sim.rp2040.EmulatedBoard``) are different programs behind the same pty contract, and callers
power-cut, wait for and stop both the same way: one copy of that, not two.
"""

from __future__ import annotations

import subprocess
from typing import Any, Self

#: How long a board gets to exit after SIGTERM before SIGKILL, and after SIGKILL.
STOP_GRACE_S = 5.0


class BoardProcess:
    """A virtual board's child process; subclasses start it (``start``) and add their own clean-up
    around ``_end`` in ``stop``."""

    proc: subprocess.Popen[Any] | None = None

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> int | None:
        return self._end()

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def wait(self, timeout: float) -> int:
        """Wait for the process to end by itself (a power cut); returns its exit status."""
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def _end(self) -> int | None:
        """SIGTERM, then SIGKILL after STOP_GRACE_S; the exit status (None: never started)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=STOP_GRACE_S)
        return self.proc.returncode

    def __enter__(self) -> Self:
        return self.start() if self.proc is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()
