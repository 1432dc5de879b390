"""The FPGA engine on the virtual board: the firmware's accelerator driver loading every golden
vector case through the register SPI into the accelerator's C model, INFER and streams on both
engines bit-exact with the golden y and the host integer reference, and CYCLES as the RTL counts.

Each case is flashed with a simulated bitstream that carries the case's design descriptor
(qtdeploy.sim.design): the virtual FPGA builds its accelerator for exactly that shape."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from qtdeploy._protocol import Engine, Status
from qtdeploy.boards import load_board
from qtdeploy.errors import DeviceError
from qtdeploy.formats import bitstream, blob
from qtdeploy.model import reference
from qtdeploy.model.intmodel import from_blob
from qtdeploy.model.vectors import read_tensor
from qtdeploy.ops import flash, info
from qtdeploy.ops.stream import WindowStream, infer, load_model
from qtdeploy.paths import repo_root
from qtdeploy.sim.design import sim_design
from support.vboard import session, start

VECTORS = repo_root() / "protocol" / "vectors" / "model"
CASES = sorted(p.name for p in VECTORS.iterdir() if (p / "model.qtb").is_file())
# Cycles per inference measured from the Verilated RTL (qtdeploy.rtl.sim on each case's golden
# windows, default lanes = 72 / weight bits), recorded in tests/firmware/rtl_cycles.json.
RTL_CYCLES = json.loads((repo_root() / "tests" / "firmware" / "rtl_cycles.json").read_text())["cases"]


def _flash_case(case: str, path) -> None:
    data = (VECTORS / case / "model.qtb").read_bytes()
    b = blob.unpack(data)
    bit = path.parent / f"{case}.bit"
    bit.write_bytes(bitstream.write_sim_bitstream(b.abi, load_board("virtual"), sim_design(b)))
    with start(path) as vb, session(vb) as s:
        flash(s, bitstream=bit, blob=VECTORS / case / "model.qtb")


@pytest.mark.parametrize("case", CASES)
def test_golden_vectors_both_engines(case, tmp_path):
    path = tmp_path / "flash.bin"
    _flash_case(case, path)
    b = blob.load(VECTORS / case / "model.qtb")
    im = from_blob(b)
    x = read_tensor(VECTORS / case / "x.txt")[1]
    y = read_tensor(VECTORS / case / "y.txt")[1]
    lo, hi = (int(v) for v in im.tensors["x.range"])
    rng = np.random.default_rng(len(case))
    xr = rng.integers(lo, hi + 1, size=(24, *x.shape[1:]))
    xr[0], xr[1] = hi, lo
    windows = np.concatenate([x, xr]).astype(np.int8)
    expect = np.concatenate([y.reshape(len(x), -1), reference.forward(im, xr).reshape(len(xr), -1)])
    with start(path) as vb, session(vb) as s:
        assert s.caps.engines & (1 << Engine.FPGA) and s.caps.engines & (1 << Engine.MCU)
        fpga = load_model(s, Engine.FPGA)
        assert (fpga.in_count, fpga.out_count, fpga.abi) == (x[0].size, y[0].size, b.abi)
        for engine in (Engine.FPGA, Engine.MCU):
            r = infer(s, windows[0], engine)
            assert np.array_equal(r.outputs, expect[0]) and r.engine == engine
            with WindowStream(s, engine, model=fpga, max_in_flight=8) as st:
                got = list(st.run(windows))
            assert [g.seq for g in got] == list(range(len(windows)))
            for g in got:
                assert g.ok and np.array_equal(g.outputs, expect[g.seq]), (engine.name, g.seq)
            if engine == Engine.FPGA:
                assert {g.accel_cycles for g in got} == {RTL_CYCLES[case]["cycles"]}
                # the MCU's timestamps bracket the simulated accelerator time (CYCLES at 100 MHz)
                assert all(g.t_end_us - g.t_start_us >= g.accel_cycles // 100 for g in got)
            else:
                assert all(g.accel_cycles == 0 for g in got)


def test_fpga_engine_refusals(tmp_path):
    """No FPGA model: NO_MODEL; an FPGA whose bitstream has another ABI: ABI_MISMATCH; a window
    outside x.range: BAD_ARGUMENT from the driver, as from the MCU kernel."""
    path = tmp_path / "flash.bin"
    _flash_case("w12_d32_b4", path)
    im = from_blob(blob.load(VECTORS / "w12_d32_b4" / "model.qtb"))
    x = read_tensor(VECTORS / "w12_d32_b4" / "x.txt")[1].astype(np.int8)
    with start(path) as vb, session(vb) as s:
        with pytest.raises(DeviceError) as e:
            infer(s, x[0], Engine.FPGA)
        assert e.value.status == Status.NO_MODEL
        load_model(s, Engine.FPGA)
        _, hi = (int(v) for v in im.tensors["x.range"])
        bad = x[0].copy()
        bad[0, 0] = hi + 1
        for engine in (Engine.FPGA, Engine.MCU):
            with pytest.raises(DeviceError) as e:
                infer(s, bad, engine)
            assert e.value.status == Status.BAD_ARGUMENT
    # the other case's blob in the slot, this case's bitstream: ABI_MISMATCH for FPGA only
    other = tmp_path / "other.bin"
    shutil.copyfile(path, other)
    with start(other) as vb, session(vb) as s:
        flash(s, bitstream=tmp_path / "w12_d32_b4.bit", blob=VECTORS / "w12_d32_b4" / "model.qtb")
        assert info(s)["fpga"]["state"] == "CONFIGURED"


def test_another_table_order(tmp_path):
    """A blob whose tensor table is in another order than `qtdeploy export` writes (the ABI, which
    hashes the widths in table order, changes with it): the design descriptor carries the order,
    so the accelerator model loads and runs it bit-exact; the RTL would refuse to build it."""
    import dataclasses

    from qtdeploy._protocol import Status
    from qtdeploy.errors import NotAvailableError
    from qtdeploy.sim.rtl import design_config, prebuild_flash

    b = blob.load(VECTORS / "w12_d32_b4" / "model.qtb")
    shuffled = dataclasses.replace(b, tensors=list(reversed(b.tensors)))
    assert shuffled.abi != b.abi
    data = blob.pack(shuffled)
    (tmp_path / "m.qtb").write_bytes(data)
    bit = tmp_path / "m.bit"
    bit.write_bytes(bitstream.write_sim_bitstream(shuffled.abi, load_board("virtual"), sim_design(shuffled)))
    with pytest.raises(NotAvailableError) as refused:
        design_config(sim_design(shuffled))
    assert refused.value.status == Status.RTL_UNSUPPORTED  # a code to branch on, not the message text
    if shutil.which("c++"):  # a --fpga rtl board starting on such a flash skips the design, with a warning
        assert prebuild_flash(bit) == []
    im = from_blob(b)
    lo, hi = (int(v) for v in im.tensors["x.range"])
    xs = np.random.default_rng(5).integers(lo, hi + 1, size=(16, 12, 4))
    expect = reference.forward(im, xs).reshape(16, -1)
    with start(tmp_path / "flash.bin") as vb, session(vb) as s:
        flash(s, bitstream=bit, blob=tmp_path / "m.qtb")
        model = load_model(s, Engine.FPGA)
        with WindowStream(s, Engine.FPGA, model=model) as st:
            got = list(st.run(xs.astype(np.int8)))
    assert all(g.ok and np.array_equal(g.outputs, expect[g.seq]) for g in got)
