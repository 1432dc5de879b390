"""QAT model -> integer model: fold BatchNorm, quantise weights and biases, scales -> (M, s), tables.

This is the last place floats appear. Every conversion rounds half up, as the device does, and the
accumulator bounds of protocol/model.md are checked for the model actually written.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from qtdeploy.errors import CompatibilityError, UsageError
from qtdeploy.model.intmath import INT32_MAX, dyadic, dyadic_pair, exp_lut, round_half_up, saturate_bias
from qtdeploy.model.intmodel import IntModel
from qtdeploy.train.net import Forecaster, _key


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().double().cpu().numpy()


def _requant_arrays(ms: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    return np.array([m for m, _ in ms], dtype=np.int64), np.array([s for _, s in ms], dtype=np.int64)


def export(model: Forecaster, meta: dict[str, Any] | None = None) -> IntModel:
    """The integer model of a quantised Forecaster (its fake-quant mode must be on)."""
    cfg = model.config
    if cfg.bits is None or not model.quantised:
        raise UsageError(
            "this run holds a float model; only quantised (QAT) models export to integers.",
            "Train with --bits 2..8.",
        )
    scale = {a: model.acts[_key(a)].scale() for a in cfg.act_names() if not a.endswith("probs")}
    for i in range(cfg.layers):
        scale[f"l{i}.probs"] = 1.0 / cfg.act_range(f"l{i}.probs")[1]
    tensors: dict[str, np.ndarray] = {
        f"{a}.range": np.array(cfg.act_range(a), dtype=np.int64) for a in cfg.act_names()
    }
    luts: dict[str, np.ndarray] = {}
    saturated = 0

    def linear(op: str, in_act: str, out_act: str | None, extra_bias: np.ndarray | None = None) -> np.ndarray:
        nonlocal saturated
        w, b = (_np(t) for t in model.effective(op))
        steps = _np(model.wq[_key(op)].steps())[:, 0]
        qmax = cfg.weight_max(op)
        tensors[f"{op}.weight"] = np.clip(round_half_up(w / steps[:, None]), -qmax, qmax)
        if extra_bias is not None:
            b = b[None, :] + extra_bias
        lo, hi = cfg.act_range(in_act)
        bias, n = saturate_bias(round_half_up(b / (scale[in_act] * steps)), w.shape[1], max(-lo, hi), qmax)
        saturated += n
        tensors[f"{op}.bias"] = bias
        if out_act is not None:
            tensors[f"{op}.mult"], tensors[f"{op}.shift"] = _requant_arrays(
                [dyadic(scale[in_act] * st / scale[out_act]) for st in steps]
            )
        return steps

    def per_tensor(name: str, m: float) -> None:
        mult, shift = dyadic(m)
        tensors[f"{name}.mult"], tensors[f"{name}.shift"] = np.array([mult]), np.array([shift])

    def residual(name: str, skip: str, branch: str) -> None:
        (ma, mb), shift = dyadic_pair(scale[skip] / scale[name], scale[branch] / scale[name])
        tensors[f"{name}.mult"], tensors[f"{name}.shift"] = np.array([ma, mb]), np.array([shift])

    linear("in", "x", "h0", extra_bias=_np(model.pe))
    h = "h0"
    for i in range(cfg.layers):
        p = f"l{i}."
        for op in ("q", "k", "v"):
            linear(p + op, h, p + op)
        per_tensor(
            p + "scores", scale[p + "q"] * scale[p + "k"] / (math.sqrt(cfg.d_model) * scale[p + "scores"])
        )
        luts[p + "exp_lut"] = exp_lut(scale[p + "scores"], cfg.act_bits[p + "scores"])
        per_tensor(p + "ctx", scale[p + "probs"] * scale[p + "v"] / scale[p + "ctx"])
        linear(p + "o", p + "ctx", p + "attn")
        residual(p + "res1", h, p + "attn")
        linear(p + "ffn1", p + "res1", p + "ffn1")
        linear(p + "ffn2", p + "ffn1", p + "ffn2")
        residual(p + "res2", p + "res1", p + "ffn2")
        h = p + "res2"
    per_tensor("pool", scale[h] / (cfg.window * scale["pool"]))
    head_steps = linear("head", "pool", None)
    info = dict(meta or {})
    info.update(
        {
            "input_scale": scale["x"],
            "output_scale": [scale["pool"] * s for s in head_steps],
            "act_scales": scale,
            "saturated_biases": saturated,
        }
    )
    im = IntModel(config=cfg, tensors=tensors, luts=luts, meta=info)
    bounds = accumulator_bounds(im)
    worst = max(bounds, key=bounds.get)
    if bounds[worst] > INT32_MAX:
        raise CompatibilityError(
            f"accumulator {worst} can reach {bounds[worst]}, beyond int32.",
            "Use narrower widths or a smaller layer.",
        )
    return im


def accumulator_bounds(im: IntModel) -> dict[str, int]:
    """Worst-case |accumulator| of every int32 op, from the widths and stored biases (model.md table)."""
    cfg, t = im.config, im.tensors

    def amax(act: str) -> int:
        lo, hi = (int(v) for v in t[f"{act}.range"])
        return max(-lo, hi)

    def lin(op: str, in_act: str) -> int:
        w = t[f"{op}.weight"]
        return int(w.shape[1] * amax(in_act) * cfg.weight_max(op) + np.abs(t[f"{op}.bias"]).max())

    out = {"in": lin("in", "x")}
    h = "h0"
    for i in range(cfg.layers):
        p = f"l{i}."
        out.update({p + op: lin(p + op, h) for op in ("q", "k", "v")})
        out[p + "scores"] = cfg.d_model * amax(p + "q") * amax(p + "k")
        out[p + "expsum"] = cfg.window * 32767
        out[p + "ctx"] = cfg.window * amax(p + "probs") * amax(p + "v")
        out[p + "o"] = lin(p + "o", p + "ctx")
        out[p + "ffn1"] = lin(p + "ffn1", p + "res1")
        out[p + "ffn2"] = lin(p + "ffn2", p + "ffn1")
        h = p + "res2"
    out["pool"] = cfg.window * amax(h)
    out["head"] = lin("head", "pool")
    return out
