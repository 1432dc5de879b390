"""Fake quantisation for QAT: LSQ learned step sizes, MSE-calibrated initial ranges, per-channel weights.

Why these and not the paper's global min/max with a clipped STE: at 4 bits and below a min/max
range wastes most levels on rare outliers; an MSE-optimal clip (searched once on calibration data)
starts from a good range and LSQ then learns it with the task loss. Rounding is floor(x + 0.5)
everywhere, the same rule as the integer path, so the fake-quant forward and the integer model
differ only in the dyadic multipliers and the softmax table.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class QuantOptions:
    """What the QAT uses; the defaults are what measured best (``bench/accuracy.py --ablation``).

    4-bit (12, 32), test RMSE over 3 seeds, paper quantiser -> ours: seattle-weather 3.35 -> 2.99
    (float 2.86), seattle-temps 1.40 -> 1.25. MSE-calibrated ranges gave most of the gain on the
    daily series, LSQ on the hourly one; distillation from the float model did not change the
    mean (it is available as ``TrainSettings.distill`` but off).

    Tried and not kept (README, "Session 24", 3 seeds): Adam on ``log |step|`` (TQT's
    parametrisation; Adam moves a raw step size by about the learning rate whatever its magnitude,
    which threw au-beer's calibrated 8-bit model from 0.170 to 0.73 validation RMSE in one epoch)
    left most 8-bit cells unchanged to the digit and moved 4-bit ones both ways (airline-1949 35.8
    -> 38.5, sunspots 14.3 -> 14.9, au-beer 21.2 -> 21.0); twice the calibrated range at activations
    of 6 bits or more (headroom for test inputs beyond the training span's: 9-21 % of au-gas',
    au-electricity's and airline-1949's leave it under "diff") helped two of those series and cost
    others more (us-macro 8-bit 94 -> 119, airline-1949 32 -> 43).
    """

    per_channel: bool = True  # one weight scale per output row (else per tensor)
    learn_scales: bool = True  # LSQ: step sizes are trained (else frozen after calibration)
    init: str = "mse"  # weights: "mse" = MSE-optimal clip per channel; "minmax" = the paper's max |w|
    act_init: str = "auto"  # activations: "minmax" (max |x|), "mse", or "auto": max at >= 6 bits, MSE below


def round_ste(x: torch.Tensor) -> torch.Tensor:
    """floor(x + 0.5) forward, identity backward (straight-through)."""
    return x + (torch.floor(x + 0.5) - x).detach()


def grad_scale(s: torch.Tensor, g: float) -> torch.Tensor:
    """Value s, gradient g * ds: LSQ's step-size gradient normalisation."""
    return s * g + (s - s * g).detach()


def fake_quant(x: torch.Tensor, step: torch.Tensor, lo: int, hi: int, learn: bool) -> torch.Tensor:
    """clamp(round(x / step), lo, hi) * step with LSQ gradients to ``step`` when ``learn``."""
    if learn:
        step = grad_scale(step, 1.0 / float((x.numel() * max(hi, 1)) ** 0.5))
    else:
        step = step.detach()
    return torch.clamp(round_ste(x / step), lo, hi) * step


def mse_clip(values: torch.Tensor, levels: int, minmax: bool) -> torch.Tensor:
    """Best clip value per row of |values| (rows, n) for ``levels`` positive levels.

    Searches 40 fractions of the row maximum and keeps the one with the smallest quantisation MSE.
    """
    amax = values.abs().amax(dim=1).clamp_min(1e-8)
    if minmax:
        return amax
    best, best_err = amax.clone(), torch.full_like(amax, float("inf"))
    for frac in torch.linspace(0.1, 1.0, 40):
        clip = amax * frac
        step = (clip / levels)[:, None]
        q = torch.clamp(torch.floor(values / step + 0.5), -levels - 1, levels) * step
        err = ((q - values) ** 2).mean(dim=1)
        better = err < best_err
        best = torch.where(better, clip, best)
        best_err = torch.where(better, err, best_err)
    return best


class ActQuant(nn.Module):
    """Per-tensor activation quantiser with a clamp range [lo, hi]; off, calibrating, or on."""

    def __init__(self, lo: int, hi: int, opts: QuantOptions) -> None:
        super().__init__()
        self.lo, self.hi, self.opts = lo, hi, opts
        self.step = nn.Parameter(torch.tensor(1.0), requires_grad=opts.learn_scales)
        self.mode = "off"
        self._seen: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "calib":
            flat = x.detach().reshape(-1)
            self._seen.append(flat[torch.randperm(flat.numel())[:20000]])
            return x
        if self.mode == "on":
            return fake_quant(x, self.step.abs() + 1e-8, self.lo, self.hi, self.opts.learn_scales)
        return x

    def finish_calibration(self) -> None:
        """Set the step from what was seen: MSE-optimal (or max) clip over the levels."""
        seen = torch.cat(self._seen)[None, :]
        self._seen = []
        levels = max(self.hi if self.lo == 0 else -self.lo - 1, 1)
        seen = seen.clamp_min(0) if self.lo == 0 else seen
        use_max = self.opts.act_init == "minmax" or (self.opts.act_init == "auto" and levels >= 31)
        clip = mse_clip(seen, levels, use_max)
        with torch.no_grad():
            self.step.copy_(clip[0] / levels)

    def scale(self) -> float:
        return float(self.step.detach().abs() + 1e-8)


class WeightQuant(nn.Module):
    """Symmetric narrow-range weight quantiser, per output channel or per tensor."""

    def __init__(self, out_features: int, bits: int, opts: QuantOptions) -> None:
        super().__init__()
        self.qmax, self.opts = (1 << (bits - 1)) - 1, opts
        self.step = nn.Parameter(torch.ones(out_features, 1), requires_grad=opts.learn_scales)

    def init_from(self, w: torch.Tensor) -> None:
        rows = w.detach() if self.opts.per_channel else w.detach().reshape(1, -1)
        clip = mse_clip(rows, self.qmax, self.opts.init == "minmax")
        with torch.no_grad():
            self.step.copy_((clip / self.qmax)[:, None].expand_as(self.step))

    def steps(self) -> torch.Tensor:
        return self.step.abs() + 1e-8

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return fake_quant(w, self.steps(), -self.qmax, self.qmax, self.opts.learn_scales)
