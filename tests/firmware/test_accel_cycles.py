"""The virtual accelerator's cycle formula (firmware/hal/posix/accel_cycles.c) against the RTL.

Default slice: the formula, compiled as it is, against CYCLES measured from the Verilated RTL on
every committed vector case (tests/firmware/rtl_cycles.json, with its origin) and the lanes-24
point rtl/README.md reports. `-m slow`: the RTL is simulated now at a lanes value nobody recorded
and must agree too (the formula follows the sequencer, not a table)."""

from __future__ import annotations

import ctypes
import json
import shutil
import subprocess

import pytest

from qtdeploy.paths import repo_root

POSIX = repo_root() / "firmware" / "hal" / "posix"
RECORDED = json.loads((repo_root() / "tests" / "firmware" / "rtl_cycles.json").read_text())


@pytest.fixture(scope="module")
def cycles(tmp_path_factory):
    if shutil.which("cc") is None:
        pytest.skip("no C compiler")
    lib = tmp_path_factory.mktemp("cycles") / "libcycles.so"
    subprocess.run(
        [
            "cc",
            "-std=c11",
            "-Wall",
            "-Werror",
            "-O2",
            "-shared",
            "-fPIC",
            "-o",
            str(lib),
            str(POSIX / "accel_cycles.c"),
        ],
        check=True,
    )
    fn = ctypes.CDLL(str(lib)).accel_cycles
    fn.restype = ctypes.c_uint32
    fn.argtypes = [ctypes.c_uint32] * 6
    return lambda t, m, d, f, h, lanes: fn(t, m, d, f, h, lanes)


def _shape(case: str) -> tuple[int, int, int, int, int]:
    from qtdeploy.formats import blob

    hp = blob.load(repo_root() / "protocol" / "vectors" / "model" / case / "model.qtb").hparams
    return hp.window, hp.features, hp.d_model, hp.ffn, hp.horizon


@pytest.mark.parametrize("case", sorted(RECORDED["cases"]))
def test_formula_matches_recorded_rtl_cycles(cycles, case):
    rec = RECORDED["cases"][case]
    assert cycles(*_shape(case), rec["lanes"]) == rec["cycles"]


def test_formula_matches_readme_lanes_24(cycles):
    # rtl/README.md: "(12,64,6) runs in 29,979 cycles" with --lanes 24 (simulated by the RTL's author)
    assert cycles(*_shape("w12_d64_b6"), 24) == 29_979


def test_formula_behaves(cycles):
    base = cycles(12, 4, 32, 128, 1, 18)
    assert cycles(12, 4, 32, 128, 1, 9) > base > cycles(12, 4, 32, 128, 1, 36)  # more lanes, fewer cycles
    assert cycles(12, 4, 32, 128, 2, 18) > base  # a longer horizon costs HEAD cycles


@pytest.mark.slow
def test_formula_matches_fresh_rtl_simulation(cycles, tmp_path, monkeypatch):
    """Simulate the RTL at lanes = 7 (not in any record) and compare CYCLES with the formula."""
    pytest.importorskip("cocotb_tools")
    from qtdeploy.rtl import config, sim

    monkeypatch.setenv("QTD_RTL_CACHE", str(tmp_path / "rtl-cache"))
    cfg = config.config_for(12, 32, 4, lanes=7)
    res = sim.run(cfg, config.vectors_case(12, 32, 4), test_dir=tmp_path / "run")
    assert set(res["cycles"]) == {cycles(12, 4, 32, 128, 1, 7)}
