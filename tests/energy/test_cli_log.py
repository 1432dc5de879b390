"""`qtdeploy energy log`: the virtual board executes POWER_STREAM; bad arguments are usage errors."""

from __future__ import annotations

import os
import shutil

import pytest

from qtdeploy.cli.main import main


def test_the_virtual_board_answers_power_stream():
    if shutil.which(os.environ.get("CC", "cc")) is None:
        pytest.skip("the virtual board needs a C compiler")
    from qtdeploy.cli.energy import _board_streams_power

    assert _board_streams_power("sim", None, False)


def test_log_rejects_a_bad_duration(tmp_path, capsys):
    assert main(["energy", "log", "--out", str(tmp_path), "--duration", "soon"]) == 2
    assert "90s, 10m" in capsys.readouterr().err
