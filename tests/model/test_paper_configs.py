"""The paper's three configurations through the CLI on a packaged real dataset (slow: -m slow)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from qtdeploy.cli.main import main

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    "window,d_model,bits,horizon", [(6, 64, 8, 1), (12, 64, 6, 1), (12, 32, 4, 1), (12, 32, 4, 3)]
)
def test_paper_config_train_export_eval(
    tmp_path: Path, capsys, window: int, d_model: int, bits: int, horizon: int
) -> None:
    if importlib.util.find_spec("vega_datasets") is None:
        pytest.skip("vega-datasets (the train extra) is not installed")
    run, blob = tmp_path / "run", tmp_path / "m.qtb"
    assert (
        main(
            [
                "train",
                "--dataset",
                "seattle-weather",
                "--window",
                str(window),
                "--d-model",
                str(d_model),
                "--bits",
                str(bits),
                "--horizon",
                str(horizon),
                "--epochs",
                "15",
                "--out",
                str(run),
                "--json",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["export", str(run), "--out", str(blob), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["agreement"]["integer_path"]["identical"]
    assert main(["eval", str(blob), "--dataset", "seattle-weather", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    # the window-relative scheme starts at persistence and keeps the best validation state: the
    # integer model beats "repeat the last reading" on daily temperatures at every width
    assert result["scheme"] in ("last", "diff") and result["windows"] > 0
    assert result["rmse_vs_persistence"] < 1.0 and result["clipped_inputs"] < 0.01
