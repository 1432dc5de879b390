"""Accuracy of float vs 8/6/4-bit integer models for the paper's configurations on both datasets.

    python bench/accuracy.py                       # full sweep (both datasets, 3 configs, float/8/6/4)
    python bench/accuracy.py --datasets seattle-weather --configs 12,32 --bits 4
    python bench/accuracy.py --ablation            # which QAT choices help (4-bit, one config)

Quantised rows are scored with the integer reference only (the exported model, as the device runs
it); the float row is the float model the QAT runs start from. "vs float" is the RMSE change against
that float model; "vs persist" is RMSE / persistence RMSE (below 1 beats "tomorrow = today").
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace

import numpy as np

from qtdeploy.model import data as D
from qtdeploy.model.config import ModelConfig
from qtdeploy.model.evaluate import evaluate
from qtdeploy.train import export as E
from qtdeploy.train.qat import TrainSettings, train
from qtdeploy.train.quant import QuantOptions

PAPER_CONFIGS = [(6, 64), (12, 64), (12, 32)]  # (window, d_model); the paper pairs them with 8, 6, 4 bits
ABLATION = {
    "paper: minmax, per-tensor, fixed steps": QuantOptions(
        per_channel=False, learn_scales=False, init="minmax", act_init="minmax"
    ),
    "+ per-channel weights": QuantOptions(
        per_channel=True, learn_scales=False, init="minmax", act_init="minmax"
    ),
    "+ MSE-calibrated ranges": QuantOptions(
        per_channel=True, learn_scales=False, init="mse", act_init="auto"
    ),
    "+ LSQ learned steps (default)": QuantOptions(),
}


def blob_size(im) -> int:
    """Bytes of the .qtb when the blob module is importable, else the integer payload."""
    try:
        from qtdeploy.formats import blob as fmt
        from qtdeploy.model.intmodel import to_blob

        return len(fmt.pack(to_blob(im)))
    except Exception:  # noqa: BLE001 - the payload size is still a fair number
        return im.size_bytes()


def parse_bits(spec: str) -> tuple[int, int | None]:
    """'4' -> (4, None) uniform; 'w4a8' -> 4-bit weights with 8-bit activations (mixed precision)."""
    if spec.startswith("w"):
        w, a = spec[1:].split("a")
        return int(w), int(a)
    return int(spec), None


def run_config(
    series: D.Series,
    window: int,
    d_model: int,
    bits_list: list[str],
    st: TrainSettings,
    distill: float = 0.0,
    seeds: int = 1,
) -> list[dict]:
    """Per seed: a float model, then one QAT run per width from it; integer-only test scores.

    Rows hold the mean over seeds (``rmse_std`` the spread): single QAT runs on these series vary
    by +-20 % with the seed, more than the quantisation effects being measured.
    """
    m = series.x.shape[1]
    runs: dict[str, list[dict]] = {}
    for seed in range(seeds):
        sst = replace(st, seed=seed)
        fl = train(series, ModelConfig.uniform(window=window, features=m, d_model=d_model, bits=None), sst)
        n_params = sum(p.numel() for p in fl.model.parameters())
        runs.setdefault("float", []).append({**fl.metrics["float"], "size_bytes": 4 * n_params})
        for spec in bits_list:
            bits, act = parse_bits(spec)
            cfg = ModelConfig.uniform(window=window, features=m, d_model=d_model, bits=bits, act_bits=act)
            res = train(series, cfg, replace(sst, distill=distill), float_state=fl.model.state_dict())
            im = E.export(
                res.model, {"norm": res.norm.to_dict(), "features": series.features, "target": series.target}
            )
            runs.setdefault(spec, []).append({**evaluate(im, series, "test"), "size_bytes": blob_size(im)})
    rows = []
    for spec, rs in runs.items():
        row = {
            "window": window,
            "d_model": d_model,
            "bits": spec,
            "seeds": len(rs),
            "size_bytes": rs[0]["size_bytes"],
            "persistence_rmse": rs[0]["persistence_rmse"],
        }
        for key in ("rmse", "mae", "rmse_vs_persistence"):
            row[key] = float(np.mean([r[key] for r in rs]))
        row["rmse_std"] = float(np.std([r["rmse"] for r in rs]))
        rows.append(row)
    for r in rows:
        r["vs_float"] = r["rmse"] / rows[0]["rmse"] - 1
    return rows


def ablation(name: str, series: D.Series, st: TrainSettings, seeds: int) -> list[dict]:
    """4-bit (12, 32): the paper's quantiser, then each of our choices added, mean over seeds."""
    m = series.x.shape[1]
    results: dict[str, list[float]] = {}
    floats = []
    for seed in range(seeds):
        sst = replace(st, seed=seed)
        fl = train(series, ModelConfig.uniform(window=12, features=m, d_model=32, bits=None), sst)
        floats.append(fl.metrics["float"]["rmse"])
        for label, opts in ABLATION.items():
            for distill in [0.0, 1.0] if label.endswith("(default)") else [0.0]:
                cfg = ModelConfig.uniform(window=12, features=m, d_model=32, bits=4)
                res = train(
                    series, cfg, replace(sst, opts=opts, distill=distill), float_state=fl.model.state_dict()
                )
                im = E.export(res.model, {"norm": res.norm.to_dict()})
                key = label + (" + distillation" if distill else "")
                results.setdefault(key, []).append(evaluate(im, series, "test")["rmse"])
    rows = []
    for key, values in results.items():
        rows.append(
            {
                "dataset": name,
                "choice": key,
                "rmse": float(np.mean(values)),
                "rmse_std": float(np.std(values)),
                "float_rmse": float(np.mean(floats)),
            }
        )
        print(
            f"| {name} | {key} | {np.mean(values):.4f} +- {np.std(values):.4f} | float {np.mean(floats):.4f} |",
            flush=True,
        )
    return rows


