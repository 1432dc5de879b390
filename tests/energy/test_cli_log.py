"""`qtdeploy energy log` asks the board before logging: until the firmware executes
POWER_STREAM, the virtual board answers UNSUPPORTED and the command refuses with the
"not available yet" line, writing nothing (never invented samples)."""

from __future__ import annotations

import os
import shutil

import pytest

from qtdeploy.cli.main import main


def test_log_refuses_when_the_board_lacks_power_stream(tmp_path, capsys):
    if shutil.which(os.environ.get("CC", "cc")) is None:
        pytest.skip("the virtual board needs a C compiler")
    out = tmp_path / "log"
    assert main(["energy", "log", "--port", "sim", "--out", str(out)]) == 3
    assert "not available yet" in capsys.readouterr().err
    assert not out.exists()


def test_log_rejects_a_bad_duration(tmp_path, capsys):
    assert main(["energy", "log", "--out", str(tmp_path), "--duration", "soon"]) == 2
    assert "90s, 10m" in capsys.readouterr().err
