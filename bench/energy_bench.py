"""On-board energy bench (issue 15) for the paper's three configs on the virtual board, beside the
paper's measured figures.

For each of (6,64,8), (12,64,6), (12,32,4): a virtual board with the config's committed blob and a
simulated 100 MHz bitstream, MODEL_LOAD, then `qtdeploy.energy.bench.run_bench` (R bursts of N
inferences, each after an idle span of its length) on the FPGA engine. Prints, per config: the FPGA
rails' increment per inference with its standard error, the power model's prediction for the
accelerator's active cycles and the ratio, the FPGA rails over the latency (comparable with the
paper's measured energy, FPGA power over its latency), the whole board's figures, the MCU engine's
modelled increment (Cortex-M0+ cycles x power model), and the wall time of one burst of N.

Every energy here is SIMULATED (the virtual board's power model, protocol/power.md §3) or
MODELLED (the MCU line); the paper's are measured on silicon.

    python bench/energy_bench.py [--count 1000] [--repeats 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # support.vboard: start a published virtual board fast

CASES = {(6, 64, 8): "w6_d64_b8", (12, 64, 6): "w12_d64_b6", (12, 32, 4): "w12_d32_b4"}


def one(case: str, count: int, repeats: int, work: Path) -> dict:
    from qtdeploy._protocol import Engine
    from qtdeploy.boards import load_board
    from qtdeploy.energy import bench as eb
    from qtdeploy.energy import power_model
    from qtdeploy.formats import bitstream, blob
    from qtdeploy.ops import flash
    from qtdeploy.ops.power_bench import bench_once
    from qtdeploy.ops.stream import load_model
    from qtdeploy.sim.design import sim_design
    from support.vboard import session, start

    vec = ROOT / "protocol" / "vectors" / "model" / case
    b = blob.unpack((vec / "model.qtb").read_bytes())
    bit = work / f"{case}.bit"
    bit.write_bytes(bitstream.write_sim_bitstream(b.abi, load_board("virtual"), sim_design(b)))
    with start(work / f"{case}.bin") as vb, session(vb) as s:
        flash(s, bitstream=bit, blob=vec / "model.qtb")
        load_model(s, Engine.FPGA)
        r = eb.run_bench(s, count=count, engine=Engine.FPGA, repeats=repeats)
        im, _ = eb.active_model(s)
        t0 = time.monotonic()
        bench_once(s, eb.bench_window(im), count=count, engine=Engine.FPGA)
        r["one_burst_wall_s"] = time.monotonic() - t0
        load_model(s, Engine.MCU)
        m = eb.run_bench(s, count=min(count, 200), engine=Engine.MCU, repeats=2)
    fpga = tuple(r["rails"]["fpga"])
    r["predicted_fpga_above_idle_uj"] = power_model.increment_uj("inferring", fpga, r["accel_cycles"] / 100e6)
    r["mcu"] = m["power_model"]
    return r


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    rows = {}
    with tempfile.TemporaryDirectory() as d:
        for case in CASES.values():
            rows[case] = one(case, args.count, args.repeats, Path(d))
    if args.json:
        print(json.dumps(rows, indent=1, default=float))
        return 0
    print(
        f"SIMULATED on the virtual board (power model: protocol/power.md §3), N = {args.count}, "
        f"R = {args.repeats}; paper = measured on silicon\n"
    )
    head = (
        f"{'config':<11}{'cycles':>8}{'FPGA+ uJ':>10}{'sem %':>7}{'model uJ':>9}{'ratio':>7}"
        f"{'FPGA/lat uJ':>12}{'paper uJ':>9}{'lat us':>8}{'paper us':>9}{'board+ uJ':>10}"
        f"{'MCU+ uJ*':>9}{'burst s':>8}{'bench s':>8}"
    )
    print(head)
    for r in rows.values():
        p, m = r["per_inference"], r["model"]
        f = p["fpga_above_idle_uj"]
        mcu = r["mcu"].get("board_above_idle_uj")
        print(
            f"({m['window']},{m['d_model']},{m['bits']})".ljust(11)
            + f"{r['accel_cycles']:>8,}{f['mean']:>10.3f}{100 * f['sem'] / f['mean']:>7.2f}"
            f"{r['predicted_fpga_above_idle_uj']:>9.3f}{f['mean'] / r['predicted_fpga_above_idle_uj']:>7.3f}"
            f"{p['fpga_over_latency_uj']['mean']:>12.2f}{r['paper']['energy_uj']:>9.0f}"
            f"{r['latency_us_min']:>8}{r['paper']['latency_ms'] * 1e3:>9.0f}"
            f"{p['board_above_idle_uj']['mean']:>10.3f}"
            + (f"{mcu:>9.0f}" if mcu is not None else f"{'-':>9}")
            + f"{r['one_burst_wall_s']:>8.2f}{r['wall_s']:>8.2f}"
        )
    print(
        "\nFPGA+ = FPGA rails above idle per inference (mean of R, sem = standard error); model = power model"
        " (inferring - idle) x cycles / 100 MHz; FPGA/lat = FPGA rails over the shortest latency the board"
        " timed (idle + increment), the paper's measure; board+ = whole board above idle; MCU+* = MODELLED"
        " MCU engine (Cortex-M0+ cycles x power model), not measured; burst s = wall time of one burst of N"
        " (idle span + burst + calibration); bench s = wall time of the R bursts (target: under 10 s at"
        " N = 1,000)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
