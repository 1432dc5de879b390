"""The QAT model's integer eval path and the NumPy integer reference agree on every tensor."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from qtdeploy.model import data as D
from qtdeploy.model import reference
from qtdeploy.model.evaluate import quantised_inputs
from qtdeploy.train.intsim import IntegerSim, compare
from qtdeploy.train.runs import agreement


def _test_windows(res, im, series) -> np.ndarray:
    return D.make_splits(series, im.config.window, im.config.horizon, res.norm)["test"]["x"]


def test_integer_path_equals_reference_on_every_test_window(trained, tiny_series) -> None:
    res, im = trained
    xq = quantised_inputs(im, _test_windows(res, im, tiny_series))
    ref = reference.forward(im, xq, trace=True)
    sim = {k: v.numpy() for k, v in IntegerSim(im).forward(torch.as_tensor(xq)).items()}
    assert set(sim) == set(ref) == set(reference.vector_names(1))
    bad = {k: v for k, v in compare(ref, sim).items() if v["max_lsb"]}
    assert not bad


def test_fake_quant_forward_is_close_to_integer(trained, tiny_series) -> None:
    res, im = trained
    a = agreement(res.model, im, _test_windows(res, im, tiny_series))
    assert a["integer_path"]["identical"]
    # training's float view differs only by multiplier rounding and the exp table
    assert a["fake_quant"]["median_rel"] < 0.05


def test_every_activation_stays_in_its_range(trained, tiny_series) -> None:
    res, im = trained
    trace = reference.forward(im, quantised_inputs(im, _test_windows(res, im, tiny_series)), trace=True)
    for name in im.config.act_names():
        lo, hi = im.tensors[f"{name}.range"]
        assert lo <= trace[name].min() and trace[name].max() <= hi, name


def test_reference_refuses_float_input(trained) -> None:
    _, im = trained
    with pytest.raises(TypeError):
        reference.forward(im, np.zeros((1, im.config.window, im.config.features)))


@pytest.mark.parametrize("kw", [{"layers": 2}, {"horizon": 3}, {"act_bits": 8}], ids=str)
def test_other_shapes_and_mixed_widths_agree(make_tiny, tiny_series, kw) -> None:
    res, im = make_tiny(3 if "act_bits" in kw else 6, **kw)
    xq = quantised_inputs(im, _test_windows(res, im, tiny_series))
    ref = reference.forward(im, xq, trace=True)
    sim = {k: v.numpy() for k, v in IntegerSim(im).forward(torch.as_tensor(xq)).items()}
    assert all(v["max_lsb"] == 0 for v in compare(ref, sim).values())
    assert ref["y"].shape[1] == im.config.horizon and ("l1.res2" in ref) == (im.config.layers == 2)
    if "act_bits" in kw:  # 3-bit weights, 8-bit activations
        assert im.tensors["l0.q.weight"].max() <= 3 and int(im.tensors["l0.q.range"][1]) == 127


def test_random_inputs_over_the_whole_range_agree(trained) -> None:
    """Not only data windows: any input in x.range gives the same integers on both paths."""
    _, im = trained
    lo, hi = (int(v) for v in im.tensors["x.range"])
    x = np.random.default_rng(7).integers(lo, hi + 1, size=(64, im.config.window, im.config.features))
    ref = reference.forward(im, x, trace=True)
    sim = {k: v.numpy() for k, v in IntegerSim(im).forward(torch.as_tensor(x)).items()}
    assert all(v["max_lsb"] == 0 for v in compare(ref, sim).values())


def test_model_integer_forward_matches_the_blob(trained, tiny_series, tmp_path) -> None:
    """The QAT model's eval integer path equals the reference run from the saved .qtb alone."""
    from qtdeploy.model import intmodel

    res, im = trained
    x = _test_windows(res, im, tiny_series)
    y_model = res.model.integer_forward(torch.as_tensor(x, dtype=torch.float32)).numpy()
    intmodel.save(im, tmp_path / "m.qtb")
    loaded = intmodel.load(tmp_path / "m.qtb")
    assert np.array_equal(y_model, reference.forward(loaded, quantised_inputs(loaded, x)))
