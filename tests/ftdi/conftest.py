"""Fixtures for the direct-SPI (FTDI) tests: images, board files, virtual FT232Hs on flash files."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip(
    "pyftdi", reason="the ftdi extra (pyftdi, pyusb) is not installed: scripts/setup-env installs it"
)

from qtdeploy.boards import Board, load_board
from qtdeploy.formats import bitstream, blob
from qtdeploy.ftdi.virtual.backend import VirtualFt232h, attached
from qtdeploy.paths import repo_root
from qtdeploy.sim.design import sim_design

EXAMPLE_BLOB = repo_root() / "examples" / "forecaster" / "temps-w12-d32-w4a8.qtb"


@dataclass(frozen=True)
class Images:
    bitstream: Path
    blob: Path
    other_bitstream: Path  # a second image (another ABI, no design), for re-flashes


@pytest.fixture(scope="session")
def board() -> Board:
    return load_board("virtual")


@pytest.fixture(scope="session")
def images(tmp_path_factory, board) -> Images:
    d = tmp_path_factory.mktemp("ftdi-images")
    data = EXAMPLE_BLOB.read_bytes()
    model = blob.unpack(data)
    (d / "m.qtb").write_bytes(data)
    (d / "m.bit").write_bytes(bitstream.write_sim_bitstream(model.abi, board, sim_design(model)))
    (d / "old.bit").write_bytes(bitstream.write_sim_bitstream(0x0BAD0001, board))
    return Images(d / "m.bit", d / "m.qtb", d / "old.bit")


@pytest.fixture
def adapter(tmp_path, board) -> Iterator[Callable[..., VirtualFt232h]]:
    """``adapter()`` attaches a virtual FT232H on ``tmp_path/flash.bin`` (or the given file) for the test."""
    stack = []

    def make(flash_file: Path | None = None, **kw) -> VirtualFt232h:
        dev = VirtualFt232h(kw.pop("board", board), flash_file or tmp_path / "flash.bin", **kw)
        ctx = attached(dev)
        ctx.__enter__()
        stack.append(ctx)
        return dev

    yield make
    for ctx in reversed(stack):
        ctx.__exit__(None, None, None)
