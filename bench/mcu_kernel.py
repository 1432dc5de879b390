"""Cortex-M0+ cost of the firmware's MCU-only kernel, per inference, for the paper's configurations.

Method: the kernel (firmware/core/{blob,model,kernel,sha256}.c + tools/m0bench/m0bench.c) is
cross-compiled exactly as the firmware's `make arm` objects are (arm-none-eabi-gcc
-mcpu=cortex-m0plus -mthumb -Os, kernel.c at -O2; libgcc for the 64-bit multiply and shifts and
the software division) and executed in the unicorn emulator
(Cortex-M0 CPU model, Thumb only) on the golden vectors' windows. Every executed instruction is
counted (a basic-block hook, instructions decoded per block), the outputs are checked against the
vector's y, and cycles are estimated with the Cortex-M0+ timings (TRM, table 3-1): 1 cycle per
ALU op and MULS (the RP2040 has the single-cycle multiplier), 2 per load/store, 1+N per
LDM/STM/PUSH/POP (+2 with PC), 2 per taken branch, 3 per BL. Assumes no wait states: code in
SRAM or hitting the 16 KiB XIP cache (the hot loops are < 1 KiB) and weights in SRAM (the blob
arena), as MODEL_LOAD leaves them. The RP2040 at 133 MHz.

    python bench/mcu_kernel.py [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FW = ROOT / "firmware"
VECTORS = ROOT / "protocol" / "vectors" / "model"
PAPER_CONFIGS = ["w6_d64_b8", "w12_d64_b6", "w12_d32_b4"]
PAPER_MCU_MS = 176.0  # the paper's MCU baseline: an 8-bit Transformer on the MCU
CLOCK_HZ = 133_000_000

FLASH, RAM, RAM_SIZE = 0x10000000, 0x20000000, 264 * 1024
BLOB_AT, X_AT, Y_AT, STACK_TOP = 0x20008000, 0x20038000, 0x20038400, RAM + RAM_SIZE
RETURN = 0x10100000  # a mapped address nothing lives at: the callee returns here and we stop


def build(build_dir: Path) -> tuple[bytes, dict[str, int]]:
    subprocess.run(["make", "-s", f"BUILD={build_dir}", "m0bench"], cwd=FW, check=True)
    nm = subprocess.run(
        ["arm-none-eabi-nm", str(build_dir / "arm" / "m0bench.elf")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    syms = {f[2]: int(f[0], 16) for f in (ln.split() for ln in nm.splitlines()) if len(f) == 3}
    size = subprocess.run(
        ["arm-none-eabi-size", "-A", str(build_dir / "arm" / "m0bench.elf")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert not any(
        ln.split()[0] == ".data" and int(ln.split()[1]) for ln in size.splitlines()[2:] if ln.split()
    ), "the bench image must have no initialised .data (nothing copies it)"
    return (build_dir / "arm" / "m0bench.bin").read_bytes(), syms


def _cycles(hw: int, hw2: int | None) -> tuple[int, bool]:
    """(cycles if not taken, is_branch) for one Thumb instruction (first halfword hw)."""
    if hw2 is not None:
        is_bl = (hw & 0xF800) == 0xF000 and (hw2 & 0xD000) == 0xD000
        return (2, True) if is_bl else (3, False)  # BL: 2 + 1 taken; MRS/MSR/DMB/ISB: 3-4
    if 0x4800 <= hw <= 0x9FFF:
        return 2, False  # LDR literal, load/store register and immediate, SP-relative
    if (hw & 0xFE00) == 0xB400:
        return 1 + bin(hw & 0x1FF).count("1"), False  # PUSH {.., lr}
    if (hw & 0xFE00) == 0xBC00:
        pc = bool(hw & 0x100)
        return (1 + bin(hw & 0xFF).count("1") + (2 if pc else 0)), pc  # POP {.., pc}: 3 + N
    if (hw & 0xF000) == 0xC000:
        return 1 + bin(hw & 0xFF).count("1"), False  # LDM/STM
    if (hw & 0xF000) == 0xD000 and (hw & 0x0F00) < 0x0E00:
        return 1, True  # conditional branch: 1, +1 when taken
    if (hw & 0xF800) == 0xE000:
        return 1, True  # B
    if (hw & 0xFF00) == 0x4700:
        return 1, True  # BX / BLX
    if (hw & 0xFF87) == 0x4687:
        return 1, True  # MOV pc, rX
    return 1, False


class M0:
    """The image in a unicorn Cortex-M0 with an instruction and cycle counter."""

    def __init__(self, image: bytes, syms: dict[str, int]):
        from unicorn import UC_ARCH_ARM, UC_HOOK_BLOCK, UC_MODE_MCLASS, UC_MODE_THUMB, Uc
        from unicorn.arm_const import UC_CPU_ARM_CORTEX_M0

        self.uc = Uc(UC_ARCH_ARM, UC_MODE_THUMB | UC_MODE_MCLASS)
        self.uc.ctl_set_cpu_model(UC_CPU_ARM_CORTEX_M0)
        self.uc.mem_map(FLASH, 2 * 1024 * 1024)
        self.uc.mem_map(RAM, RAM_SIZE)
        self.uc.mem_write(FLASH, image)
        self.syms = syms
        self.blocks: dict[tuple[int, int], tuple[int, int, bool]] = {}
        self.instructions = self.cycles = 0
        self.prev_end: int | None = None
        self.prev_branch = False
        self.uc.hook_add(UC_HOOK_BLOCK, self._block)

    def _decode(self, addr: int, size: int) -> tuple[int, int, bool]:
        code = bytes(self.uc.mem_read(addr, size))
        n = cyc = 0
        branch = False
        i = 0
        while i < size:
            hw = int.from_bytes(code[i : i + 2], "little")
            wide = (hw >> 11) in (0b11101, 0b11110, 0b11111)
            hw2 = int.from_bytes(code[i + 2 : i + 4], "little") if wide else None
            c, branch = _cycles(hw, hw2)
            cyc += c
            n += 1
            i += 4 if wide else 2
        return n, cyc, branch

    def _block(self, uc, addr, size, _user):
        key = (addr, size)
        info = self.blocks.get(key)
        if info is None:
            info = self.blocks[key] = self._decode(addr, size)
        if self.prev_branch and addr != self.prev_end:
            self.cycles += 1  # the previous block ended in a taken branch
        n, cyc, branch = info
        self.instructions += n
        self.cycles += cyc
        self.prev_end = addr + size
        self.prev_branch = branch

    def call(self, name: str, *args: int) -> tuple[int, int, int]:
        from unicorn.arm_const import UC_ARM_REG_LR, UC_ARM_REG_R0, UC_ARM_REG_R1, UC_ARM_REG_SP

        for reg, value in zip((UC_ARM_REG_R0, UC_ARM_REG_R1), args):
            self.uc.reg_write(reg, value)
        self.uc.reg_write(UC_ARM_REG_SP, STACK_TOP)
        self.uc.reg_write(UC_ARM_REG_LR, RETURN | 1)
        self.instructions = self.cycles = 0
        self.prev_end, self.prev_branch = None, False
        self.uc.emu_start(self.syms[name] | 1, RETURN)
        if self.prev_branch and self.prev_end != RETURN:
            self.cycles += 1  # the final return
        return self.uc.reg_read(UC_ARM_REG_R0), self.instructions, self.cycles


def read_ints(path: Path) -> np.ndarray:
    lines = [ln for ln in path.read_text().splitlines() if ln and not ln.startswith("#")]
    return np.array(" ".join(lines).split(), dtype=np.int64)


def macs(cfg: dict) -> int:
    t, m, d, f, h = cfg["window"], cfg["features"], cfg["d_model"], cfg["ffn"], cfg["horizon"]
    per_layer = 4 * t * d * d + 2 * t * t * d + 2 * t * d * f
    return t * m * d + cfg["layers"] * per_layer + d * h


def measure(case: str, image: bytes, syms: dict[str, int]) -> dict:
    d = VECTORS / case
    index = json.loads((d / "index.json").read_text())
    cfg = index["config"]
    blob = (d / "model.qtb").read_bytes()
    x = read_ints(d / "x.txt").reshape(index["windows"], -1).astype(np.int8)
    y = read_ints(d / "y.txt").reshape(index["windows"], -1)
    cpu = M0(image, syms)
    cpu.uc.mem_write(BLOB_AT, blob)
    st, load_instr, load_cyc = cpu.call("bench_load", BLOB_AT, len(blob))
    if st != 0:
        raise SystemExit(f"{case}: bench_load returned status {st:#x}")
    instr, cyc = [], []
    for w in range(index["windows"]):
        cpu.uc.mem_write(X_AT, x[w].tobytes())
        st, n, c = cpu.call("bench_infer", X_AT, Y_AT)
        got = np.frombuffer(bytes(cpu.uc.mem_read(Y_AT, 4 * y.shape[1])), dtype="<i4")
        if st != 0 or got.tolist() != y[w].tolist():
            raise SystemExit(f"{case} window {w}: status {st:#x}, y {got.tolist()} != {y[w].tolist()}")
        instr.append(n)
        cyc.append(c)
    mean_cyc = float(np.mean(cyc))
    return {
        "case": case,
        "bits": cfg["bits"],
        "window": cfg["window"],
        "d_model": cfg["d_model"],
        "ffn": cfg["ffn"],
        "macs": macs(cfg),
        "instructions": int(np.mean(instr)),
        "cycles": int(mean_cyc),
        "ms_133mhz": mean_cyc / CLOCK_HZ * 1e3,
        "load_instructions": load_instr,
        "load_ms_133mhz": load_cyc / CLOCK_HZ * 1e3,
        "blob_bytes": len(blob),
        "bit_exact_windows": index["windows"],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--build", type=Path, default=FW / "build")
    args = ap.parse_args(argv)
    image, syms = build(args.build.resolve())
    rows = [measure(c, image, syms) for c in PAPER_CONFIGS]
    if args.json:
        json.dump(rows, sys.stdout, indent=1)
        print()
        return 0
    print(
        "MCU-only kernel on a Cortex-M0+ (unicorn; arm-none-eabi-gcc -Os, kernel.c -O2); cycles estimated, 133 MHz"
    )
    print(
        f"{'config':<12}{'MACs':>9}{'instr/inf':>11}{'instr/MAC':>10}{'cycles':>11}{'ms':>8}"
        f"{'vs 176 ms':>11}{'load ms':>9}"
    )
    for r in rows:
        print(
            f"{r['case']:<12}{r['macs']:>9,}{r['instructions']:>11,}{r['instructions'] / r['macs']:>10.2f}"
            f"{r['cycles']:>11,}{r['ms_133mhz']:>8.2f}{PAPER_MCU_MS / r['ms_133mhz']:>10.1f}x"
            f"{r['load_ms_133mhz']:>9.2f}"
        )
    print("every window's y checked bit-exact against the golden vector; 'load' = SHA-256 + parse + bind")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
