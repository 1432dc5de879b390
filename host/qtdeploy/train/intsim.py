"""The QAT model's integer-simulating eval path: protocol/model.md in torch int64.

A second, independent implementation of the integer semantics (the NumPy reference is the first),
fed by the QAT model's own export. Comparing the two, tensor by tensor, checks the export, the
blob round trip and both implementations at once; the fake-quant float forward is compared too,
to show how far training's view of the model is from what the device computes.
"""

from __future__ import annotations

import numpy as np
import torch

from qtdeploy.model.intmath import RECIP_SHIFT
from qtdeploy.model.intmodel import IntModel


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=np.int64))


class IntegerSim:
    """Integer forward of an :class:`IntModel` in torch (int64 tensors only)."""

    def __init__(self, im: IntModel) -> None:
        self.im = im
        self.t = {n: _t(a) for n, a in im.tensors.items()}
        self.luts = {n: _t(a) for n, a in im.luts.items()}

    def _rng(self, name: str) -> tuple[int, int]:
        lo, hi = self.t[f"{name}.range"].tolist()
        return lo, hi

    def _requant(self, acc: torch.Tensor, op: str, out: str) -> torch.Tensor:
        m, s = self.t[f"{op}.mult"], self.t[f"{op}.shift"]
        return torch.clamp(
            (acc * m + torch.bitwise_left_shift(torch.ones_like(s), s - 1)) >> s, *self._rng(out)
        )

    def _linear(self, op: str, x: torch.Tensor, out: str) -> torch.Tensor:
        return self._requant(x @ self.t[f"{op}.weight"].T + self.t[f"{op}.bias"], op, out)

    def _residual(self, name: str, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        ma, mb = self.t[f"{name}.mult"].tolist()
        s = int(self.t[f"{name}.shift"][0])
        return torch.clamp((a * ma + b * mb + (1 << (s - 1))) >> s, *self._rng(name))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """x (B, T, m) int64 -> every traced tensor (same names as the reference's trace)."""
        t, out = self.t, {"x": x}
        h = self._requant(x @ t["in.weight"].T + t["in.bias"], "in", "h0")
        out["h0"] = h
        for i in range(self.im.config.layers):
            p = f"l{i}."
            q, k, v = (self._linear(p + n, h, p + n) for n in ("q", "k", "v"))
            scores = self._requant(q @ k.transpose(-1, -2), p + "scores", p + "scores")
            lut = self.luts[p + "exp_lut"]
            idx = torch.clamp(scores.amax(dim=-1, keepdim=True) - scores, max=lut.numel() - 1)
            e = lut[idx]
            z = e.sum(dim=-1)
            p_max = self._rng(p + "probs")[1]
            recip = torch.div(p_max * (1 << RECIP_SHIFT) + (z >> 1), z, rounding_mode="floor")
            probs = torch.clamp((e * recip[..., None] + (1 << (RECIP_SHIFT - 1))) >> RECIP_SHIFT, max=p_max)
            ctx = self._requant(probs @ v, p + "ctx", p + "ctx")
            attn = self._linear(p + "o", ctx, p + "attn")
            res1 = self._residual(p + "res1", h, attn)
            f1 = self._linear(p + "ffn1", res1, p + "ffn1")
            f2 = self._linear(p + "ffn2", f1, p + "ffn2")
            h = self._residual(p + "res2", res1, f2)
            out.update(
                {
                    p + "q": q,
                    p + "k": k,
                    p + "v": v,
                    p + "scores": scores,
                    p + "exp": e,
                    p + "expsum": z,
                    p + "recip": recip,
                    p + "probs": probs,
                    p + "ctx": ctx,
                    p + "attn": attn,
                    p + "res1": res1,
                    p + "ffn1": f1,
                    p + "ffn2": f2,
                    p + "res2": h,
                }
            )
        pool = self._requant(h.sum(dim=-2), "pool", "pool")
        out["pool"] = pool
        out["y"] = pool @ t["head.weight"].T + t["head.bias"]
        return out


def compare(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Per tensor: fraction of differing elements and the largest difference in LSBs."""
    report = {}
    for name in a:
        x, y = np.asarray(a[name], dtype=np.int64), np.asarray(b[name], dtype=np.int64)
        diff = np.abs(x - y)
        report[name] = {
            "frac_diff": float(np.mean(diff != 0)) if diff.size else 0.0,
            "max_lsb": int(diff.max(initial=0)),
        }
    return report
