"""Fixtures for the model tests: tiny models trained in about a second on the committed CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from qtdeploy.model import data as D
from qtdeploy.model.config import ModelConfig
from qtdeploy.model.intmodel import IntModel

#: without torch (a gateway install, no ``train`` extra) the modules that train models are not
#: collected at all; the integer-only ones (intmath, committed vectors, baselines, data) still run
try:
    import torch  # noqa: F401

    HAS_TORCH = True
except ImportError:
    HAS_TORCH = False
collect_ignore = (
    []
    if HAS_TORCH
    else ["test_bounds.py", "test_cli.py", "test_paper_configs.py", "test_reference.py", "test_scaling.py"]
)

TINY_CSV = Path(__file__).resolve().parents[1] / "data" / "model" / "seattle_weather_300.csv"


@pytest.fixture(scope="session")
def tiny_series() -> D.Series:
    return D.load_csv(TINY_CSV, target="temp_max", features=["temp_max", "temp_min", "wind"])


def tiny_model(
    series: D.Series,
    bits: int,
    window: int = 6,
    d_model: int = 8,
    layers: int = 1,
    horizon: int = 1,
    act_bits: int | None = None,
) -> tuple[Any, IntModel]:
    pytest.importorskip("torch")
    from qtdeploy.train import export as E
    from qtdeploy.train.qat import TrainSettings, train

    cfg = ModelConfig.uniform(
        window=window,
        features=series.x.shape[1],
        d_model=d_model,
        bits=bits,
        layers=layers,
        horizon=horizon,
        act_bits=act_bits,
    )
    res = train(series, cfg, TrainSettings(epochs=2, patience=2, min_steps=0))
    im = E.export(
        res.model, {"norm": res.norm.to_dict(), "features": series.features, "target": series.target}
    )
    return res, im


@pytest.fixture(scope="session", params=[2, 5, 8], ids=lambda b: f"{b}bit")
def trained(request, tiny_series) -> tuple[Any, IntModel]:
    return tiny_model(tiny_series, request.param)


@pytest.fixture(scope="session")
def make_tiny(tiny_series):
    """Factory: ``make_tiny(bits, window=..., d_model=..., layers=...)`` -> (TrainResult, IntModel)."""
    return lambda bits, **kw: tiny_model(tiny_series, bits, **kw)
