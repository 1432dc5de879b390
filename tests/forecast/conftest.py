"""Forecast fixtures: the trained example forecaster (1 feature) and a golden-vector model
(4 features) flashed with sim bitstreams of their ABIs into virtual boards (tests/support/vboard.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from qtdeploy.boards import load_board
from qtdeploy.formats import bitstream, blob
from qtdeploy.ops import flash
from qtdeploy.paths import repo_root
from qtdeploy.sim.design import sim_design
from support.vboard import session, start

FORECASTER = repo_root() / "examples" / "forecaster" / "temps-w12-d32-w4a8.qtb"
WEATHER = repo_root() / "protocol" / "vectors" / "model" / "w12_d32_b4" / "model.qtb"  # 4 weather features


def _flash_file(qtb: Path, d: Path) -> Path:
    b = blob.load(qtb)
    (d / "m.bit").write_bytes(bitstream.write_sim_bitstream(b.abi, load_board("virtual"), sim_design(b)))
    path = d / "flash.bin"
    with start(path) as vb, session(vb) as s:
        flash(s, bitstream=d / "m.bit", blob=qtb)
    return path


@pytest.fixture(scope="session")
def forecaster_flash(tmp_path_factory) -> Path:
    if shutil.which("cc") is None:
        pytest.skip("no C compiler: the virtual board cannot be built")
    return _flash_file(FORECASTER, tmp_path_factory.mktemp("fc"))


@pytest.fixture(scope="session")
def weather_flash(tmp_path_factory) -> Path:
    if shutil.which("cc") is None:
        pytest.skip("no C compiler: the virtual board cannot be built")
    return _flash_file(WEATHER, tmp_path_factory.mktemp("wx"))


@pytest.fixture
def vboard(forecaster_flash, tmp_path) -> Iterator:
    """A running virtual board with the forecaster active; ``port`` is what the CLI opens."""
    path = tmp_path / "flash.bin"
    shutil.copyfile(forecaster_flash, path)
    with start(path) as vb:
        vb.port = f"sim://?flash={path}"
        yield vb


#: a "season" model at horizon 3 (protocol/vectors/host: seattle-temps, period 4)
SEASON = repo_root() / "protocol" / "vectors" / "host" / "w12_d32_b8_season_h3" / "model.qtb"


@pytest.fixture(scope="session")
def season_flash(tmp_path_factory) -> Path:
    if shutil.which("cc") is None:
        pytest.skip("no C compiler: the virtual board cannot be built")
    return _flash_file(SEASON, tmp_path_factory.mktemp("season"))


@pytest.fixture
def season_vboard(season_flash, tmp_path) -> Iterator:
    """A running virtual board with the "season" model active."""
    path = tmp_path / "flash.bin"
    shutil.copyfile(season_flash, path)
    with start(path) as vb:
        vb.port = f"sim://?flash={path}"
        yield vb
