"""Flash throughput on the virtual board: effective payload bytes/s against the wire's byte rate.

    python bench/flash.py                    # both bauds, raw and heatshrink, fresh and used flash
    python bench/flash.py --bauds 921600 --codecs none --json

The image is a simulated XC7S15 bitstream (538,844 bytes of configuration data in a .bit, the
size of the real part's bitstream). The virtual board paces its UART at the baud (10 bits per
byte) and receives into a ring that holds the board's window of frames, so "wire" is baud/10
bytes/s. Flash busy times are the S25FL128S datasheet typicals (boards/env5.toml: 250 us per
256 B page program, 130 ms per 64 KiB sector erase) unless ``--modes link-only`` (x0.001, which
isolates the link and the host's pipelining). Every figure is *simulated*.

Two flash states, because erasing is the one cost the wire cannot hide at 3 Mbaud:

- ``fresh``: the target slot reads as erased (a new board): the host sees that in its per-sector
  FLASH_HASH and sends no FLASH_ERASE;
- ``used``: the target slot holds other data (a reflash): every sector is erased first. The
  S25FL128S erases 64 KiB in 130 ms (504 KB/s) and programs at 1.02 MB/s, so erase + program
  of a byte takes 2.96 us against the wire's 3.33 us at 3 Mbaud (89 %): the two overlap only
  while the board's receive ring (16 frames, ~66 KB) absorbs the wire during each erase (the
  board answers FLASH_ERASE once the part has started erasing; the next flash operation waits).
  Hence the two ratios:

  - ``transfer``: payload bytes / seconds of the write phase (erases included), vs. the wire;
  - ``end to end``: payload bytes / seconds of the whole flash (hash check, write, verify by
    SHA-256 on the board, commit, FPGA configuration), vs. the wire.

``none`` sends raw frames; ``auto`` heatshrink-compresses each frame (LZSS, window 2^8, lookahead
2^4) where it pays, so its payload rate can beat the wire: the flash's own speed is then the limit
(a used flash: 9 erases + 2,106 page programs = 1.70 s, 317 KB/s). The virtual board does not model
CPU time: on an RP2040 the two-pass decode runs at ~826 KB/s decoded (bench/flash_codec_m0.py,
modelled), which would cap the fastest compressed row here.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from qtdeploy.boards import load_board
from qtdeploy.formats.bitstream import write_sim_bitstream
from qtdeploy.link import Link, SerialTransport
from qtdeploy.ops import Board, flash
from qtdeploy.sim import SimOptions, VirtualBoard

MODES = {"datasheet": 1.0, "link-only": 0.001}
STATES = ("fresh", "used")
TARGET = 0.95
_FLASH = load_board("virtual").flash  # S25FL128S typicals: 64 KiB sector erase, 256 B page program
ERASE_S, PROGRAM_S, PAGE = (
    _FLASH.sector_erase.typ_us / 1e6,
    _FLASH.page_program.typ_us / 1e6,
    _FLASH.page_size,
)


def used_flash(path: Path) -> None:
    """A flash whose image regions all hold data (0x00: every sector needs an erase); the
    metadata and log regions stay erased, so no slot is committed and slot A is the target."""
    board = load_board("virtual")
    with open(path, "wb") as f:
        f.truncate(board.flash.size)
    data = bytearray(b"\xff" * board.flash.size)
    for region in board.layout.regions:
        if region.kind in ("bitstream", "blob"):
            data[region.offset : region.end] = bytes(region.size)
    path.write_bytes(bytes(data))


def run(baud: int, time_scale: float, codec: str, state: str, image: Path, work: Path) -> dict:
    flash_file = work / f"flash-{baud}-{time_scale}-{codec}-{state}.bin"
    if state == "used":
        used_flash(flash_file)
    with VirtualBoard(SimOptions(flash_file=flash_file, time_scale=time_scale), publish=True):
        url = f"sim://?flash={flash_file}"  # attaches to the board above, through the sim:// port class
        board = Board(Link(SerialTransport(url)), port=url)
        try:
            if baud != board.link.baud:
                board.link.set_baud(baud)
            r = flash(board, bitstream=image, resume=False, compress=codec)
        finally:
            board.close()
    flash_file.unlink(missing_ok=True)
    wire = r["wire_bytes_per_s"]
    c = r["compression"]
    return {
        "baud": baud,
        "time_scale": time_scale,
        "codec": codec,
        "state": state,
        "bytes": r["bytes_written"],
        "wire_data_bytes": c["wire_bytes"],
        "compression_ratio": c["ratio"],
        "sectors_erased": r["sectors_erased"],
        "write_s": r["seconds"]["write"],
        "total_s": r["seconds"]["total"],
        "payload_Bps": r["write_bytes_per_s"],
        "wire_Bps": wire,
        "transfer_ratio": r["wire_ratio"],
        "end_to_end_ratio": round(r["bytes_written"] / r["seconds"]["total"] / wire, 4),
        "window": board.link.window,
        "link_counters": r["link_counters"],
        "simulated": True,
    }


def line(row: dict) -> str:
    comp = (
        f" (wire data {row['wire_data_bytes']:,} B, ratio {row['compression_ratio']:.2f}x)"
        if row["codec"] != "none"
        else ""
    )
    codec = "raw" if row["codec"] == "none" else f"heatshrink/{row['codec']}"
    return (
        f"{codec:15} {row['mode']:9} {row['state']:5} {row['baud']:>7} baud: {row['bytes']:,} B{comp}, "
        f"{row['sectors_erased']} sectors erased; write {row['write_s']:.2f} s = {row['payload_Bps']:,} B/s vs wire "
        f"{row['wire_Bps']:,} B/s: transfer {100 * row['transfer_ratio']:.1f} %, end to end "
        f"{100 * row['end_to_end_ratio']:.1f} % ({row['total_s']:.2f} s with hash check, verify, commit, "
        f"configure) [simulated]"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bauds", default="921600,3000000", help="comma-separated baud rates")
    ap.add_argument("--modes", default="datasheet", help=f"comma-separated of {', '.join(MODES)}")
    ap.add_argument(
        "--codecs", default="none,auto", help="comma-separated of none, auto, heatshrink (every frame)"
    )
    ap.add_argument("--states", default=",".join(STATES), help=f"comma-separated of {', '.join(STATES)}")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        image = work / "xc7s15-sim.bit"
        image.write_bytes(write_sim_bitstream(0x00C0FFEE, load_board("virtual")))
        for mode in args.modes.split(","):
            for codec in args.codecs.split(","):
                for state in args.states.split(","):
                    for baud in (int(b) for b in args.bauds.split(",")):
                        row = run(baud, MODES[mode], codec, state, image, work) | {"mode": mode}
                        rows.append(row)
                        if not args.json:
                            print(line(row), flush=True)
    if args.json:
        json.dump(
            {"image_bytes": rows[0]["bytes"], "target_raw_ratio": TARGET, "rows": rows}, sys.stdout, indent=2
        )
        print()
        return 0
    print(
        f"target: >= {100 * TARGET:.0f} % of the wire rate raw; compressed above the wire rate (ratio > 100 %)."
    )
    for row in rows:
        if row["codec"] == "none" and row["mode"] == "datasheet" and row["transfer_ratio"] < TARGET:
            wire_s = row["bytes"] / row["wire_Bps"]
            busy_s = row["sectors_erased"] * ERASE_S + -(-row["bytes"] // PAGE) * PROGRAM_S
            print(
                f"  below target: raw {row['state']} at {row['baud']} baud ({100 * row['transfer_ratio']:.1f} %): the "
                f"flash is busy {busy_s:.2f} s ({row['sectors_erased']} erases of {1000 * ERASE_S:.0f} ms + page "
                f"programs, modelled from the datasheet) for {wire_s:.2f} s of wire, so every erase must hide behind "
                f"the {row['window']} frames the board's receive ring holds; the first two erases come back to back "
                f"(sector 1's erase must go a window ahead of its first write) and stall the wire once."
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
