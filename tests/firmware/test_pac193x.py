"""The PAC193x driver against the register-level PAC1934 model and the power model (issue 7).

Built here with cc directly from the four files it needs (firmware/tests/pac193x_test.c has
its own HAL seams: the model bus and a simulated clock), so it needs no Makefile rule and runs
in a fraction of a second. The C side prints one `energy ...` line per profile with the worst
rail's error against the analytic integral of the power profile; each must be under 1 %.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from qtdeploy.boards import load_board
from qtdeploy.paths import cache_dir, repo_root
from support.scripts import load_script

_SOURCES = ("tests/pac193x_test.c", "core/pac193x.c", "hal/posix/pac1934_model.c", "hal/posix/power_model.c")
_FLAGS = ("-std=c11", "-Wall", "-Wextra", "-Werror", "-Wshadow", "-Wstrict-prototypes", "-O2", "-g")


@pytest.fixture(scope="module")
def pac_test_bin() -> Path:
    cc = os.environ.get("CC", "cc")
    if shutil.which(cc) is None:
        pytest.skip("no C compiler (cc) on PATH: the firmware tests need one")
    fw = repo_root() / "firmware"
    out = cache_dir() / "pac193x-test" / "pac193x_test"
    # the power model's table comes from the board file, as in every firmware build
    gen = out.parent / "gen"
    header = load_script(fw / "tools" / "board_header.py")
    (gen / "qtd").mkdir(parents=True, exist_ok=True)
    (gen / "qtd" / "board_config.h").write_text(header.render(load_board("virtual"), "virtual.toml"))
    cmd = [cc, *_FLAGS, "-Iinclude", "-Ihal", "-Ihal/posix", f"-I{gen}", "-o", str(out), *_SOURCES, "-lm"]
    proc = subprocess.run(cmd, cwd=fw, capture_output=True, text=True)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stderr}"
    return out


def test_driver_against_register_model(pac_test_bin, parse_summary):
    proc = subprocess.run([str(pac_test_bin)], capture_output=True, text=True, timeout=60)
    passed, failed = parse_summary(proc.stdout)
    assert failed == 0 and proc.returncode == 0, proc.stdout + proc.stderr
    assert passed > 200


def test_energy_within_one_percent_at_every_rate(pac_test_bin):
    proc = subprocess.run([str(pac_test_bin)], capture_output=True, text=True, timeout=60)
    lines = re.findall(r"energy rate=(\d+) noise=(\d+)ppm .* worst_rail_error=([\d.]+)%", proc.stdout)
    assert {int(r) for r, _, _ in lines} == {1024, 256, 64, 8}
    assert {int(n) for _, n, _ in lines} == {0, 20000}, "with and without the model's noise"
    for rate, noise, err in lines:
        assert float(err) < 1.0, f"{rate} SPS, noise {noise} ppm: {err} %"
