"""Flash throughput on the virtual board: effective payload bytes/s against the wire's byte rate.

    python bench/flash.py                    # 921600 and 3000000 baud, both flash-timing modes
    python bench/flash.py --bauds 921600 --json

The image is a simulated XC7S15 bitstream (538,844 bytes of configuration data in a .bit, the
size of the real part's bitstream) written raw into a fresh flash. The virtual board paces its
UART at the baud (10 bits per byte), so "wire" is baud/10 bytes/s and the ratio is what the link
and pipelining achieve. Two flash-timing modes:

- ``datasheet``: flash busy times at the S25FL128S typicals (--time-scale 1): the honest
  end-to-end number on this firmware;
- ``link-only``: flash busy times x0.001, which isolates the host's pipelining and framing.

Timings are simulated (a virtual board); the ratios are the meaningful part. Compressed writes:
the firmware advertises codecs NONE only, so no compressed number is printed, only that.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from qtdeploy._protocol import Codec
from qtdeploy.boards import load_board
from qtdeploy.formats.bitstream import write_sim_bitstream
from qtdeploy.link import Link, SerialTransport
from qtdeploy.ops import Board, flash
from qtdeploy.sim import SimOptions, VirtualBoard

MODES = {"datasheet": 1.0, "link-only": 0.001}


def run(baud: int, time_scale: float, image: Path, work: Path) -> dict:
    flash_file = work / f"flash-{baud}-{time_scale}.bin"
    with VirtualBoard(SimOptions(flash_file=flash_file, time_scale=time_scale), publish=True) as vb:
        url = f"sim://?flash={flash_file}"  # attaches to vb, through the sim:// port class
        board = Board(Link(SerialTransport(url)), port=url)
        try:
            if baud != board.link.baud:
                board.link.set_baud(baud)
            codecs = [c.name for c in board.caps.codecs]
            r = flash(board, bitstream=image, resume=False)
        finally:
            board.close()
    flash_file.unlink(missing_ok=True)
    return {"baud": baud, "time_scale": time_scale, "bytes": r["bytes_written"], "write_s": r["seconds"]["write"],
            "total_s": r["seconds"]["total"], "payload_Bps": r["write_bytes_per_s"], "wire_Bps": r["wire_bytes_per_s"],
            "ratio": r["wire_ratio"], "end_to_end_ratio": round(r["bytes_written"] / r["seconds"]["total"] / r["wire_bytes_per_s"], 4),
            "codecs": codecs, "link_counters": r["link_counters"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bauds", default="921600,3000000", help="comma-separated baud rates")
    ap.add_argument("--modes", default=",".join(MODES), help=f"comma-separated of {', '.join(MODES)}")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        image = work / "xc7s15-sim.bit"
        image.write_bytes(write_sim_bitstream(0x00C0FFEE, load_board("virtual")))
        for mode in args.modes.split(","):
            for baud in (int(b) for b in args.bauds.split(",")):
                row = run(baud, MODES[mode], image, work) | {"mode": mode}
                rows.append(row)
                if not args.json:
                    print(f"raw  {mode:9}  {baud:>7} baud: {row['bytes']:,} B in {row['write_s']:.2f} s write "
                          f"({row['total_s']:.2f} s with verify/commit/configure) = {row['payload_Bps']:,} B/s "
                          f"vs wire {row['wire_Bps']:,} B/s: {100 * row['ratio']:.1f} % "
                          f"(end to end {100 * row['end_to_end_ratio']:.1f} %) [simulated]", flush=True)
    compressed = "compressed: not supported by this firmware (HELLO codecs: " + ", ".join(rows[0]["codecs"]) + ")"
    if Codec.HEATSHRINK.name in rows[0]["codecs"]:
        compressed = "compressed: the firmware accepts HEATSHRINK but this bench does not write it yet"
    if args.json:
        json.dump({"image_bytes": rows[0]["bytes"], "raw": rows, "compressed": compressed}, sys.stdout, indent=2)
        print()
    else:
        print(compressed)
        print("target: >= 95 % of the wire rate raw")
    return 0


if __name__ == "__main__":
    sys.exit(main())
