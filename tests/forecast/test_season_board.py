"""`qtdeploy forecast` of a "season" model on the virtual board, horizon 3.

The board returns the integer outputs; the host turns them into forecasts from each window's
seasonal-naive levels (``Window.anchor``), one per step, not from its last reading. Compared with
the host integer reference on the same readings, window by window and step by step."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from qtdeploy.cli.main import main
from support.forecast_ref import expected, windows

SOURCE, COUNT = "synthetic:seed=5", 60


def _reference(qtb: Path) -> tuple[np.ndarray, np.ndarray]:
    """Forecasts (COUNT, 3) from the reference's outputs and each window's anchor, and what the
    same outputs would give anchored on the last reading (as a "last" model would)."""
    sc, wins = windows(qtb, SOURCE, COUNT)
    y = expected(SOURCE, COUNT, qtb)
    good = np.stack([sc.denormalise(yi, x.last, x.scale, x.anchor) for yi, x in zip(y, wins)])
    wrong = np.stack([sc.denormalise(yi, x.last, x.scale, [x.last[0]] * 3) for yi, x in zip(y, wins)])
    return good, wrong


def test_season_forecasts_on_the_board_use_each_steps_seasonal_level(
    season_model, season_vboard, tmp_path, capsys
):
    out = tmp_path / "p.csv"
    code = main(
        ["forecast", "--port", season_vboard.port, "--source", SOURCE, "--count", str(COUNT), "--check"]
        + ["--out", str(out), "--json"]
    )
    std = capsys.readouterr()
    assert code == 0, std.err
    s = json.loads(std.out)
    assert (s["windows"], s["ok"], s["checked"]) == (COUNT, COUNT, COUNT)
    with open(out, newline="") as f:
        got = np.array([[float(r[f"pred_temp_h{k}"]) for k in (1, 2, 3)] for r in csv.DictReader(f)])
    good, wrong = _reference(season_model)
    assert np.allclose(got, good, atol=1e-4)
    assert np.abs(good - wrong).max() > 0.1  # the anchor matters on these readings
