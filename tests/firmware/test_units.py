"""C unit tests (firmware/tests/test_*.c): NOR rules against the NOR model, slot metadata and
power cuts at every flash operation of a commit, FPGA configuration against the virtual FPGA."""

from __future__ import annotations

import subprocess

import pytest


@pytest.mark.parametrize("name", ["test_nor", "test_slots", "test_fpga"])
def test_c_unit(fw_build, parse_summary, name):
    proc = subprocess.run([str(fw_build / "tests" / name)], capture_output=True, text=True, timeout=120)
    passed, failed = parse_summary(proc.stdout)
    assert failed == 0 and proc.returncode == 0, proc.stdout + proc.stderr
    assert passed > 10
    if name == "test_slots":
        assert "power cuts simulated: 3" in proc.stdout


def test_c_bench_refusals(fw_build, parse_summary):
    """POWER_BENCH (issue 15) refuses a bad length, N out of range and a board with no monitor."""
    proc = subprocess.run(
        [str(fw_build / "tests" / "test_bench")], capture_output=True, text=True, timeout=60
    )
    passed, failed = parse_summary(proc.stdout)
    assert failed == 0 and proc.returncode == 0, proc.stdout + proc.stderr
    assert passed == 6
