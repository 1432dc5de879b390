"""Model shape and per-tensor bit widths: the one description shared by QAT, export and reference.

Bit widths are per activation tensor and per weight tensor so that mixed precision is a config
change, not a code change; ``ModelConfig.uniform`` gives the paper's single-width models.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from qtdeploy.errors import UsageError

MIN_BITS, MAX_BITS = 2, 8

#: Activation tensors of one encoder layer, in execution order (names as in protocol/model.md).
# The paper's three FPGA configurations, (window, d_model, bits) -> (latency ms, energy mJ), as it
# measured them on the enV5's XC7S15 (rtl/README.md): what `rtl report` and `energy bench` compare with.
PAPER = {(12, 32, 4): (1.33, 0.084), (6, 64, 8): (2.82, 0.212), (12, 64, 6): (4.61, 0.364)}
LAYER_ACTS = ("q", "k", "v", "scores", "probs", "ctx", "attn", "res1", "ffn1", "ffn2", "res2")
#: Activations that are unsigned: the ReLU output and the softmax probabilities.
UNSIGNED_ACTS = ("probs", "ffn1")
#: Linear layers of one encoder layer (weights named ``l{i}.{name}.weight``).
LAYER_LINEARS = ("q", "k", "v", "o", "ffn1", "ffn2")
#: Which activation each linear layer writes.
LINEAR_OUT = {"q": "q", "k": "k", "v": "v", "o": "attn", "ffn1": "ffn1", "ffn2": "ffn2"}


def check_bits(bits: int, what: str = "--bits") -> int:
    """Refuse a width the integer format cannot hold, with the fix."""
    if not isinstance(bits, int) or not MIN_BITS <= bits <= MAX_BITS:
        raise UsageError(
            f"{what} is {bits}; widths must be {MIN_BITS}..{MAX_BITS}.", f"Pass {what} between 2 and 8."
        )
    return bits


@dataclass
class ModelConfig:
    """Shapes (the blob's HParams) plus the width of every quantised tensor.

    ``act_bits`` maps activation names (``x``, ``h0``, ``l0.q``, ..., ``pool``) and
    ``weight_bits`` maps linear names (``in``, ``l0.q``, ..., ``head``) to 2..8.
    ``bits`` None means a float model (no export).
    """

    window: int = 12
    features: int = 1
    d_model: int = 32
    heads: int = 1
    layers: int = 1
    ffn: int = 0
    horizon: int = 1
    bits: int | None = 8
    act_bits: dict[str, int] = field(default_factory=dict)
    weight_bits: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.ffn <= 0:
            self.ffn = 4 * self.d_model
        for name, value in (
            ("window", self.window),
            ("features", self.features),
            ("d_model", self.d_model),
            ("layers", self.layers),
            ("horizon", self.horizon),
        ):
            if value < 1:
                raise UsageError(
                    f"--{name.replace('_', '-')} is {value}; it must be at least 1.", "Pass a positive value."
                )
        if self.heads != 1:
            raise UsageError(
                f"heads={self.heads}: this version implements single-head attention only.", "Use heads=1."
            )
        if self.bits is not None:
            check_bits(self.bits)
            for name in self.act_names():
                check_bits(self.act_bits.setdefault(name, self.bits), f"bits of {name}")
            for name in self.linear_names():
                check_bits(self.weight_bits.setdefault(name, self.bits), f"bits of {name}")

    @classmethod
    def uniform(
        cls,
        *,
        window: int,
        features: int,
        d_model: int,
        bits: int | None,
        horizon: int = 1,
        layers: int = 1,
        ffn: int = 0,
        act_bits: int | None = None,
    ) -> ModelConfig:
        """The paper's models: every weight and activation at ``bits`` (activations at ``act_bits`` if given)."""
        cfg = cls(
            window=window,
            features=features,
            d_model=d_model,
            layers=layers,
            ffn=ffn,
            horizon=horizon,
            bits=bits,
        )
        if act_bits is not None and bits is not None:
            check_bits(act_bits, "--act-bits")
            cfg.act_bits = {name: act_bits for name in cfg.act_names()}
        return cfg

    def act_names(self) -> list[str]:
        names = ["x", "h0"]
        for i in range(self.layers):
            names += [f"l{i}.{a}" for a in LAYER_ACTS]
        return names + ["pool"]

    def linear_names(self) -> list[str]:
        names = ["in"]
        for i in range(self.layers):
            names += [f"l{i}.{n}" for n in LAYER_LINEARS]
        return names + ["head"]

    def act_range(self, name: str) -> tuple[int, int]:
        """Clamp range [lo, hi] of an activation: signed b-bit, or unsigned for probs/ReLU."""
        b = self.act_bits[name]
        if name.split(".")[-1] in UNSIGNED_ACTS:
            return 0, (1 << b) - 1
        return -(1 << (b - 1)), (1 << (b - 1)) - 1

    def weight_max(self, name: str) -> int:
        """Narrow symmetric weight range [-Q, Q]; a 2-bit weight is -1, 0 or 1."""
        return (1 << (self.weight_bits[name] - 1)) - 1

    def hparams(self) -> dict[str, int]:
        return {
            "window": self.window,
            "features": self.features,
            "d_model": self.d_model,
            "heads": self.heads,
            "layers": self.layers,
            "ffn": self.ffn,
            "horizon": self.horizon,
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        return cls(**data)
