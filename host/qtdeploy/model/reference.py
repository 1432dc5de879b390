"""The integer reference: protocol/model.md executed in int64 NumPy, batched over windows.

This is the definition of the model's answer. It reads only the integer tensors of an
:class:`IntModel` (which :mod:`qtdeploy.model.intmodel` loads from a ``.qtb`` alone) and uses only
integer operations: matmul, add, multiply, arithmetic shift, clip, table look-up, floor division.
"""

from __future__ import annotations

import numpy as np

from qtdeploy.model.intmath import requant_int, softmax_int
from qtdeploy.model.intmodel import IntModel


def _range(im: IntModel, name: str) -> tuple[int, int]:
    lo, hi = im.tensors[f"{name}.range"]
    return int(lo), int(hi)


def _linear(im: IntModel, op: str, x: np.ndarray, out: str) -> np.ndarray:
    """requant(W @ x + bias) per output channel; x (..., K) int64 -> (..., N)."""
    w = im.tensors[f"{op}.weight"].astype(np.int64)
    acc = x @ w.T + im.tensors[f"{op}.bias"].astype(np.int64)
    return requant_int(acc, im.tensors[f"{op}.mult"], im.tensors[f"{op}.shift"], *_range(im, out))


def _residual(im: IntModel, name: str, skip: np.ndarray, branch: np.ndarray) -> np.ndarray:
    """Two multipliers, one shift: clamp((a*Ma + b*Mb + 2^(s-1)) >> s)."""
    ma, mb = (np.int64(v) for v in im.tensors[f"{name}.mult"])
    s = np.int64(im.tensors[f"{name}.shift"][0])
    out = (skip * ma + branch * mb + (np.int64(1) << (s - 1))) >> s  # type: ignore[operator]  # int64 arrays
    return np.clip(out, *_range(im, name))


def forward(im: IntModel, x: np.ndarray, trace: bool = False) -> np.ndarray | dict[str, np.ndarray]:
    """Run windows ``x`` (B, T, m) of quantised inputs; returns y (B, H) int64.

    With ``trace`` returns every intermediate tensor by its vector name (protocol/model.md table),
    which is what the golden vectors hold.
    """
    x = np.asarray(x)
    if x.dtype.kind not in "iu":
        raise TypeError("the integer reference takes integer inputs; quantise on the host first")
    x = x.astype(np.int64)
    lo, hi = _range(im, "x")
    if x.min(initial=0) < lo or x.max(initial=0) > hi:
        raise ValueError(f"input outside x.range [{lo}, {hi}]")
    out: dict[str, np.ndarray] = {"x": x}
    w = im.tensors["in.weight"].astype(np.int64)
    acc = x @ w.T + im.tensors["in.bias"].astype(np.int64)  # (B,T,d) + (T,d): bias + PE ROM
    h = requant_int(acc, im.tensors["in.mult"], im.tensors["in.shift"], *_range(im, "h0"))
    out["h0"] = h
    for i in range(im.config.layers):
        p = f"l{i}."
        q = _linear(im, p + "q", h, p + "q")
        k = _linear(im, p + "k", h, p + "k")
        v = _linear(im, p + "v", h, p + "v")
        scores = requant_int(
            q @ np.swapaxes(k, -1, -2),
            im.tensors[p + "scores.mult"],
            im.tensors[p + "scores.shift"],
            *_range(im, p + "scores"),
        )
        soft = softmax_int(scores, im.luts[p + "exp_lut"], _range(im, p + "probs")[1])
        ctx = requant_int(
            soft["probs"] @ v, im.tensors[p + "ctx.mult"], im.tensors[p + "ctx.shift"], *_range(im, p + "ctx")
        )
        attn = _linear(im, p + "o", ctx, p + "attn")
        res1 = _residual(im, p + "res1", h, attn)
        ffn1 = _linear(im, p + "ffn1", res1, p + "ffn1")
        ffn2 = _linear(im, p + "ffn2", ffn1, p + "ffn2")
        h = _residual(im, p + "res2", res1, ffn2)
        out.update(
            {
                p + "q": q,
                p + "k": k,
                p + "v": v,
                p + "scores": scores,
                **{p + key: val for key, val in soft.items()},
                p + "ctx": ctx,
                p + "attn": attn,
                p + "res1": res1,
                p + "ffn1": ffn1,
                p + "ffn2": ffn2,
                p + "res2": h,
            }
        )
    pool = requant_int(h.sum(axis=-2), im.tensors["pool.mult"], im.tensors["pool.shift"], *_range(im, "pool"))
    out["pool"] = pool
    out["y"] = pool @ im.tensors["head.weight"].astype(np.int64).T + im.tensors["head.bias"].astype(np.int64)
    return out if trace else out["y"]


def vector_names(layers: int) -> list[str]:
    """Every traced tensor, in execution order: the files a golden-vector case holds."""
    names = ["x", "h0"]
    for i in range(layers):
        names += [
            f"l{i}.{n}"
            for n in (
                "q",
                "k",
                "v",
                "scores",
                "exp",
                "expsum",
                "recip",
                "probs",
                "ctx",
                "attn",
                "res1",
                "ffn1",
                "ffn2",
                "res2",
            )
        ]
    return names + ["pool", "y"]
