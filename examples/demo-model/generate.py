"""Write the demo forecaster's integer tensors and model.toml for `qtdeploy pack`.

The committed files next to this script are its output at 4 bits (`python generate.py`); the
tests call :func:`write_demo` for 2, 6 and 8 bits. The values are seeded random integers with
the names, shapes, widths and value ranges of protocol/model.md (window 12, 1 feature,
d_model 32, one layer, one head, ffn 128, horizon 1): a stand-in with the real model's layout
until a trained model is exported, so pack, inspect and flash can be exercised end to end.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

HPARAMS = {"window": 12, "features": 1, "d_model": 32, "heads": 1, "layers": 1, "ffn": 128, "horizon": 1}
SIGNED_ACTS = ("q", "k", "v", "scores", "ctx", "attn", "res1", "ffn2", "res2")
UNSIGNED_ACTS = ("probs", "ffn1")  # softmax probabilities and the ReLU output


def _tensors(bits: int, rng: np.random.Generator) -> list[tuple[str, np.ndarray, int, bool]]:
    """(name, data, bits, signed) in table order."""
    T, m, d, f, H = (HPARAMS[k] for k in ("window", "features", "d_model", "ffn", "horizon"))
    wmax = (1 << (bits - 1)) - 1  # narrow-range signed weights
    srange = np.array([-(1 << (bits - 1)), (1 << (bits - 1)) - 1], np.int32)
    urange = np.array([0, (1 << bits) - 1], np.int32)
    out: list[tuple[str, np.ndarray, int, bool]] = []

    def weight(name: str, shape: tuple[int, ...]) -> None:
        out.append((name, rng.integers(-wmax, wmax + 1, shape, dtype=np.int8), bits, True))

    def requant(prefix: str, channels: int) -> None:
        out.append(
            (f"{prefix}.mult", rng.integers(1 << 29, (1 << 31) - 1, channels, dtype=np.int32), 32, True)
        )
        out.append((f"{prefix}.shift", rng.integers(30, 40, channels, dtype=np.uint8), 8, False))

    def linear(prefix: str, shape: tuple[int, int], bias_shape: tuple[int, ...] | None = None) -> None:
        weight(f"{prefix}.weight", shape)
        out.append(
            (
                f"{prefix}.bias",
                rng.integers(-(1 << 12), 1 << 12, bias_shape or shape[:1], dtype=np.int32),
                32,
                True,
            )
        )
        requant(prefix, shape[0])

    out.append(("x.range", srange, 32, True))
    linear("in", (d, m), bias_shape=(T, d))  # in.bias carries the positional encoding: (T, d)
    out.append(("h0.range", srange, 32, True))
    for layer in range(HPARAMS["layers"]):
        p = f"l{layer}"
        for proj in ("q", "k", "v", "o"):
            linear(f"{p}.{proj}", (d, d))
        linear(f"{p}.ffn1", (f, d))
        linear(f"{p}.ffn2", (d, f))
        for act in SIGNED_ACTS + UNSIGNED_ACTS:
            out.append((f"{p}.{act}.range", urange if act in UNSIGNED_ACTS else srange, 32, True))
        requant(f"{p}.scores", 1)
        requant(f"{p}.ctx", 1)
        for res in ("res1", "res2"):
            out.append((f"{p}.{res}.mult", rng.integers(1 << 29, (1 << 31) - 1, 2, dtype=np.int32), 32, True))
            out.append((f"{p}.{res}.shift", rng.integers(30, 40, 1, dtype=np.uint8), 8, False))
    out.append(("pool.range", srange, 32, True))
    requant("pool", 1)
    out.append(("head.weight", rng.integers(-wmax, wmax + 1, (H, d), dtype=np.int8), bits, True))
    out.append(("head.bias", rng.integers(-(1 << 12), 1 << 12, H, dtype=np.int32), 32, True))
    return out


def exp_lut(bits: int, scale: float = 0.25) -> np.ndarray:
    """protocol/model.md's softmax table: 32767 * exp(-i * S), cut after the first 0 or 2^bits."""
    values = [math.floor(32767 * math.exp(-i * scale) + 0.5) for i in range(1 << bits)]
    if 0 in values:
        values = values[: values.index(0) + 1]
    return np.array(values, dtype=np.uint16)


def write_demo(directory: str | Path, bits: int = 4, seed: int = 2026) -> Path:
    """Write <name>.npy for every tensor and LUT plus model.toml; returns the directory."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed + bits)
    lines = [
        f"# The demo forecaster at {bits} bits, written by generate.py (seeded random integers with",
        "# the names and widths of protocol/model.md). Format: protocol/blob.md, 'Description'.",
        "",
        "[model]",
        *(f"{k} = {v}" for k, v in HPARAMS.items()),
        "",
        "# Most tensors are int32 (ranges, biases, multipliers); weights and shifts say otherwise.",
        "[defaults]",
        "bits = 32",
        "signed = true",
        "",
    ]
    for name, data, width, signed in _tensors(bits, rng):
        np.save(root / f"{name}.npy", data)
        lines.append("[[tensor]]")
        lines.append(f'name = "{name}"')
        if (width, signed) != (32, True):
            lines.append(f"bits = {width}")
            lines.append(f"signed = {str(signed).lower()}")
        lines.append("")
    for layer in range(HPARAMS["layers"]):
        np.save(root / f"l{layer}.exp_lut.npy", exp_lut(bits))
        lines += ["[[lut]]", f'name = "l{layer}.exp_lut"', "bits = 16", "signed = false", ""]
    lines += [
        "[meta]",
        'model_name = "demo-forecaster"',
        'features = ["load_kw"]',
        'target = "load_kw"',
        "input_scale = 0.0625",
        "output_scale = [0.001953125]",
        "bits = { weights = %d, activations = %d }" % (bits, bits),
        "",
        "[meta.norm]",
        "mean = [41.7, 41.7]   # input feature(s), then the target",
        "std = [12.3, 12.3]",
        "",
    ]
    (root / "model.toml").write_text("\n".join(lines), encoding="utf-8")
    return root


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bits", type=int, default=4, help="weight and activation width, 2..8")
    parser.add_argument("--out", default=str(Path(__file__).parent), help="directory to write")
    args = parser.parse_args()
    write_demo(args.out, args.bits)
