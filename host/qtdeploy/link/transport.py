"""Byte transports under the link: open/read/write/close and nothing else (the lowest of the three layers).

The link layer only needs a byte pipe with a read timeout, so a real UART, the virtual board's
pseudo-terminal, a future FTDI bridge and a test's scripted peer all fit the same small
:class:`Transport` protocol. :class:`SerialTransport` goes through ``serial.serial_for_url`` so
that pyserial URL handlers (``loop://``, and the virtual board's ``sim://`` once it registers
one) work without code here knowing about them. Every read has a timeout: a board that stops
answering must turn into a LinkError, never a hang.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import serial

from qtdeploy._protocol import LINK_DEFAULT_BAUD
from qtdeploy.errors import LinkError

_PORT_ERRORS: tuple[type[Exception], ...] = (serial.SerialException, OSError)
try:  # termios.error is not an OSError: a pty whose board died raises it from tcdrain/tcsetattr
    from termios import error as _termios_error

    _PORT_ERRORS += (_termios_error,)
except ImportError:  # Windows
    pass
_OPEN_ERRORS: tuple[type[Exception], ...] = (*_PORT_ERRORS, ValueError)


class PortLost(LinkError):
    """The port itself failed (unplugged, the board lost power, a pty whose board ended), as
    opposed to a board that does not answer: what it held is gone, and the port must be reopened."""


@runtime_checkable
class Transport(Protocol):
    """What the link needs from a byte pipe."""

    def write(self, data: bytes) -> None:
        """Send all of ``data`` (blocking until handed to the OS/driver)."""

    def read(self, max_bytes: int, timeout: float) -> bytes:
        """Return 1..max_bytes bytes as soon as any arrive, or b"" after ``timeout`` seconds."""

    def set_baud(self, baud: int) -> None:
        """Switch the line rate (a no-op for pipes without one)."""

    def close(self) -> None:
        """Release the port; further calls are errors."""


class SerialTransport:
    """A pyserial port opened by URL or device path, e.g. ``/dev/ttyACM0``, ``COM3``, ``loop://``."""

    def __init__(self, url: str, baud: int = LINK_DEFAULT_BAUD, *, write_timeout: float = 5.0) -> None:
        self.url = url
        try:
            self._port = serial.serial_for_url(url, baudrate=baud, timeout=0, write_timeout=write_timeout)
        except _OPEN_ERRORS as exc:
            raise LinkError(
                f"Cannot open serial port {url!r}: {exc}.",
                "Check that the board is plugged in and the port name is right "
                "(`python -m serial.tools.list_ports`), and that no other program holds it.",
            ) from exc
        # A port that stands for a board in software may prepare for each FPGA configuration (the
        # virtual board's sim:// port builds a Verilated design); Board hands it to operations.
        self.before_configure = getattr(self._port, "before_configure", None)

    @property
    def baud(self) -> int:
        return int(self._port.baudrate)

    def write(self, data: bytes) -> None:
        try:
            # No flush (tcdrain) per frame: it left the wire idle between frames, and the window
            # of frames in flight exists precisely so the wire never idles. write_timeout still
            # bounds a write to a port that stopped draining.
            self._port.write(data)
        except _PORT_ERRORS as exc:
            raise self._lost(exc) from exc

    def read(self, max_bytes: int, timeout: float) -> bytes:
        try:
            self._port.timeout = max(0.0, timeout)
            first = self._port.read(1)
            if not first or max_bytes <= 1:
                return bytes(first)
            self._port.timeout = 0
            waiting = self._port.in_waiting
            rest = self._port.read(min(waiting, max_bytes - 1)) if waiting else b""
            return bytes(first + rest)
        except _PORT_ERRORS as exc:
            raise self._lost(exc) from exc

    def set_baud(self, baud: int) -> None:
        try:
            self._port.flush()  # let bytes sent at the old rate leave before switching
            self._port.baudrate = baud
        except _OPEN_ERRORS as exc:
            raise LinkError(
                f"The port {self.url!r} refused {baud} baud: {exc}.",
                "Pick a rate the USB-serial adapter supports, or leave --baud at its default.",
            ) from exc

    def close(self) -> None:
        self._port.close()

    def _lost(self, exc: BaseException) -> LinkError:
        return PortLost(
            f"The serial port {self.url!r} failed: {exc}.",
            "The board was unplugged or reset; reconnect it and run the command again.",
        )

    def __enter__(self) -> SerialTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
