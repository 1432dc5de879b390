"""Direct SPI flashing throughput through the virtual FT232H, against the SPI clock's limit.

    python bench/ftdi.py                 # 30 and 15 MHz, fresh and used flash
    python bench/ftdi.py --hz 30000000 --json

The image is a simulated XC7S15 bitstream (538,844 bytes of configuration data in a .bit, the
real part's size) plus the trained example blob. Every figure is **simulated (virtual FT232H
timing model)**: protocol/ftdi.md documents the model (USB 2.0 high-speed bulk transfers of
125 us each, MPSSE clock 60 MHz / ((1 + divisor) * 2), the S25FL128S's typical page-program
and sector-erase times from boards/env5.toml). Nothing here was measured on hardware.

- ``write``: image bytes / seconds of the write phase (per-sector read-back check, erases when
  the flash is used, page programs with status polling), against the SPI clock's bytes/s, and
  against the part's own bound (``page_bytes / page_program typ``, plus the erase time when
  used): the NOR, not the SPI clock, is what limits a write;
- ``read``: the verify phase (each image read back whole and hashed), against the SPI clock.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "host"))

from qtdeploy.boards import load_board  # noqa: E402
from qtdeploy.formats import bitstream, blob  # noqa: E402
from qtdeploy.ftdi.flash import flash_via  # noqa: E402
from qtdeploy.ftdi.virtual.backend import VirtualFt232h, attached  # noqa: E402
from qtdeploy.paths import repo_root  # noqa: E402
from qtdeploy.sim.design import sim_design  # noqa: E402

URL = "ftdi://ftdi:232h/1"
LABEL = "simulated (virtual FT232H timing model)"


def run(hz: int, used: bool, tmp: Path) -> dict:
    board = load_board("virtual")
    board = dataclasses.replace(board, ftdi=dataclasses.replace(board.ftdi, spi_hz=hz))
    data = (repo_root() / "examples" / "forecaster" / "temps-w12-d32-w4a8.qtb").read_bytes()
    model = blob.unpack(data)
    bit, qtb, other = tmp / "m.bit", tmp / "m.qtb", tmp / "other.bit"
    bit.write_bytes(bitstream.write_sim_bitstream(model.abi, board, sim_design(model)))
    qtb.write_bytes(data)
    other.write_bytes(bitstream.write_sim_bitstream(0x0BAD0001, board))
    flash_file = tmp / f"flash-{hz}-{used}.bin"
    dev = VirtualFt232h(board, flash_file)
    with attached(dev):
        if used:  # both slots hold other data, B active: the measured flash (into A) erases its sectors
            flash_via(URL, board=board, bitstream=other, blob=None, slot="a")
            flash_via(URL, board=board, bitstream=other, slot="b")
        r = flash_via(URL, board=board, bitstream=bit, blob=qtb)
    f = board.flash
    page_s = f.page_program.typ_us / 1e6
    sectors = r["sectors_erased"]
    part_bound = r["bytes_total"] / (
        r["bytes_total"] / f.page_size * page_s + sectors * f.sector_erase.typ_us / 1e6
    )
    return {
        "label": LABEL,
        "spi_hz": r["spi_hz"],
        "flash": "used" if used else "fresh",
        "bytes": r["bytes_total"],
        "sectors_erased": sectors,
        "write_s": r["seconds"]["write"],
        "read_s": r["seconds"]["verify"],
        "total_s": r["seconds"]["total"],
        "write_bytes_per_s": r["write_bytes_per_s"],
        "read_bytes_per_s": r["read_bytes_per_s"],
        "spi_limit_bytes_per_s": r["spi_limit_bytes_per_s"],
        "write_ratio": r["write_ratio"],
        "read_ratio": r["read_ratio"],
        "part_bound_bytes_per_s": round(part_bound),
        "write_vs_part_bound": round(r["write_bytes_per_s"] / part_bound, 4),
        "status_polls": r["status_polls"],
        "violations": len(dev.violations),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hz", type=int, nargs="+", default=[30_000_000, 15_000_000])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for hz in args.hz:
            for used in (False, True):
                rows.append(run(hz, used, Path(d)))
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"qtdeploy flash --via: {rows[0]['bytes']:,} B (XC7S15-size bitstream + blob), {LABEL}")
    print(
        f"{'SPI':>7} {'flash':>5} {'erased':>6} {'write B/s':>10} {'of SPI':>7} {'of part':>7} "
        f"{'read B/s':>10} {'of SPI':>7} {'total s':>8}"
    )
    for r in rows:
        print(
            f"{r['spi_hz'] / 1e6:>5.1f}MHz {r['flash']:>5} {r['sectors_erased']:>6} {r['write_bytes_per_s']:>10,} "
            f"{100 * r['write_ratio']:>6.1f}% {100 * r['write_vs_part_bound']:>6.1f}% {r['read_bytes_per_s']:>10,} "
            f"{100 * r['read_ratio']:>6.1f}% {r['total_s']:>8.2f}"
        )
    print(
        "of SPI: against the SPI clock's bytes/s (hz / 8); of part: against the S25FL128S's own bound "
        "(256 B per 250 us page program, + 130 ms per erased 64 KiB sector; datasheet typicals, boards/env5.toml)"
    )
    bad = sum(r["violations"] for r in rows)
    if bad:
        print(f"WARNING: the NOR model recorded {bad} protocol violations")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
