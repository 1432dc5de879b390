"""The forecaster in PyTorch: a float mode for pre-training and a fake-quant mode for QAT.

The fake-quant forward follows protocol/model.md op for op (same tensors, same clamp ranges, same
round-half-up, BatchNorm folded into the branch linears with frozen statistics, positional encoding
added before the input linear's rounding), so that export changes only the scales into dyadic
multipliers and the softmax into its table.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from qtdeploy.model.config import ModelConfig
from qtdeploy.model.intmath import positional_encoding
from qtdeploy.train.quant import ActQuant, QuantOptions, WeightQuant, round_ste


def _key(name: str) -> str:
    return name.replace(".", "_")


class EncoderLayer(nn.Module):
    """Single-head self-attention and FFN, BatchNorm on each residual branch (foldable)."""

    def __init__(self, d: int, f: int) -> None:
        super().__init__()
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.ffn1, self.ffn2 = nn.Linear(d, f), nn.Linear(f, d)
        self.bn1, self.bn2 = nn.BatchNorm1d(d), nn.BatchNorm1d(d)


def fold_bn(lin: nn.Linear, bn: nn.BatchNorm1d) -> tuple[torch.Tensor, torch.Tensor]:
    """W' = W * g / sqrt(var + eps) per row; b' = (b - mean) * g / sqrt(var + eps) + beta (running stats)."""
    factor = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    return lin.weight * factor[:, None], (lin.bias - bn.running_mean) * factor + bn.bias


class Forecaster(nn.Module):
    """Input linear + PE, ``layers`` encoder layers, average pooling over time, linear head."""

    def __init__(self, config: ModelConfig, opts: QuantOptions | None = None) -> None:
        super().__init__()
        self.config, self.opts = config, opts or QuantOptions()
        d = config.d_model
        self.inp = nn.Linear(config.features, d)
        self.layers = nn.ModuleList(EncoderLayer(d, config.ffn) for _ in range(config.layers))
        self.head = nn.Linear(d, config.horizon)
        self.register_buffer("pe", torch.tensor(positional_encoding(config.window, d), dtype=torch.float32))
        self.quantised = False
        if config.bits is not None:
            self.acts = nn.ModuleDict(
                {
                    _key(a): ActQuant(*config.act_range(a), self.opts)
                    for a in config.act_names()
                    if not a.endswith("probs")
                }
            )
            self.wq = nn.ModuleDict(
                {
                    _key(n): WeightQuant(self._linear(n).out_features, config.weight_bits[n], self.opts)
                    for n in config.linear_names()
                }
            )

    # -- parameters as the integer model sees them ------------------------------------------------

    def _linear(self, name: str) -> nn.Linear:
        if name in ("in", "head"):
            return self.inp if name == "in" else self.head
        i, op = name[1:].split(".")
        return getattr(self.layers[int(i)], op)

    def effective(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        """The float weight and bias a linear contributes, with its BatchNorm folded in."""
        lin = self._linear(name)
        if name.endswith(".o") or name.endswith(".ffn2"):
            layer = self.layers[int(name[1:].split(".")[0])]
            return fold_bn(lin, layer.bn1 if name.endswith(".o") else layer.bn2)
        return lin.weight, lin.bias

    def act(self, name: str, x: torch.Tensor) -> torch.Tensor:
        return self.acts[_key(name)](x) if self.config.bits is not None else x

    def _qlinear(
        self, name: str, x: torch.Tensor, in_act: str, extra_bias: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Linear with quantised weight and a bias rounded to the accumulator scale."""
        w, b = self.effective(name)
        if extra_bias is not None:
            b = b + extra_bias
        if not self.quantised:
            return x @ w.T + b
        wq = self.wq[_key(name)]
        acc_scale = (self.acts[_key(in_act)].step.abs() + 1e-8).detach() * wq.steps().detach()[:, 0]
        return x @ wq(w).T + round_ste(b / acc_scale) * acc_scale

    def _branch(self, name: str, x: torch.Tensor, in_act: str, bn: nn.BatchNorm1d) -> torch.Tensor:
        """Branch linear + BatchNorm: batch statistics in float training, folded when quantised."""
        if self.quantised:
            return self._qlinear(name, x, in_act)
        y = self._linear(name)(x)
        return bn(y.transpose(1, 2)).transpose(1, 2)

    # -- forward ----------------------------------------------------------------------------------

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, T, m) normalised floats -> (B, H) normalised forecast."""
        x = self.act("x", x)
        h = self.act("h0", self._qlinear("in", x, "x", extra_bias=self.pe))
        d = self.config.d_model
        for i, layer in enumerate(self.layers):
            p = f"l{i}."
            q = self.act(p + "q", self._qlinear(p + "q", h, "h0" if i == 0 else f"l{i - 1}.res2"))
            k = self.act(p + "k", self._qlinear(p + "k", h, "h0" if i == 0 else f"l{i - 1}.res2"))
            v = self.act(p + "v", self._qlinear(p + "v", h, "h0" if i == 0 else f"l{i - 1}.res2"))
            scores = self.act(p + "scores", q @ k.transpose(1, 2) / math.sqrt(d))
            probs = torch.softmax(scores, dim=-1)
            if self.quantised:
                p_max = self.config.act_range(p + "probs")[1]
                probs = round_ste(probs * p_max) / p_max
            ctx = self.act(p + "ctx", probs @ v)
            attn = self.act(p + "attn", self._branch(p + "o", ctx, p + "ctx", layer.bn1))
            res1 = self.act(p + "res1", h + attn)
            f1 = self.act(p + "ffn1", torch.relu(self._qlinear(p + "ffn1", res1, p + "res1")))
            f2 = self.act(p + "ffn2", self._branch(p + "ffn2", f1, p + "ffn1", layer.bn2))
            h = self.act(p + "res2", res1 + f2)
        pool = self.act("pool", h.mean(dim=1))
        return self._qlinear("head", pool, "pool")

    # -- switching modes --------------------------------------------------------------------------

    def set_quant_mode(self, mode: str) -> None:
        """ "off" (float), "calib" (observe ranges, float forward) or "on" (fake quantisation)."""
        if self.config.bits is None:
            raise ValueError("a float model (bits=None) has no quantisers")
        for a in self.acts.values():
            a.mode = mode
        self.quantised = mode == "on"

    def start_qat(self, calib_batches: list[torch.Tensor]) -> None:
        """Freeze BatchNorm, calibrate activation ranges, initialise weight steps; then fake-quant."""
        for layer in self.layers:
            layer.bn1.eval()
            layer.bn2.eval()
        self.set_quant_mode("calib")
        with torch.no_grad():
            self.eval()
            for xb in calib_batches:
                self(xb)
        for a in self.acts.values():
            a.finish_calibration()
        for n in self.config.linear_names():
            self.wq[_key(n)].init_from(self.effective(n)[0])
        self.set_quant_mode("on")

    def train(self, mode: bool = True) -> Forecaster:
        """Training mode that keeps BatchNorm frozen once quantised (its statistics are folded)."""
        super().train(mode)
        if self.quantised:
            for layer in self.layers:
                layer.bn1.eval()
                layer.bn2.eval()
        return self

    def integer_forward(self, x_norm: torch.Tensor) -> torch.Tensor:
        """The eval-mode integer path: export the current parameters, run protocol/model.md in int64.

        Returns the int32-valued head output (B, H); multiply by the export's ``output_scale`` for
        normalised forecasts. Equal, element for element, to the NumPy reference on the blob.
        """
        from qtdeploy.model.intmath import quantise_input
        from qtdeploy.train.export import export
        from qtdeploy.train.intsim import IntegerSim

        im = export(self)
        lo, hi = self.config.act_range("x")
        xq = quantise_input(x_norm.detach().double().numpy(), im.meta["input_scale"], lo, hi)
        return IntegerSim(im).forward(torch.as_tensor(xq))["y"]
