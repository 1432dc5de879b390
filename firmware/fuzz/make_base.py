"""Write the command fuzzer's base image: the flash state every input starts from (fuzz_cmd.c).

Slot A gets a simulated bitstream for the virtual board's part (its IDCODE, the model's ABI in
USR_ACCESS and the accelerator design descriptor, so the virtual FPGA builds an engine for it)
and a committed model blob; fuzz_board.c writes both through the link and commits them active.
The bitstream is cut to 4 KiB (the real XC7S15 length is 538,844 bytes): its syntax is the
same, and the board re-hashes the active slot at every boot, which the fuzzer does per input.

    python3 fuzz/make_base.py OUT_DIR      (writes OUT_DIR/bitstream.bin and OUT_DIR/model.qtb)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "host"))

from qtdeploy.boards import load_board  # noqa: E402
from qtdeploy.formats import blob as blob_format  # noqa: E402
from qtdeploy.formats.bitstream import write_sim_bitstream  # noqa: E402
from qtdeploy.sim.design import sim_design  # noqa: E402

MODEL = ROOT / "protocol" / "vectors" / "model" / "w12_d32_b2" / "model.qtb"
BITSTREAM_BYTES = 4 * 1024


def write_base(out: Path, model: Path = MODEL) -> None:
    """Write bitstream.bin and model.qtb into out (created if missing)."""
    board = load_board("virtual")
    raw = model.read_bytes()
    parsed = blob_format.load(str(model))
    small = SimpleNamespace(
        id=board.id,
        fpga=SimpleNamespace(idcode=board.fpga.idcode, part=board.fpga.part, bitstream_bytes=BITSTREAM_BYTES),
    )
    bit = write_sim_bitstream(int(parsed.abi), small, sim_design(parsed))
    out.mkdir(parents=True, exist_ok=True)
    (out / "bitstream.bin").write_bytes(bit)
    (out / "model.qtb").write_bytes(raw)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    write_base(ap.parse_args().out)


if __name__ == "__main__":
    main()
