"""`qtdeploy energy log` against the virtual board: POWER_STREAM samples into a log that
`energy report` reads; bad arguments are usage errors that write nothing."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from qtdeploy.cli.main import main
from qtdeploy.energy import read_log


def _need_cc() -> None:
    if shutil.which(os.environ.get("CC", "cc")) is None:
        pytest.skip("the virtual board needs a C compiler")


def test_log_from_the_virtual_board_then_report(tmp_path, capsys):
    _need_cc()
    out = tmp_path / "log"
    port = f"sim://?flash={tmp_path / 'flash.bin'}&pacing=0"
    assert (
        main(
            ["energy", "log", "--port", port, "--out", str(out), "--duration", "3s", "--rate", "20", "--json"]
        )
        == 0
    )
    res = json.loads(capsys.readouterr().out)
    assert res["origin"] == "simulated" and res["board"] == "virtual" and res["rate_hz"] == 20
    data = read_log(out)
    assert (
        data.meta["origin"] == "simulated"
        and len(data.rails) == 8
        and "usb_raw" not in data.meta["total_rails"]
    )
    assert data.damaged == [] and 40 <= len(data.samples) <= 65 and res["samples"] == len(data.samples)
    t = [r[0] for r in data.samples]
    assert all(b > a for a, b in zip(t, t[1:])), "board timestamps increase"
    mcu_mw = [r[2 + 3 * data.rails.index("mcu") + 2] for r in data.samples]
    assert all(abs(p / 59.4 - 1) < 0.03 for p in mcu_mw), "idle mcu rail: 3.3 V x 18 mA (power.md §3)"
    assert main(["energy", "report", str(out), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["origin"] == "simulated" and rep["rails"]["mcu"]["mean_mw"] == pytest.approx(59.4, rel=0.01)


def test_log_with_a_subset_of_rails(tmp_path, capsys):
    _need_cc()
    out = tmp_path / "log"
    port = f"sim://?flash={tmp_path / 'flash.bin'}&pacing=0"
    assert (
        main(
            [
                "energy",
                "log",
                "--port",
                port,
                "--out",
                str(out),
                "--duration",
                "1s",
                "--rails",
                "mcu,fpga_vccint",
                "--json",
            ]
        )
        == 0
    )
    assert read_log(out).rails == ["mcu", "fpga_vccint"]
    assert main(["energy", "log", "--port", port, "--out", str(tmp_path / "x"), "--rails", "nope"]) == 2
    assert "not on board" in capsys.readouterr().err and not (tmp_path / "x").exists()


def test_log_rejects_a_bad_duration(tmp_path, capsys):
    assert main(["energy", "log", "--out", str(tmp_path), "--duration", "soon"]) == 2
    assert "90s, 10m" in capsys.readouterr().err
    assert main(["energy", "log", "--out", str(tmp_path / "y"), "--rate", "0"]) == 2
    assert not (tmp_path / "y").exists()
