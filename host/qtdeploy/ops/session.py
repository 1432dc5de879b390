"""A board session: transport + link + HELLO, and what the board said about itself.

Why a session object handed to every operation (esptool's ``write_flash(esp, ...)``): tests and
scripts open a board once and run several operations on it, and the CLI stays a thin wrapper.
The HELLO answer becomes typed dataclasses here so operations never index raw containers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from qtdeploy import boards as boards_mod
from qtdeploy._protocol import LINK_NO_SLOT, Codec, FpgaState, Slot
from qtdeploy.errors import BoardFileError, LinkError
from qtdeploy.link import Link, SerialTransport, Transport
from qtdeploy.link.client import Trace
from qtdeploy.ports import EMULATOR_LINK_TIMEOUT, is_rp2040_url, is_sim, register_sim, resolve_port, sim_url

log = logging.getLogger("qtdeploy.ops")


@dataclass(frozen=True)
class SlotRegions:
    """Where one slot's bitstream and blob live in the board's flash."""

    slot: Slot
    bitstream_offset: int
    bitstream_size: int
    blob_offset: int
    blob_size: int


@dataclass(frozen=True)
class FlashGeometry:
    size: int
    sector_size: int
    page_size: int
    jedec_id: int
    meta_offset: int
    meta_size: int
    log_offset: int
    log_size: int
    slots: tuple[SlotRegions, ...]


@dataclass(frozen=True)
class Capabilities:
    """HELLO's answer (protocol/link.md 7.1) as typed fields."""

    protocol_version: int
    firmware: str
    board_id: str
    max_payload: int
    window: int
    fpga_state: FpgaState
    bit_widths: tuple[int, ...]
    engines: int
    codecs: tuple[Codec, ...]
    accel_abi: int
    active_slot: Slot | None
    flash: FlashGeometry

    @property
    def virtual(self) -> bool:
        """The board says it is the virtual one: timings it produces are simulated."""
        return self.board_id == "virtual"


def capabilities_from_hello(info) -> Capabilities:
    lay = info.layout
    slots = tuple(
        SlotRegions(Slot(i), r.bitstream_offset, r.bitstream_size, r.blob_offset, r.blob_size)
        for i, r in enumerate(lay.slots)
    )
    return Capabilities(
        protocol_version=info.protocol_version,
        firmware=f"{info.fw_major}.{info.fw_minor}.{info.fw_patch}",
        board_id=info.board_id,
        max_payload=info.max_payload,
        window=info.window,
        fpga_state=_enum(FpgaState, info.fpga_state),
        bit_widths=tuple(b for b in range(2, 9) if info.bit_widths >> b & 1),
        engines=info.engines,
        codecs=tuple(c for c in Codec if info.codecs >> int(c) & 1),
        accel_abi=info.accel_abi,
        active_slot=None if info.active_slot == LINK_NO_SLOT else Slot(info.active_slot),
        flash=FlashGeometry(
            lay.flash_size,
            lay.sector_size,
            lay.page_size,
            lay.jedec_id,
            lay.meta_offset,
            lay.meta_size,
            lay.log_offset,
            lay.log_size,
            slots,
        ),
    )


def _enum(kind, value: int):
    try:
        return kind(value)
    except ValueError:
        return value


