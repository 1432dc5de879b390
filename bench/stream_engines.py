"""Window streams (qtdeploy.ops.stream) on the paced virtual board against the link-limited rate.

    python bench/stream_engines.py                 # the paper's three configs, FPGA and MCU, 2000 windows
    python bench/stream_engines.py --fpga rtl --windows 200 --configs w12_d32_b4
    python bench/stream_engines.py --json

Every figure is SIMULATED: the virtual board paces its UART at 921600 baud and the accelerator
model holds BUSY for the RTL's cycles (protocol/regmap.md); the MCU engine runs the kernel at
host speed, not the Cortex-M0+'s (bench/mcu_kernel.py has that: ~20-65 ms per window), so its
rates say what the link allows, not what an RP2040 computes. The link-limited rate counts the
encoded bytes each window costs in each direction (STREAM_DATA batches up, one result event and
a share of the batch's response down) and takes the busier direction.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from qtdeploy._protocol import Command, Engine, Flag
from qtdeploy.boards import load_board
from qtdeploy.formats import bitstream, blob
from qtdeploy.link import Link, SerialTransport
from qtdeploy.link.framing import Frame, encode
from qtdeploy.ops import Board, flash
from qtdeploy.ops.stream import WindowStream, load_model
from qtdeploy.paths import repo_root
from qtdeploy.sim import SimOptions, VirtualBoard
from qtdeploy.sim.design import sim_design

VECTORS = repo_root() / "protocol" / "vectors" / "model"
PAPER = ("w12_d32_b4", "w6_d64_b8", "w12_d64_b6")
BAUD = 921600


def _board(vb: VirtualBoard) -> Board:
    return Board(Link(SerialTransport(f"sim://?flash={vb.flash_file}")), port=vb.pty)


def link_limit(in_count: int, horizon: int, batch: int) -> tuple[float, float, float]:
    """(windows/s, up bytes/window, down bytes/window) at BAUD, 10 bits per byte."""
    event = len(encode(Frame(Command.STREAM_DATA, bytes(4 + 24 + 4 * horizon), 0, Flag.EVENT)))
    response = len(encode(Frame(Command.STREAM_DATA, bytes(8), 0, Flag.RESPONSE)))
    request = len(encode(Frame(Command.STREAM_DATA, bytes(8 + batch * in_count), 0)))
    up, down = request / batch, event + response / batch
    return BAUD / 10 / max(up, down), up, down


def run_case(case: str, windows: int, fpga: str, work: Path) -> list[dict]:
    b = blob.load(VECTORS / case / "model.qtb")
    bit = work / f"{case}.bit"
    bit.write_bytes(bitstream.write_sim_bitstream(b.abi, load_board("virtual"), sim_design(b)))
    flash_file = work / f"{case}.bin"
    with (
        VirtualBoard(SimOptions(flash_file=flash_file, time_scale=0.01, pacing=False), publish=True) as vb,
        _board(vb) as s,
    ):
        flash(s, bitstream=bit, blob=VECTORS / case / "model.qtb")
    hp = b.hparams
    xs = np.random.default_rng(1).integers(-2, 2, size=(windows, hp.window, hp.features)).astype(np.int8)
    rows = []
    for engine in (Engine.FPGA, Engine.MCU):
        options = SimOptions(flash_file=flash_file, pacing=True, fpga=fpga)
        with VirtualBoard(options, publish=True) as vb, _board(vb) as s:
            model = load_model(s, Engine.FPGA)  # loads both: the MCU keeps the blob too
            with WindowStream(s, engine, model=model, max_in_flight=64) as st:
                t0 = time.monotonic()
                got = list(st.run(xs))
                seconds = time.monotonic() - t0
                batch = st.batch
        limit, up, down = link_limit(model.in_count, model.out_count, batch)
        latency = sorted(g.t_end_us - g.t_start_us for g in got if g.ok)
        rate = windows / seconds
        rows.append(
            {
                "config": case,
                "engine": engine.name,
                "fpga": fpga,
                "windows": windows,
                "ok": sum(g.ok for g in got),
                "windows_per_s": round(rate, 1),
                "link_limited_per_s": round(limit, 1),
                "ratio": round(rate / limit, 3),
                "bytes_up_per_window": round(up, 1),
                "bytes_down_per_window": round(down, 1),
                "engine_us_p50": latency[len(latency) // 2],
                "engine_us_p99": latency[int(len(latency) * 0.99)],
                "accel_cycles": got[0].accel_cycles,
                "figures": "simulated",
            }
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", default=",".join(PAPER))
    ap.add_argument("--windows", type=int, default=2000)
    ap.add_argument("--fpga", choices=["model", "rtl"], default="model")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for case in args.configs.split(","):
            rows += run_case(case, args.windows, args.fpga, Path(work))
            if not args.json:
                for r in rows[-2:]:
                    print(
                        f"{r['config']:<11} {r['engine']:<4} {r['windows_per_s']:8.0f} windows/s  link-limited "
                        f"{r['link_limited_per_s']:6.0f}  {100 * r['ratio']:5.1f} %   engine p50 {r['engine_us_p50']} us "
                        f"p99 {r['engine_us_p99']} us  cycles {r['accel_cycles']}  (simulated, --fpga {args.fpga})",
                        flush=True,
                    )
    if args.json:
        json.dump(rows, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
