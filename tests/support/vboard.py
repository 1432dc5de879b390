"""Helpers for the end-to-end tests: start virtual boards fast and open sessions on them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from qtdeploy.link import Link, SerialTransport
from qtdeploy.ops import Board
from qtdeploy.sim import SimOptions, VirtualBoard

TIME_SCALE = 0.01
OLD_ABI = 0x0BAD0001  # the image already on the board before a test flashes the demo


@dataclass(frozen=True)
class Images:
    bitstream: Path
    blob: Path
    old_bitstream: Path


def start(flash_file: Path, **kw) -> VirtualBoard:
    """A virtual board at memory speed with fast flash timings (tests), unless overridden;
    published, so that ``sim://?flash=<its file>`` attaches to it."""
    opts = dict(flash_file=flash_file, time_scale=TIME_SCALE, pacing=False) | kw
    return VirtualBoard(SimOptions(**opts), publish=True).start()


def session(vb: VirtualBoard, transport=None, **link_kw) -> Board:
    """A Board on ``vb``'s pty, optionally through a wrapping transport."""
    inner = SerialTransport(f"sim://?flash={vb.flash_file}")  # attaches to vb (its state file)
    t = transport(inner) if transport else inner
    return Board(Link(t, **link_kw), port=vb.pty)