class Board:
    """An open link to one board, HELLO done. Operations in :mod:`qtdeploy.ops` take one of these."""

    def __init__(self, link: Link, *, board_file: boards_mod.Board | None = None, port: str = "") -> None:
        self.link = link
        self.port = port
        self._reopen: dict = {}  # Board.open's baud/trace, for reconnect()
        # Called with the bitstream before FPGA_CONFIGURE: the port's own preparation, if it has any
        # (a sim:// port whose virtual board runs the Verilated RTL builds the design's library).
        # Set from the transport, so operations never reach into the virtual board themselves.
        self.before_configure: Callable[[bytes], object] | None = getattr(
            link.transport, "before_configure", None
        )
        self.caps = capabilities_from_hello(link.hello())
        self.board_file = board_file or _board_file_for(self.caps.board_id)

    @classmethod
    def open(
        cls,
        port: str | None = None,
        *,
        board: str | None = None,
        baud: int | None = None,
        trace: Trace | None = None,
        transport: Transport | None = None,
    ) -> Board:
        """Open ``port`` ('sim', a sim:// URL, a device; None: auto-detect by the board file).

        ``baud`` other than the port's opening rate is negotiated with SET_BAUD after HELLO.
        """
        register_sim()  # pyserial opens sim:// through qtdeploy.sim, imported by name when needed
        board_file = boards_mod.load_board(board) if board else None
        if transport is None:
            probe = board_file or boards_mod.load_board("virtual" if port and is_sim(port) else "env5")
            url = sim_url(resolve_port(port, probe))
            transport = SerialTransport(url, probe.uart.default_baud)
        link = Link(transport, trace=trace, **_emulator_link_options(getattr(transport, "url", "")))
        try:
            session = cls(link, board_file=board_file, port=getattr(transport, "url", ""))
            session._reopen = dict(baud=baud, trace=trace)
            if baud and baud != link.baud:
                link.set_baud(baud)
        except BaseException:
            link.close()
            raise
        return session

    @property
    def virtual(self) -> bool:
        return self.caps.virtual

    @property
    def origin(self) -> str:
        """How the numbers this board produces came about: "simulated" (the posix virtual board),
        "emulated" (the real firmware in the RP2040 emulator, sim://?mcu=rp2040) or "measured"."""
        if is_rp2040_url(self.port):
            return "emulated"
        return "simulated" if self.virtual else "measured"

    def slot_regions(self, slot: Slot) -> SlotRegions:
        for regions in self.caps.flash.slots:
            if regions.slot == slot:
                return regions
        raise LinkError(
            f"The board reports no slot {slot.name}.", "Update the firmware; `qtdeploy info` lists its slots."
        )

    def refresh(self) -> Capabilities:
        """HELLO again (after RESET or a commit) and return the new capabilities."""
        self.caps = capabilities_from_hello(self.link.hello())
        return self.caps

    def reconnect(self) -> Capabilities:
        """Open the port again and HELLO: a board that lost power or reset re-enumerates its USB
        serial port, and the old handle is dead (a sim:// port starts the virtual board again,
        as power coming back would). Raises LinkError while the port is not there."""
        if not self.port:
            raise LinkError(
                "This session was opened on a transport, not a port; it cannot be reopened.",
                "Open the board with Board.open(port) to let it reconnect.",
            )
        try:
            self.link.close()
        except OSError:
            pass  # the port vanished under it
        fresh = Board.open(self.port, board=self.board_file.id if self.board_file else None, **self._reopen)
        self.link, self.caps, self.before_configure = fresh.link, fresh.caps, fresh.before_configure
        return self.caps

    def close(self) -> None:
        self.link.close()

    def __enter__(self) -> Board:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _board_file_for(board_id: str) -> boards_mod.Board | None:
    """The board file named by HELLO's board id, if this checkout has one."""
    try:
        return boards_mod.load_board(board_id)
    except BoardFileError:
        log.warning("no board file for board id %r; part checks use the board's own answers", board_id)
        return None


def open_board(
    port: str | None = None,
    *,
    board: str | None = None,
    baud: int | None = None,
    trace: Callable | None = None,
) -> Board:
    """Shorthand for :meth:`Board.open`."""
    return Board.open(port, board=board, baud=baud, trace=trace)


def _emulator_link_options(url: str) -> dict:
    """A longer base timeout for the emulated RP2040 (``sim://?mcu=rp2040``): rp2040js runs the
    M0+ at ~0.1x real time on a loaded host, so answers that take a board 0.5 s take it seconds."""
    return {"timeout": EMULATOR_LINK_TIMEOUT} if is_rp2040_url(url) else {}
