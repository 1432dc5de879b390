"""The accumulator bounds of protocol/model.md: tight, within int32, and enforced at export."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from qtdeploy.errors import CompatibilityError
from qtdeploy.model import reference
from qtdeploy.model.config import ModelConfig
from qtdeploy.model.intmath import INT32_MAX, saturate_bias
from qtdeploy.train import export as E
from qtdeploy.train.net import Forecaster

# (op, input activation) for every linear layer of a one-layer model
LINEARS = [
    ("in", "x"),
    ("l0.q", "h0"),
    ("l0.k", "h0"),
    ("l0.v", "h0"),
    ("l0.o", "l0.ctx"),
    ("l0.ffn1", "l0.res1"),
    ("l0.ffn2", "l0.ffn1"),
    ("head", "pool"),
]


def worst_model(window: int, d_model: int, bits: int, features: int = 4):
    """An exported model whose weights are all at +-Qmax: the bound formulas become exact."""
    torch.manual_seed(0)
    cfg = ModelConfig.uniform(window=window, features=features, d_model=d_model, bits=bits)
    model = Forecaster(cfg)
    model.start_qat([torch.randn(64, window, features)])
    im = E.export(model, {})
    rng = np.random.default_rng(1)
    for op, _ in LINEARS:
        w = im.tensors[f"{op}.weight"]
        im.tensors[f"{op}.weight"] = np.where(rng.random(w.shape) < 0.5, -1, 1) * cfg.weight_max(op)
    return cfg, im


@pytest.mark.parametrize("window,d_model", [(6, 64), (12, 64), (12, 32)])
def test_paper_configs_at_8_bits_fit_int32(window: int, d_model: int) -> None:
    cfg, im = worst_model(window, d_model, 8)
    bounds = E.accumulator_bounds(im)
    assert max(bounds.values()) <= INT32_MAX
    assert bounds["l0.ffn2"] >= 4 * d_model * 255 * 127  # the largest fan-in term is there


def test_worst_case_inputs_reach_but_never_exceed_the_bounds() -> None:
    cfg, im = worst_model(12, 64, 8)
    bounds = E.accumulator_bounds(im)
    for op, act in LINEARS:
        w, bias = im.tensors[f"{op}.weight"], im.tensors[f"{op}.bias"]
        lo, hi = (int(v) for v in im.tensors[f"{act}.range"])
        # input aligned with the signs of row 0 (and of the bias): the largest |acc| that row can give
        sign = np.sign(bias.reshape(-1, w.shape[0])[0, 0]) or 1
        x = np.where(np.sign(w[0]) == sign, hi, lo).astype(np.int64)
        acc = x @ w.T.astype(np.int64) + bias
        assert np.abs(acc).max() <= bounds[op] <= INT32_MAX, op
    # attention and pooling: extremes in every position
    big = np.full((1, 12, 64), 127, dtype=np.int64)
    assert np.abs(big[0] @ big[0].T).max() <= bounds["l0.scores"]
    assert 12 * 127 <= bounds["pool"]


def test_reference_runs_worst_case_inputs_within_ranges() -> None:
    cfg, im = worst_model(12, 64, 8)
    lo, hi = (int(v) for v in im.tensors["x.range"])
    x = np.stack(
        [np.full((12, 4), hi), np.full((12, 4), lo), np.where(np.indices((12, 4)).sum(0) % 2 == 0, hi, lo)]
    ).astype(np.int64)
    trace = reference.forward(im, x, trace=True)
    for name in cfg.act_names():
        r = im.tensors[f"{name}.range"]
        assert r[0] <= trace[name].min() and trace[name].max() <= r[1]
    assert np.abs(trace["y"]).max() <= E.accumulator_bounds(im)["head"]


def test_requant_parameters_respect_the_int64_proof() -> None:
    _, im = worst_model(6, 16, 5)
    for name, t in im.tensors.items():
        if name.endswith(".mult"):
            assert t.min() >= 1 and t.max() <= INT32_MAX, name
        if name.endswith(".shift"):
            assert t.min() >= 1 and t.max() <= 62, name
    assert all(v.max() <= 32767 and v.min() >= 0 for v in im.luts.values())


def test_bias_saturation_and_refusal() -> None:
    bias, n = saturate_bias(np.array([INT32_MAX, -5]), 256, 255, 127)
    assert n == 1 and bias[0] == INT32_MAX - 256 * 255 * 127 and bias[1] == -5
    with pytest.raises(CompatibilityError):
        saturate_bias(np.zeros(2, dtype=np.int64), 1 << 20, 255, 127)
