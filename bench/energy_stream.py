"""POWER_STREAM on the virtual board: what rate the board grants, what arrives, what it costs.

    python bench/energy_stream.py                 # rates 2, 10, 100, 500 (all 8 rails), 3 s each
    python bench/energy_stream.py --rates 50 --seconds 10 --rails mcu,fpga_vccint

The board runs with UART pacing at its boot baud (921 600), as the real link would carry it.
Every figure is simulated (the virtual board's clock and link model), not measured on an RP2040:
its I2C is instant, while on the real board reading the 79-byte block of each PAC1934 at
400 kHz takes ~1.8 ms, which would cap the rate lower. Printed per rate: granted rate, samples/s
received, samples the link lost, sample payload bytes per second and their share of the wire
(framing and event headers not counted), and the energy
integrated from the samples against the board's POWER_ENERGY over the same span (ratio).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from qtdeploy.ops import Board, power
from qtdeploy.sim import SimOptions, VirtualBoard

BAUD = 921_600


def run(b: Board, rate: int, seconds: float, rails: tuple[str, ...] | None) -> dict:
    start = power.energy(b)
    samples: list[power.PowerSample] = []
    with power.PowerStream(b, rate_hz=rate, rails=rails) as ps:
        t_end = time.monotonic() + seconds
        while time.monotonic() < t_end:
            samples += ps.poll(0.2)
    end = power.energy(b)
    t = np.array([s.t_us for s in samples]) / 1e6
    n_rails = len(samples[0].rails) if samples else 0
    wire = len(samples) * (12 + 12 * n_rails) / seconds  # PowerSample payload bytes (framing not counted)
    names = [r.name for r in samples[0].rails] if samples else []
    e_samples = sum(
        s.rails[i].power_mw * dt for i in range(n_rails) for s, dt in zip(samples[1:], np.diff(t))
    )  # mJ
    span = t[-1] - t[0] if len(t) > 1 else 0.0
    board_mj = (
        (end.energy_mj(names) - start.energy_mj(names))
        * span
        / max(1e-9, end.t_end_us / 1e6 - start.t_end_us / 1e6)
    )
    return {
        "rate": rate,
        "granted": ps.granted_hz,
        "got_per_s": len(samples) / seconds,
        "lost": ps.lost,
        "bytes_per_s": wire,
        "wire_share": wire / (BAUD / 10),
        "energy_ratio": e_samples / board_mj if board_mj else 0,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rates", default="2,10,100,500")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--rails", default=None)
    args = ap.parse_args()
    rails = tuple(args.rails.split(",")) if args.rails else None
    with tempfile.TemporaryDirectory() as d:
        opts = SimOptions(flash_file=Path(d) / "flash.bin", time_scale=0.01, pacing=True)
        with VirtualBoard(opts, publish=True) as vb, Board.open(f"sim://?flash={vb.flash_file}") as b:
            print("POWER_STREAM on the virtual board (simulated; paced UART at 921600 baud)")
            print(
                f"{'asked/s':>8} {'granted/s':>9} {'got/s':>7} {'lost':>5} {'sample B/s':>10} {'of wire':>7} {'E samples/board':>16}"
            )
            for rate in (int(r) for r in args.rates.split(",")):
                r = run(b, rate, args.seconds, rails)
                print(
                    f"{r['rate']:>8} {r['granted']:>9} {r['got_per_s']:>7.1f} {r['lost']:>5} "
                    f"{r['bytes_per_s']:>10.0f} {r['wire_share']:>7.1%} {r['energy_ratio']:>16.4f}"
                )


if __name__ == "__main__":
    main()
