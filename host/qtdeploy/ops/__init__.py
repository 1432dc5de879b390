"""Board operations over the link (transport, link, operations: each layer handed the one below): library functions taking an open :class:`Board`.

``with Board.open("sim") as b: flash(b, bitstream=..., blob=...); info(b)`` is what the CLI does,
and what tests and scripts can do without it.
"""

from qtdeploy.ops.flash import flash, stale_sectors, write_sectors
from qtdeploy.ops.images import Image, Sector, choose_slot, prepare, sectors
from qtdeploy.ops.info import fpga_status, info, slot_info
from qtdeploy.ops.session import Board, Capabilities, FlashGeometry, SlotRegions, open_board

__all__ = [
    "Board",
    "Capabilities",
    "FlashGeometry",
    "Image",
    "Sector",
    "SlotRegions",
    "choose_slot",
    "flash",
    "fpga_status",
    "info",
    "open_board",
    "prepare",
    "sectors",
    "slot_info",
    "stale_sectors",
    "write_sectors",
]
