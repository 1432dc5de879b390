"""Build the RP2040 firmware (ELF + UF2) and say what is in it: build id and sizes.

Why through make: the firmware's Makefile is the one build of the C sources (pytest, CI and the
user's ``qtdeploy firmware build`` run the same rules); this module picks the output directory
(the cache, keyed by a hash of the sources like the virtual board's build), runs it, and reads
the results back: the GNU build-id the firmware reports over the link, and the flash and RAM the
image takes against the RP2040's budgets.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import struct
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from qtdeploy import progress
from qtdeploy.boards import load_board
from qtdeploy.errors import FormatError, NotAvailableError
from qtdeploy.formats import uf2
from qtdeploy.paths import cache_dir, firmware_dir
from qtdeploy.sim.build import source_hash

# RP2040 datasheet §2.6: 264 KiB of SRAM (SRAM0-3 striped 256 KiB + SRAM4/5 4 KiB each).
SRAM_BYTES = 264 * 1024
# A GNU build-id note: namesz 4, descsz 20 (SHA-1), type NT_GNU_BUILD_ID (3), "GNU\0".
_NOTE_HEAD = struct.pack("<III", 4, 20, 3) + b"GNU\0"


@dataclass(frozen=True)
class SizeReport:
    """What the image takes (measured from the built ELF) and what the chip and board offer."""

    text: int  # code + read-only data + the .data initialisers: all in program flash
    data: int  # initialised RAM
    bss: int  # zeroed RAM (the model arena and the USB rings included)
    stack: int  # the main stack, SRAM4 + SRAM5
    flash_budget: int
    ram_budget: int

    @property
    def flash(self) -> int:
        return self.text + self.data

    @property
    def ram(self) -> int:
        return self.data + self.bss + self.stack

    def lines(self) -> list[str]:
        return [
            f"flash {self.flash:>8,} B of {self.flash_budget:>10,} B ({100 * self.flash / self.flash_budget:.1f} %)",
            f"RAM   {self.ram:>8,} B of {self.ram_budget:>10,} B ({100 * self.ram / self.ram_budget:.1f} %)"
            f"  (.data {self.data:,} + .bss {self.bss:,} + stack {self.stack:,})",
        ]


@dataclass(frozen=True)
class FirmwareBuild:
    board: str
    elf: Path
    uf2: Path
    build_id: str
    size: SizeReport
    parts_wasm: Path | None = None

    def as_dict(self) -> dict:
        d = asdict(self)
        d.update(
            elf=str(self.elf), uf2=str(self.uf2), parts_wasm=str(self.parts_wasm) if self.parts_wasm else None
        )
        d["size"] = {**asdict(self.size), "flash": self.size.flash, "ram": self.size.ram}
        return d


def read_build_id(image: bytes) -> str:
    """The GNU build-id (hex) in a firmware image: the note the linker put after the vectors."""
    at = image.find(_NOTE_HEAD)
    if at < 0:
        raise FormatError(
            "no GNU build-id note in the image", "Rebuild with -Wl,--build-id (make rp2040 does)."
        )
    return image[at + len(_NOTE_HEAD) : at + len(_NOTE_HEAD) + 20].hex()


def _size(elf: Path, board: str) -> SizeReport:
    proc = subprocess.run(["arm-none-eabi-size", "-A", str(elf)], capture_output=True, text=True, check=True)
    sections = {}
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1].isdigit():
            sections[parts[0]] = int(parts[1])
    text = sum(
        sections.get(s, 0) for s in (".boot2", ".vectors", ".note.gnu.build-id", ".text", ".ARM.exidx")
    )
    b = load_board(board)
    return SizeReport(
        text=text,
        data=sections.get(".data", 0),
        bss=sections.get(".bss", 0),
        stack=8 * 1024,
        flash_budget=b.mcu.program_flash_bytes or 2 * 1024 * 1024,
        ram_budget=SRAM_BYTES,
    )


def _hash(board: str) -> str:
    """The virtual board's source hash plus what only this build reads: the linker script, boot2,
    the emulator harness (so that a changed .ld or .S rebuilds, as a changed .c does)."""
    import hashlib

    fw = firmware_dir()
    h = hashlib.sha256(source_hash(board).encode())
    extra = (
        sorted(fw.glob("hal/rp2040/*.ld")) + sorted(fw.glob("hal/rp2040/*.S")) + sorted(fw.glob("emu/*.mjs"))
    )
    for path in extra:
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def build(board: str = "env5", *, emulator: bool = False, rebuild: bool = False) -> FirmwareBuild:
    """Build (or reuse) the firmware for ``board``; ``emulator`` also builds parts.wasm."""
    for tool in ("make", "arm-none-eabi-gcc"):
        if shutil.which(tool) is None:
            raise NotAvailableError(
                f"Cannot build the RP2040 firmware: `{tool}` is not on PATH.",
                "apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi make (scripts/setup-env does).",
            )
    if emulator and shutil.which(os.environ.get("WASM_CC", "clang")) is None:
        raise NotAvailableError(
            "Building the emulator's part models needs clang with the wasm32 target.",
            "apt-get install clang lld wasi-libc (scripts/setup-env does).",
        )
    load_board(board)  # a bad board file fails here with its own message
    out = cache_dir() / f"rp2040-{_hash(board)}"
    rp = out / "rp2040"
    targets = ["rp2040"] + (["rp2040-emu"] if emulator else [])
    out.mkdir(parents=True, exist_ok=True)
    with open(out / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = (rp / "qtd-rp2040.uf2").is_file() and (not emulator or (rp / "parts.wasm").is_file())
        if rebuild or not done:
            with progress.status(f"building the RP2040 firmware for {board}"):
                proc = subprocess.run(
                    ["make", "-s", "-j2", f"BUILD={out}", f"RP_BOARD={board}", *targets],
                    cwd=firmware_dir(),
                    capture_output=True,
                    text=True,
                )
            if proc.returncode != 0:
                tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
                raise NotAvailableError(
                    f"Building the RP2040 firmware in {out} failed (make exit {proc.returncode}):\n"
                    + "\n".join(tail),
                    "Fix the firmware build (`make -C firmware rp2040`).",
                )
    image = (rp / "qtd-rp2040.bin").read_bytes()
    uf2.check_firmware((rp / "qtd-rp2040.uf2").read_bytes())
    return FirmwareBuild(
        board=board,
        elf=rp / "qtd-rp2040.elf",
        uf2=rp / "qtd-rp2040.uf2",
        build_id=read_build_id(image),
        size=_size(rp / "qtd-rp2040.elf", board),
        parts_wasm=rp / "parts.wasm" if emulator else None,
    )
