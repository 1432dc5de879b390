"""`qtdeploy forecast` end to end (source -> windows -> board -> checked rows) on the paced virtual
board at 921600 baud, against the link-limited rate, for the paper's three configs and both engines.

    python bench/stream.py                       # 2000 windows per config and engine
    python bench/stream.py --windows 500 --configs w12_d32_b4 --fpga rtl
    python bench/stream.py --json

Every figure is SIMULATED: the virtual board paces its UART at the wire rate and holds the
accelerator BUSY for the RTL's cycle counts; the MCU engine computes at host speed, so its rate
says what the link allows, not what a Cortex-M0+ computes (bench/mcu_kernel.py: ~20-65 ms/window).
Rates and latencies are measured on the host over that simulated link. Latency is the host's
time from a window being ready to its prediction arriving, with the board's queue kept full
(replay as fast as possible); "live" latency is the same with one window at a time (a sensor at
100 readings/s: the time one prediction takes end to end); "engine" is the board's own time for the window (MCU clock).
The link-limited rate comes from the encoded STREAM_DATA request and result-event frame sizes
per window at baud/10 bytes/s (bench/stream_engines.py ``link_limit``), the busier direction.
The forecast path adds over bench/stream_engines.py: windowing + quantisation from the blob's
statistics, de-normalisation, and --check (the host integer reference on every window).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from qtdeploy._protocol import Engine
from qtdeploy.boards import load_board
from qtdeploy.forecast.run import forecast, prepare
from qtdeploy.formats import bitstream, blob
from qtdeploy.link import Link, SerialTransport
from qtdeploy.ops import Board, flash
from qtdeploy.sim import SimOptions, VirtualBoard
from qtdeploy.sim.design import sim_design

sys.path.insert(0, str(Path(__file__).parent))
from stream_engines import BAUD, PAPER, VECTORS, link_limit  # noqa: E402

LIVE_HZ, LIVE_WINDOWS = 100, 200


def _board(vb: VirtualBoard) -> Board:
    return Board(Link(SerialTransport(f"sim://?flash={vb.flash_file}")), port=vb.pty)


def run_case(case: str, windows: int, fpga: str, work: Path, check: bool) -> list[dict]:
    qtb = VECTORS / case / "model.qtb"
    b = blob.load(qtb)
    bit = work / f"{case}.bit"
    bit.write_bytes(bitstream.write_sim_bitstream(b.abi, load_board("virtual"), sim_design(b)))
    flash_file = work / f"{case}.bin"
    with (
        VirtualBoard(SimOptions(flash_file=flash_file, time_scale=0.01, pacing=False), publish=True) as vb,
        _board(vb) as s,
    ):
        flash(s, bitstream=bit, blob=qtb)
    rows = []
    for engine in (Engine.FPGA, Engine.MCU):
        with (
            VirtualBoard(SimOptions(flash_file=flash_file, pacing=True, fpga=fpga), publish=True) as vb,
            _board(vb) as s,
        ):
            assert s.link.baud == BAUD, s.link.baud
            plan = prepare(s, "synthetic:seed=1")
            r = forecast(s, plan, engine=engine, count=windows, check=check)
            # one window at a time, as from a sensor: the latency of a single prediction
            live = forecast(
                s,
                prepare(s, "synthetic:seed=2", rate=LIVE_HZ),
                engine=engine,
                count=LIVE_WINDOWS,
                check=check,
            )
        hp = b.hparams
        limit, up, down = link_limit(
            hp.window * hp.features, hp.horizon, max(1, r["in_flight"] // 4)
        )  # WindowStream.batch
        rows.append(
            {
                "config": case,
                "engine": engine.name.lower(),
                "fpga": fpga,
                "windows": r["windows"],
                "ok": r["ok"],
                "checked": r["checked"],
                "windows_per_s": r["windows_per_s"],
                "link_limited_per_s": round(limit, 1),
                "ratio": round(r["windows_per_s"] / limit, 3),
                "latency_ms": r["latency_ms"],
                "live_latency_ms": live["latency_ms"],
                "engine_us": r["board_time_us"],
                "in_flight": r["in_flight"],
                "bytes_up_per_window": round(up, 1),
                "bytes_down_per_window": round(down, 1),
                "figures": "simulated (virtual board, paced 921600 baud)",
            }
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", default=",".join(PAPER))
    ap.add_argument("--windows", type=int, default=2000)
    ap.add_argument("--fpga", choices=["model", "rtl"], default="model")
    ap.add_argument("--no-check", action="store_true", help="Skip the host reference on every window.")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = []
    if not args.json:
        print(
            f"{'config':<11} {'engine':<6} {'windows/s':>9} {'link-lim':>8} {'ratio':>6}  {'lat p50':>8} {'lat p99':>8}"
            f"  {'live p50/p99 ms':>15}  {'engine p50/p99 us':>17}   (all simulated: virtual board, {BAUD} baud, --fpga {args.fpga})"
        )
    with tempfile.TemporaryDirectory() as work:
        for case in args.configs.split(","):
            got = run_case(case, args.windows, args.fpga, Path(work), not args.no_check)
            rows += got
            if not args.json:
                for r in got:
                    lat, eng = r["latency_ms"], r["engine_us"]
                    print(
                        f"{r['config']:<11} {r['engine']:<6} {r['windows_per_s']:9.1f} {r['link_limited_per_s']:8.1f} "
                        f"{100 * r['ratio']:5.1f}%  {lat['p50']:6.1f}ms {lat['p99']:6.1f}ms  "
                        f"{r['live_latency_ms']['p50']:7.2f}/{r['live_latency_ms']['p99']:<7.2f}  "
                        f"{eng['p50']:>8.0f}/{eng['p99']:<8.0f}  ok {r['ok']}/{r['windows']}",
                        flush=True,
                    )
    if args.json:
        json.dump(rows, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
