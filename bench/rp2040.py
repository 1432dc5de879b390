"""The enV5 firmware binary in the RP2040 emulator: M0+ cycles per inference (MCU engine) per
paper config against today's static estimate, and flash throughput through the emulated USB CDC.

    python bench/rp2040.py [--cases w12_d32_b4 ...] [--flash] [--json]

Method, cycles: each config's golden blob (protocol/vectors/model/<case>) is flashed with a
simulated bitstream by the posix virtual board (same flash file format), then the emulated RP2040
(rp2040js, the UF2 of `qtdeploy firmware build`) loads it on the MCU engine and runs the vector's
windows through INFER. The firmware times each inference with its own timer (t_start_us /
t_end_us); in the emulator that timer runs on rp2040js's cycle count (its Cortex-M0+ timing per
instruction, clk_sys 125 MHz from the board file, no XIP wait states), so cycles = us x 125.
Outputs are checked against the vector's y (bit-exact on the emulated M0+). The estimate is
bench/mcu_kernel.py's: the same kernel in unicorn, instructions counted and timed by the M0+ TRM.
Every figure is labelled: "emulated" (rp2040js) or "modelled" (the static estimate).

Method, flash: the forecaster's bitstream + blob written through the emulated USB CDC (wall
seconds on this machine: the emulator, not the USB wire, is the limit), beside the posix board's
(UART paced at 921600 baud); both with the S25FL128S's typical program/erase times.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # support.vboard, support.emu_rp2040
sys.path.insert(0, str(ROOT / "bench"))
VECTORS = ROOT / "protocol" / "vectors" / "model"
CASES = ["w6_d64_b8", "w12_d64_b6", "w12_d32_b4"]  # bench/mcu_kernel.py's paper configs


def _ints(path: Path) -> np.ndarray:
    from mcu_kernel import read_ints  # the vectors' text format, one reader

    return read_ints(path)


def flash_case(case: str, flash_file: Path) -> None:
    """The case's blob + a simulated bitstream of its ABI, written by the posix virtual board."""
    from qtdeploy.boards import load_board
    from qtdeploy.formats import bitstream, blob
    from qtdeploy.ops import flash
    from qtdeploy.sim.design import sim_design
    from support.vboard import session, start

    qtb = VECTORS / case / "model.qtb"
    b = blob.load(qtb)
    bit = flash_file.with_suffix(".bit")
    bit.write_bytes(bitstream.write_sim_bitstream(b.abi, load_board("virtual"), sim_design(b)))
    with start(flash_file) as vb, session(vb) as s:
        flash(s, bitstream=bit, blob=qtb)


def emulated_kernel(case: str, fw, workdir: Path, *, windows: int | None = None) -> dict:
    """Cycles per MCU inference of ``case`` in the emulated RP2040 (bit-exact outputs checked)."""
    from qtdeploy._protocol import Engine
    from qtdeploy.ops.stream import infer, load_model
    from support.emu_rp2040 import session, start

    d = VECTORS / case
    index = json.loads((d / "index.json").read_text())
    n = min(windows or index["windows"], index["windows"])
    x = _ints(d / "x.txt").reshape(index["windows"], -1).astype(np.int8)
    y = _ints(d / "y.txt").reshape(index["windows"], -1)
    flash_file = workdir / f"{case}.bin"
    flash_case(case, flash_file)
    us = []
    with start(fw, flash_file) as eb, session(eb) as b:
        load_model(b, Engine.MCU)
        for w in range(n):
            r = infer(b, x[w], Engine.MCU)
            if not r.ok or r.outputs.astype(np.int64).tolist() != y[w].tolist():
                raise AssertionError(f"{case} window {w}: {r.error or r.outputs} != {y[w].tolist()}")
            us.append(r.t_end_us - r.t_start_us)
    clock = 125_000_000  # boards/env5.toml [mcu] clock_hz, what the firmware sets its PLL to
    return {
        "case": case,
        "windows": n,
        "us_emulated": float(np.mean(us)),
        "cycles_emulated": float(np.mean(us)) * clock / 1e6,
        "origin": "emulated (rp2040js cycle model, the firmware's own timer)",
    }


