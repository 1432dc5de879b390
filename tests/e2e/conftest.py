"""End-to-end fixtures: real images (the demo blob, a simulated bitstream with its ABI), virtual
boards on temporary flash files, and sessions opened on their pseudo-terminals."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from qtdeploy.boards import load_board
from qtdeploy.formats import bitstream, blob, blob_source
from qtdeploy.ops import flash
from qtdeploy.paths import repo_root
from qtdeploy.sim import VirtualBoard  # noqa: E402
from qtdeploy.sim.design import sim_design
from support.vboard import OLD_ABI, Images, session, start


@pytest.fixture(scope="session")
def images(tmp_path_factory) -> Images:
    if shutil.which("cc") is None:
        pytest.skip("no C compiler: the virtual board cannot be built")
    d = tmp_path_factory.mktemp("images")
    data = blob_source.pack_source(repo_root() / "examples" / "demo-model", d / "demo.qtb")
    board = load_board("virtual")
    demo = blob.unpack(data)  # its bitstream carries the design, so the FPGA engine runs it (issue 6)
    (d / "demo.bit").write_bytes(bitstream.write_sim_bitstream(demo.abi, board, sim_design(demo)))
    (d / "old.bit").write_bytes(bitstream.write_sim_bitstream(OLD_ABI, board))
    return Images(d / "demo.bit", d / "demo.qtb", d / "old.bit")


@pytest.fixture(scope="session")
def base_flash(images, tmp_path_factory) -> Path:
    """A flash file whose slot A holds the old image, committed and active."""
    path = tmp_path_factory.mktemp("base") / "flash.bin"
    with start(path) as vb, session(vb) as b:
        r = flash(b, bitstream=images.old_bitstream)
        assert r["active_slot"] == "A"
    return path


@pytest.fixture
def old_board(base_flash, tmp_path) -> Iterator[tuple[Path, VirtualBoard]]:
    """A running board on a private copy of ``base_flash``."""
    path = tmp_path / "flash.bin"
    shutil.copyfile(base_flash, path)
    with start(path) as vb:
        yield path, vb
