"""The exported integer model as a dataclass, and its round trip through a ``.qtb`` blob.

Keeping our own dataclass (instead of passing ``Blob`` around) lets the reference and the exporter
name tensors exactly as protocol/model.md does, while ``qtdeploy.formats.blob`` owns the bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qtdeploy.errors import FormatError
from qtdeploy.model.config import ModelConfig

LUT_BITS = 16


@dataclass
class IntModel:
    """Integer tensors by blob name, the exponent tables, and host-only metadata (floats)."""

    config: ModelConfig
    tensors: dict[str, np.ndarray]
    luts: dict[str, np.ndarray]
    meta: dict[str, Any] = field(default_factory=dict)

    def storage(self, name: str) -> tuple[int, bool]:
        """(bits, signed) a tensor is stored with: weights packed at their width, the rest plain."""
        if name.endswith(".weight"):
            return self.config.weight_bits[name[: -len(".weight")]], True
        if name.endswith(".shift"):
            return 8, False
        if name.endswith(".range"):  # at the activation's own width: the ABI id then covers it
            act = name[: -len(".range")]
            return self.config.act_bits[act], self.config.act_range(act)[0] < 0
        return 32, True

    def size_bytes(self) -> int:
        """Bytes of integer payload on the device (weights packed at their width, LUTs 16-bit)."""
        bits = sum(self.storage(n)[0] * a.size for n, a in self.tensors.items())
        bits += sum(LUT_BITS * a.size for a in self.luts.values())
        return (bits + 7) // 8


def to_blob(im: IntModel) -> Any:
    """Build a ``qtdeploy.formats.blob.Blob`` (zero points 0, requant in ``.mult``/``.shift`` tensors)."""
    from qtdeploy.formats import blob as fmt

    tensors = []
    for name, data in im.tensors.items():
        bits, signed = im.storage(name)
        tensors.append(
            fmt.Tensor(
                name=name,
                data=np.asarray(data, dtype=np.int64),
                bits=bits,
                signed=signed,
                zero_point=0,
                multiplier=0,
                shift=0,
            )
        )
    luts = [
        fmt.Lut(name=n, data=np.asarray(a, dtype=np.int64), bits=LUT_BITS, signed=False)
        for n, a in im.luts.items()
    ]
    meta = dict(im.meta)
    meta["config"] = im.config.to_dict()
    return fmt.Blob(hparams=fmt.HParams(**im.config.hparams()), tensors=tensors, luts=luts, meta=meta)


def from_blob(blob: Any) -> IntModel:
    """Rebuild the integer model from a Blob; refuses what protocol/model.md does not allow."""
    meta = dict(blob.meta or {})
    if "config" not in meta:
        raise FormatError(
            "the blob has no model config in its meta; it was not written by `qtdeploy export`.",
            "Export the model again with `qtdeploy export RUN --out model.qtb`.",
        )
    config = ModelConfig.from_dict(meta.pop("config"))
    tensors: dict[str, np.ndarray] = {}
    for t in blob.tensors:
        if int(getattr(t, "zero_point", 0) or 0) != 0:
            raise FormatError(
                f"tensor {t.name} has zero point {t.zero_point}; this model format needs 0.",
                "Re-export the model with this qtdeploy version.",
            )
        tensors[t.name] = np.asarray(t.data, dtype=np.int64)
    luts = {lut.name: np.asarray(lut.data, dtype=np.int64) for lut in blob.luts}
    im = IntModel(config=config, tensors=tensors, luts=luts, meta=meta)
    missing = [n for n in required_names(config) if n not in tensors and n not in luts]
    if missing:
        raise FormatError(
            f"the blob lacks model tensors: {', '.join(missing[:5])}.",
            "Re-export the model; the blob is incomplete or from another tool.",
        )
    return im


def required_names(config: ModelConfig) -> list[str]:
    """Every tensor and LUT name protocol/model.md requires for this config."""
    names = [f"{a}.range" for a in config.act_names()]
    for op in config.linear_names():
        names += [f"{op}.weight", f"{op}.bias"] + ([] if op == "head" else [f"{op}.mult", f"{op}.shift"])
    for i in range(config.layers):
        for op in ("scores", "ctx", "res1", "res2"):
            names += [f"l{i}.{op}.mult", f"l{i}.{op}.shift"]
        names.append(f"l{i}.exp_lut")
    return names + ["pool.mult", "pool.shift"]


def save(im: IntModel, path: str | Path) -> bytes:
    """Write the ``.qtb``; returns its bytes."""
    from qtdeploy.formats import blob as fmt

    data = fmt.pack(to_blob(im))
    Path(path).write_bytes(data)
    return data


def load(path: str | Path) -> IntModel:
    """Read a ``.qtb`` written by :func:`save` (the reference needs nothing else)."""
    from qtdeploy.formats import blob as fmt

    p = Path(path)
    if not p.is_file():
        raise FormatError(
            f"{p} does not exist or is not a file.", "Pass the .qtb written by `qtdeploy export`."
        )
    return from_blob(fmt.unpack(p.read_bytes()))