def estimate(case: str) -> dict:
    """bench/mcu_kernel.py's modelled cycles for the same case (unicorn + M0+ TRM timings)."""
    import mcu_kernel
    from qtdeploy.paths import cache_dir

    image, syms = mcu_kernel.build(cache_dir() / "m0bench")
    r = mcu_kernel.measure(case, image, syms)
    return {"cycles_modelled": r["cycles"], "instructions": r["instructions"], "macs": r["macs"]}


def flash_throughput(fw, workdir: Path) -> dict:
    from qtdeploy.boards import load_board
    from qtdeploy.formats import bitstream, blob
    from qtdeploy.ops import flash
    from qtdeploy.sim.design import sim_design
    from support.emu_rp2040 import session, start
    from support.vboard import session as vsession
    from support.vboard import start as vstart

    qtb = ROOT / "examples" / "forecaster" / "temps-w12-d32-w4a8.qtb"
    bit = workdir / "fc.bit"
    b = blob.load(qtb)
    bit.write_bytes(bitstream.write_sim_bitstream(b.abi, load_board("virtual"), sim_design(b)))
    total = bit.stat().st_size + qtb.stat().st_size
    out = {}
    for name, starter, sess in (("emulated_rp2040", start, session), ("simulated_posix", None, vsession)):
        path = workdir / f"tp-{name}.bin"
        t0 = time.monotonic()
        # datasheet flash timings (time scale 1) on both; the posix board's UART paced at the
        # board file's 921600 baud, the emulated one's USB unpaced (the emulator is the limit)
        board = starter(fw, path, time_scale=1.0) if starter else vstart(path, time_scale=1.0, pacing=True)
        with board as eb, sess(eb) as s:
            t1 = time.monotonic()
            flash(s, bitstream=bit, blob=qtb)
            t2 = time.monotonic()
        out[name] = {
            "bytes": total,
            "seconds": round(t2 - t1, 2),
            "kb_per_s": round(total / (t2 - t1) / 1e3, 1),
        }
        out[name]["boot_s"] = round(t1 - t0, 2)
    out["note"] = (
        "wall-clock on this machine, datasheet flash timings; emulated_rp2040: rp2040js at ~0.12x real "
        "time (the emulator, not USB, is the limit); simulated_posix: UART paced at 921600 baud"
    )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="*", default=CASES)
    ap.add_argument("--windows", type=int, default=2)
    ap.add_argument("--flash", action="store_true", help="also measure flash throughput")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    from support.emu_rp2040 import firmware

    fw = firmware()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in args.cases:
            r = emulated_kernel(case, fw, Path(tmp), windows=args.windows) | estimate(case)
            r["ratio_emulated_to_modelled"] = round(r["cycles_emulated"] / r["cycles_modelled"], 3)
            r["ms_emulated_125mhz"] = round(r["us_emulated"] / 1e3, 2)
            rows.append(r)
        result = {"kernel": rows, "build_id": fw.build_id}
        if args.flash:
            result["flash"] = flash_throughput(fw, Path(tmp))
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"firmware build {fw.build_id}")
    print(
        f"{'case':<12} {'cycles (emulated)':>18} {'cycles (modelled)':>18} {'ratio':>6} {'ms @125 MHz (emulated)':>24}"
    )
    for r in rows:
        print(
            f"{r['case']:<12} {r['cycles_emulated']:>18,.0f} {r['cycles_modelled']:>18,} "
            f"{r['ratio_emulated_to_modelled']:>6.3f} {r['ms_emulated_125mhz']:>24.2f}"
        )
    if args.flash:
        for k, v in result["flash"].items():
            print(f"flash {k}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
