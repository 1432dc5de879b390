"""Golden vectors: the blob, the inputs, every intermediate integer tensor and the outputs, as text.

Plain decimal text (one file per tensor, one line per innermost row, a ``#`` header with name,
type and shape) because the C firmware tests read it with ``fscanf`` and Verilog testbenches with
``$fscanf``; no NumPy format to parse on either side. protocol/model.md describes the layout.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from qtdeploy.errors import FormatError
from qtdeploy.model import intmodel, reference
from qtdeploy.model.intmodel import IntModel


def _dtype(a: np.ndarray) -> str:
    lo, hi = int(a.min(initial=0)), int(a.max(initial=0))
    for bits in (8, 16, 32, 64):
        if -(1 << (bits - 1)) <= lo and hi < (1 << (bits - 1)):
            return f"int{bits}"
    raise ValueError("value beyond int64")


def write_tensor(path: Path, name: str, a: np.ndarray) -> None:
    a = np.asarray(a, dtype=np.int64)
    rows = a.reshape(-1, a.shape[-1]) if a.ndim > 1 else a.reshape(1, -1)
    lines = [f"# {name} {_dtype(a)} {','.join(str(n) for n in a.shape)}"]
    lines += [" ".join(str(int(v)) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")


def read_tensor(path: Path) -> tuple[str, np.ndarray]:
    """Parse one vector file; refuses a header/shape mismatch rather than guessing."""
    text = path.read_text().splitlines()
    if not text or not text[0].startswith("# "):
        raise FormatError(
            f"{path} has no '# name type shape' header.", "Regenerate it with `qtdeploy export --vectors`."
        )
    _, name, _dtype_name, shape_s = text[0].split(" ")
    shape = tuple(int(n) for n in shape_s.split(","))
    values = np.array([int(v) for line in text[1:] for v in line.split()], dtype=np.int64)
    if values.size != int(np.prod(shape)):
        raise FormatError(
            f"{path} holds {values.size} values, its header says shape {shape}.", "Regenerate the vectors."
        )
    return name, values.reshape(shape)


def write_vectors(
    im: IntModel, x: np.ndarray, out: str | Path, info: dict[str, Any] | None = None
) -> list[str]:
    """Write ``out/model.qtb``, ``out/index.json`` and one ``<name>.txt`` per traced tensor."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    intmodel.save(im, out / "model.qtb")
    trace = reference.forward(im, x, trace=True)
    names = reference.vector_names(im.config.layers)
    for name in names:
        write_tensor(out / f"{name}.txt", name, trace[name])
    index = {
        "format": "qtdeploy-vectors/1",
        "windows": int(len(x)),
        "config": im.config.to_dict(),
        "tensors": [{"name": n, "file": f"{n}.txt", "shape": list(np.shape(trace[n]))} for n in names],
        **(info or {}),
    }
    (out / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    return names


def write_host_vectors(im: IntModel, raw: np.ndarray, out: str | Path) -> None:
    """``out/host.json``: the host's pre/post step as a vector (protocol/model.md, "Host scaling").

    Raw windows in sensor units, and the forecasts in the target's units that the blob's ``norm``
    scheme makes of the case's integer outputs; ``x.txt`` must equal the raw windows scaled and
    quantised. Floats: a consumer compares forecasts to a relative 1e-9.
    """
    from qtdeploy.model.evaluate import predict

    doc = {
        "format": "qtdeploy-host-vectors/1",
        "scheme": im.meta["norm"].get("scheme", "global"),
        "raw": np.asarray(raw, dtype=np.float64).tolist(),
        "forecast": predict(im, raw).tolist(),
    }
    (Path(out) / "host.json").write_text(json.dumps(doc) + "\n")


def check_host_vectors(directory: str | Path) -> dict[str, float]:
    """Re-derive ``x.txt`` and the forecasts from ``host.json``: mismatching inputs, worst relative error."""
    from qtdeploy.model.data import Norm
    from qtdeploy.model.evaluate import predict, quantised_inputs

    directory = Path(directory)
    doc = json.loads((directory / "host.json").read_text())
    im = intmodel.load(directory / "model.qtb")
    raw = np.asarray(doc["raw"], dtype=np.float64)
    _, x = read_tensor(directory / "x.txt")
    xq = quantised_inputs(im, Norm.from_dict(im.meta["norm"]).inputs(raw))
    want = np.asarray(doc["forecast"], dtype=np.float64)
    got = predict(im, raw)
    return {
        "x_mismatch": int(np.count_nonzero(xq != x)),
        "forecast_rel": float(np.max(np.abs(got - want) / np.maximum(np.abs(want), 1e-12))),
    }


def check_vectors(directory: str | Path) -> dict[str, int]:
    """Re-run the reference from the case's blob and input; returns mismatching elements per tensor."""
    directory = Path(directory)
    index = json.loads((directory / "index.json").read_text())
    im = intmodel.load(directory / "model.qtb")
    _, x = read_tensor(directory / "x.txt")
    trace = reference.forward(im, x, trace=True)
    bad = {}
    for entry in index["tensors"]:
        _, want = read_tensor(directory / entry["file"])
        bad[entry["name"]] = int(np.count_nonzero(np.asarray(trace[entry["name"]]) != want))
    return bad