def table(rows: list[dict]) -> str:
    head = (
        "| dataset | W | d | bits | RMSE (mean +- sd) | MAE | vs float | vs persist | size (B) |\n"
        "|---|---|---|---|---|---|---|---|---|"
    )
    lines = [
        f"| {r['dataset']} | {r['window']} | {r['d_model']} | {r['bits']} | {r['rmse']:.4f} +- {r['rmse_std']:.4f} | "
        f"{r['mae']:.4f} | "
        f"{r['vs_float']:+.1%} | {r['rmse_vs_persistence']:.3f} | {r['size_bytes']} |"
        for r in rows
    ]
    return "\n".join([head, *lines])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default=",".join(D.DATASETS))
    ap.add_argument("--configs", default=";".join(f"{w},{d}" for w, d in PAPER_CONFIGS), help="'W,D;W,D'")
    ap.add_argument("--bits", default="8,6,4,w4a8", help="widths; wXaY = X-bit weights, Y-bit activations")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--distill", type=float, default=0.0)
    ap.add_argument("--seeds", type=int, default=3, help="Independent float->QAT chains averaged per row.")
    ap.add_argument("--ablation", action="store_true", help="Compare QAT choices at 4 bits on (12, 32).")
    ap.add_argument("--json", default=None, help="Also write the rows here.")
    args = ap.parse_args(argv)
    st = TrainSettings(epochs=args.epochs, threads=args.threads)
    rows: list[dict] = []
    t0 = time.time()
    for name in args.datasets.split(","):
        series = D.load_dataset(name)
        if args.ablation:
            rows += ablation(name, series, st, args.seeds)
            continue
        for cfg in args.configs.split(";"):
            w, d = (int(v) for v in cfg.split(","))
            for r in run_config(series, w, d, args.bits.split(","), st, args.distill, args.seeds):
                r["dataset"] = name
                rows.append(r)
                print(
                    f"{name} W={w} d={d} bits={r['bits']}: RMSE {r['rmse']:.4f} ({r['vs_float']:+.1%} vs float, "
                    f"{r['rmse_vs_persistence']:.3f} x persistence) {time.time() - t0:.0f}s",
                    flush=True,
                )
    if not args.ablation:
        print(table(rows))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(
                rows, fh, indent=1, default=lambda o: o.tolist() if isinstance(o, np.ndarray) else str(o)
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
