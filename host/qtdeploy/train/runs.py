"""Run-level operations behind the CLI: export a run (blob, vectors, agreement check) and load data.

Everything that can fail is computed before the first byte is written, so a refused export leaves
nothing behind.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from qtdeploy.model import data as D
from qtdeploy.model import intmodel, reference
from qtdeploy.model.evaluate import quantised_inputs
from qtdeploy.model.vectors import write_host_vectors
from qtdeploy.train import export as E
from qtdeploy.train.intsim import IntegerSim, compare
from qtdeploy.train.net import Forecaster


def agreement(model: Forecaster, im: intmodel.IntModel, x_norm: np.ndarray) -> dict[str, Any]:
    """QAT model vs integer reference on windows ``x_norm``.

    ``integer_path``: the QAT model's integer eval path (torch) vs the NumPy reference, every tensor.
    ``fake_quant``: the float fake-quant forward vs the integer output, in output LSBs and relative.
    The head output is int32 at a tiny step (its LSB is a pool step times a weight step), so a few
    hundred LSBs can still be a negligible forecast error: ``max_vs_spread`` is the largest difference
    over the spread (standard deviation) of the model's outputs, the number to judge agreement by.
    """
    xq = quantised_inputs(im, x_norm)
    ref = reference.forward(im, xq, trace=True)
    sim = {k: v.numpy() for k, v in IntegerSim(im).forward(torch.as_tensor(xq)).items()}
    per_tensor = compare(ref, sim)
    y_ref = ref["y"]
    model.eval()
    with torch.no_grad():
        y_fq = model(torch.as_tensor(x_norm, dtype=torch.float32)).double().numpy()
    y_fq_lsb = y_fq / np.asarray(im.meta["output_scale"])[None, :]
    rel = np.abs(y_fq_lsb - y_ref) / np.maximum(np.abs(y_ref), 1)
    return {
        "windows": int(len(xq)),
        "integer_path": {
            "identical": all(v["max_lsb"] == 0 for v in per_tensor.values()),
            "frac_diff": max(v["frac_diff"] for v in per_tensor.values()),
            "max_lsb": max(v["max_lsb"] for v in per_tensor.values()),
        },
        "fake_quant": {
            "frac_diff": float(np.mean(np.rint(y_fq_lsb) != y_ref)),
            "max_lsb": float(np.max(np.abs(y_fq_lsb - y_ref), initial=0)),
            "median_rel": float(np.median(rel)) if rel.size else 0.0,
            "max_vs_spread": float(
                np.max(np.abs(y_fq_lsb - y_ref), initial=0) / max(float(np.std(y_ref)), 1.0)
            ),
        },
    }


def export_run(
    run: str | Path, out: str | Path, vectors: str | Path | None = None, vector_windows: int = 4
) -> dict[str, Any]:
    """RUN/ -> integer blob at ``out`` (+ golden vectors), with the agreement check on test windows."""
    from qtdeploy.train.qat import load_run

    model, ckpt = load_run(run)
    meta = {"norm": ckpt["norm"], **ckpt["data"], "created_by": "qtdeploy export"}
    im = E.export(model, meta)
    report: dict[str, Any] = {
        "blob": str(out),
        "size_bytes": im.size_bytes(),
        "config": im.config.to_dict(),
        "saturated_biases": im.meta["saturated_biases"],
    }
    source = Path(ckpt["data"]["source"])
    if source.is_file():
        series = D.load_csv(source, target=ckpt["data"]["target"], features=ckpt["data"]["features"])
        norm = D.Norm.from_dict(ckpt["norm"])
        split = D.make_splits(series, im.config.window, im.config.horizon, norm)["test"]
        test = split["x"]
        report["agreement"] = agreement(model, im, test)
        pick = slice(None, None, max(1, len(test) // vector_windows))
        sample, raw = test[pick][:vector_windows], split["raw"][pick][:vector_windows]
    else:
        sample = np.random.default_rng(0).standard_normal(
            (vector_windows, im.config.window, im.config.features)
        )
        raw = None
    from qtdeploy.formats import blob as fmt

    data = fmt.pack(intmodel.to_blob(im))  # validated in full before anything is written
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_bytes(data)
    if vectors is not None:
        from qtdeploy.model.vectors import write_vectors

        write_vectors(
            im, quantised_inputs(im, sample), vectors, {"source": Path(ckpt["data"]["source"]).name}
        )
        if raw is not None:
            write_host_vectors(im, raw, vectors)
        report["vectors"] = str(vectors)
    return report
