"""The README's first command, end to end (~20 s): it flashes the demo image and `info` shows the
board's hashes matching the files, forecasts live with every prediction checked on both engines,
and reports energy per inference with its plots. Run as a user would, in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from qtdeploy.paths import repo_root


def test_readme_main_command(tmp_path):
    if shutil.which("cc") is None:
        pytest.skip("no C compiler: the virtual board cannot be built")
    for extra in ("matplotlib", "vega_datasets"):  # [plot] draws energy.png; [train] ships the temperatures
        pytest.importorskip(
            extra, reason=f"the demo needs {extra} (the plot and train extras; setup-env installs them)"
        )
    # This interpreter's environment first on PATH, and no setup: pytest installs nothing (no pip,
    # no apt-get); the demo runs the qtdeploy and python3 that run this test.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = dict(os.environ, QTD_DEMO_OUT=str(tmp_path), COLUMNS="120", QTD_DEMO_NO_SETUP="1", PATH=path)
    proc = subprocess.run(
        ["bash", "scripts/demo"], cwd=repo_root(), env=env, capture_output=True, text=True, timeout=600
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert out.count("matches demo.") == 2, "the board's SHA-256s of bitstream and blob"
    assert "check: 200 predictions equal the host integer reference" in out
    assert "check: 500 predictions equal the host integer reference" in out
    assert "energy per inference" in out and "0 damaged" in out
    png = (tmp_path / "energy.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
