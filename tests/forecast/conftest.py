"""Forecast fixtures: the trained example forecaster (1 feature), a golden-vector model (4 features)
and two "season" models (horizon 3) flashed with sim bitstreams of their ABIs into virtual boards
(tests/support/vboard.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from qtdeploy.boards import load_board
from qtdeploy.formats import bitstream, blob
from qtdeploy.ops import flash
from qtdeploy.sim.design import sim_design
from support.forecast_ref import FORECASTER, SEASON, SEASON12, SEASON24, SEASONDIFF24, WEATHER
from support.vboard import session, start


def _flash_file(qtb: Path, d: Path) -> Path:
    b = blob.load(qtb)
    (d / "m.bit").write_bytes(bitstream.write_sim_bitstream(b.abi, load_board("virtual"), sim_design(b)))
    path = d / "flash.bin"
    with start(path) as vb, session(vb) as s:
        flash(s, bitstream=d / "m.bit", blob=qtb)
    return path


def _flashed(qtb: Path, tmp_path_factory) -> Path:
    if shutil.which("cc") is None:
        pytest.skip("no C compiler: the virtual board cannot be built")
    return _flash_file(qtb, tmp_path_factory.mktemp(qtb.stem))


def _running(flash_image: Path, tmp_path: Path) -> Iterator:
    """A running virtual board on a copy of ``flash_image``; ``port`` is what the CLI opens."""
    path = tmp_path / "flash.bin"
    shutil.copyfile(flash_image, path)
    with start(path) as vb:
        vb.port = f"sim://?flash={path}"
        yield vb


@pytest.fixture(scope="session")
def forecaster_flash(tmp_path_factory) -> Path:
    return _flashed(FORECASTER, tmp_path_factory)


@pytest.fixture(scope="session")
def weather_flash(tmp_path_factory) -> Path:
    return _flashed(WEATHER, tmp_path_factory)


@pytest.fixture(
    scope="session",
    params=[SEASON, SEASON12, SEASON24, SEASONDIFF24],
    ids=["period4", "period12-lookback", "period24-over-window", "season-diff24"],
)
def season_model(request) -> Path:
    """A "season" blob from before the lookback (period 4) and two of this version (period 12, and
    24, longer than the window); a "season-diff" blob (period 24, 4 bits)."""
    return request.param


@pytest.fixture(scope="session")
def season_flash(season_model, tmp_path_factory) -> Path:
    return _flashed(season_model, tmp_path_factory)


@pytest.fixture
def vboard(forecaster_flash, tmp_path) -> Iterator:
    """A running virtual board with the forecaster active."""
    yield from _running(forecaster_flash, tmp_path)


@pytest.fixture
def weather_vboard(weather_flash, tmp_path) -> Iterator:
    """A running virtual board with the four-feature weather model active."""
    yield from _running(weather_flash, tmp_path)


@pytest.fixture
def season_vboard(season_flash, tmp_path) -> Iterator:
    """A running virtual board with the "season" model active."""
    yield from _running(season_flash, tmp_path)
