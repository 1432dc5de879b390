"""`qtdeploy forecast` of a four-feature model on the virtual board, both engines.

Every other board test streams one feature. Here each window is 12 rows of four readings read by
name from a CSV whose columns are in another order (and hold a date and a text column too); the
board's forecasts must equal the host integer reference's on the same windows, de-normalised from
each window's last reading of the target."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from qtdeploy.cli.main import main
from qtdeploy.forecast.window import Scaling
from qtdeploy.model import reference
from qtdeploy.model.intmodel import load
from qtdeploy.paths import repo_root
from support.forecast_ref import WEATHER

CSV = repo_root() / "tests" / "data" / "model" / "seattle_weather_300.csv"
SOURCE, COUNT = f"csv:{CSV}", 120


@pytest.mark.parametrize("engine", ["fpga", "mcu"])
def test_four_feature_forecasts_on_the_board_equal_the_reference(weather_vboard, tmp_path, capsys, engine):
    out = tmp_path / "p.csv"
    code = main(
        ["forecast", "--port", weather_vboard.port, "--source", SOURCE, "--count", str(COUNT), "--check"]
        + ["--engine", engine, "--out", str(out), "--json"]
    )
    std = capsys.readouterr()
    assert code == 0, std.err
    s = json.loads(std.out)
    assert (s["windows"], s["ok"], s["checked"], s["engine"]) == (COUNT, COUNT, COUNT, engine)
    with open(out, newline="") as f:
        got = np.array([float(r["pred_temp_max"]) for r in csv.DictReader(f)])
    # the windows built here from the file's columns by name, apart from forecast's sources and windower
    im = load(WEATHER)
    sc, window = Scaling.from_model(im), im.config.window
    with open(CSV, newline="") as f:
        raw = np.array([[float(r[name]) for name in sc.features] for r in csv.DictReader(f)])
    raw_windows = [raw[i : i + window] for i in range(COUNT)]
    y = reference.forward(im, np.stack([sc.quantise(w) for w in raw_windows]).astype(np.int64))
    want = np.array([sc.denormalise(yi, w[-1])[0] for yi, w in zip(y, raw_windows, strict=True)])
    assert len({round(v, 2) for v in want}) > 30  # forecasts that vary, not one repeated value
    assert np.allclose(got, want, atol=1e-4)
