"""Cortex-M0+ cost of decoding compressed FLASH_WRITE frames (heatshrink, window 2^8, lookahead 2^4).

Why: the virtual board does not model CPU time, so bench/flash.py's compressed numbers assume
the MCU decodes faster than the wire delivers. This measures that assumption. The firmware's
decoder (core/flash_codec.c + third_party/heatshrink, with firmware/tests/m0_codec.c as the
entry) is cross-compiled as `make arm` compiles it (arm-none-eabi-gcc -mcpu=cortex-m0plus -mthumb
-O2: the Makefile builds these two files at -O2, 117 -> 80 cycles per byte) and run in the unicorn emulator with bench/mcu_kernel.py's cycle model (Cortex-M0+
TRM timings, no wait states: code in SRAM or the XIP cache). Frames are made exactly as
`qtdeploy flash` makes them (qtdeploy.ops.compress.write_requests, max payload 4096) from the
simulated XC7S15 bitstream; the output is checked against the raw data. The firmware decodes
each frame twice (check pass, program pass), so the decoded bytes/s it can sustain is half the
single-pass rate; that is compared with the decoded bytes/s the wire would deliver at 3 Mbaud.

    python bench/flash_codec_m0.py [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mcu_kernel import CLOCK_HZ, M0, RAM  # noqa: E402
from qtdeploy.boards import load_board  # noqa: E402
from qtdeploy.formats.bitstream import write_sim_bitstream  # noqa: E402
from qtdeploy.link import payloads as P  # noqa: E402
from qtdeploy.ops.compress import WriteStats, write_requests  # noqa: E402

FW = Path(__file__).resolve().parents[1] / "firmware"
SOURCES = ["tests/m0_codec.c", "core/flash_codec.c", "third_party/heatshrink/heatshrink_decoder.c"]
IN_AT = RAM + 0x20000
OPT = "-O2"  # as `make arm` builds the decoder (firmware/Makefile ARM_HOT)


def build(out: Path) -> tuple[bytes, dict[str, int]]:
    elf = out / "m0_codec.elf"
    flags = [
        "-std=c11",
        "-mcpu=cortex-m0plus",
        "-mthumb",
        OPT,
        "-ffunction-sections",
        "-fdata-sections",
        "-Iinclude",
        "-Ithird_party/heatshrink",
    ]
    subprocess.run(
        [
            "arm-none-eabi-gcc",
            *flags,
            "-nostartfiles",
            "-Wl,--gc-sections",
            "-T",
            "tools/m0bench/m0bench.ld",
            "-Wl,-u,bench_decode",
            "-Wl,-e,bench_decode",
            "-o",
            str(elf),
            *SOURCES,
            "-lc",
            "-lgcc",
        ],
        cwd=FW,
        check=True,
    )
    subprocess.run(
        ["arm-none-eabi-objcopy", "-O", "binary", "-j", ".text", str(elf), str(out / "m0_codec.bin")],
        check=True,
    )
    nm = subprocess.run(["arm-none-eabi-nm", str(elf)], check=True, capture_output=True, text=True).stdout
    syms = {f[2]: int(f[0], 16) for f in (ln.split() for ln in nm.splitlines()) if len(f) == 3}
    return (out / "m0_codec.bin").read_bytes(), syms


def frames(data: bytes, mode: str) -> list[tuple[bytes, bytes]]:
    """(stream, raw) of every compressed frame `qtdeploy flash` would send for data."""
    out = []
    for off in range(0, len(data), 65536):
        sector = data[off : off + 65536]
        for req in write_requests(off, sector, max_payload=4096, page=256, mode=mode, stats=WriteStats()):
            w = P.FlashWriteRequest.parse(req.payload)
            if w.codec:
                out.append((bytes(w.data), sector[w.offset - off : w.offset - off + w.raw_length]))
    return out


def measure(cpu: M0, pairs: list[tuple[bytes, bytes]]) -> dict:
    cycles = raw = wire = 0
    for stream, want in pairs:
        cpu.uc.mem_write(IN_AT, stream)
        got, _n, cyc = cpu.call("bench_decode", IN_AT, len(stream))
        if got != len(want) or bytes(cpu.uc.mem_read(cpu.syms["g_out"], got)) != want:
            raise SystemExit(f"decode mismatch: returned {got:#x} for {len(want)} bytes")
        cycles, raw, wire = cycles + cyc, raw + len(want), wire + len(stream)
    per_byte = cycles / raw
    sustained = CLOCK_HZ / per_byte / 2  # two passes per frame
    return {
        "frames": len(pairs),
        "raw_bytes": raw,
        "wire_bytes": wire,
        "ratio": round(raw / wire, 3),
        "cycles_per_decoded_byte": round(per_byte, 1),
        "decoded_Bps_one_pass": round(CLOCK_HZ / per_byte),
        "decoded_Bps_two_passes": round(sustained),
        "needed_Bps_at_3M": round(300_000 * raw / wire),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    import random

    bitstream = write_sim_bitstream(0x00C0FFEE, load_board("virtual"))
    rng = random.Random(1)
    noise = bytes(rng.randrange(256) for _ in range(65536))
    with tempfile.TemporaryDirectory() as tmp:
        image, syms = build(Path(tmp))
    cpu = M0(image, syms)
    rows = {
        "xc7s15_sim_bitstream": measure(cpu, frames(bitstream, "auto")),
        "random_forced": measure(cpu, frames(noise, "heatshrink")),
    }
    if args.json:
        json.dump(rows, sys.stdout, indent=1)
        print()
        return 0
    print(
        "heatshrink decode of FLASH_WRITE frames on a Cortex-M0+ at 133 MHz (unicorn, cycles estimated; -O2)"
    )
    print(
        "(pieces copied to RAM: the check pass's flash reads and the page programs are not in these cycles)"
    )
    for name, r in rows.items():
        bound = min(r["decoded_Bps_two_passes"], r["needed_Bps_at_3M"])
        by = "the decoder" if r["decoded_Bps_two_passes"] < r["needed_Bps_at_3M"] else "the wire"
        print(
            f"{name:22} {r['frames']:>3} frames, ratio {r['ratio']:.2f}: {r['cycles_per_decoded_byte']:.1f} cycles/B "
            f"-> {r['decoded_Bps_two_passes']:,} B/s decoded (both passes); the 3 Mbaud wire delivers "
            f"{r['needed_Bps_at_3M']:,} B/s of it: at most {bound:,} B/s = {bound / 300_000:.2f}x the raw wire "
            f"rate, set by {by} [modelled]"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
