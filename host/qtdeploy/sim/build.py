"""Build the virtual board executable from firmware/ on first use, cached by content hash.

Why a content hash and not make's timestamps alone: the executable is shared by every process
of a user (CLI runs, tests, the demo), possibly from several checkouts. Keying the build
directory by a hash of the firmware sources and board files means a changed source gives a new
directory (a rebuild), an unchanged one reuses the build, and two checkouts never overwrite each
other's binary. A lock file serialises builds, so two processes starting a board at once do not
run make into the same directory together.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from qtdeploy import progress
from qtdeploy.errors import NotAvailableError
from qtdeploy.paths import boards_dir, cache_dir, firmware_dir

EXE_NAME = "qtd-virtual-board"
# What goes into the executable: C sources, headers, the Makefile and the board-header generator,
# plus the board files it is generated from. Build outputs (firmware/build) are excluded.
_SOURCE_SUFFIXES = (".c", ".h", ".py", ".toml")
_SOURCE_NAMES = ("Makefile",)
_LOADER = Path(__file__).resolve().parents[1] / "boards.py"
_KEEP_BUILDS = 4  # older firmware-<hash> directories are removed after a successful build


def source_files(board: str = "virtual") -> list[Path]:
    """Every file whose content decides the executable, in a stable order."""
    fw = firmware_dir()
    files = [
        p
        for p in fw.rglob("*")
        if p.is_file()
        and "build" not in p.relative_to(fw).parts[:1]
        and (p.suffix in _SOURCE_SUFFIXES or p.name in _SOURCE_NAMES)
        and p.relative_to(fw).parts[0] not in ("tests", "fuzz")
    ]
    files += sorted(boards_dir().glob("*.toml"))
    return sorted(set(files))


def source_hash(board: str = "virtual") -> str:
    """SHA-256 (first 16 hex digits) over the relative names and contents of the sources."""
    h = hashlib.sha256(board.encode() + b"\0")
    root = firmware_dir().parent
    for path in source_files(board):
        h.update(str(path.relative_to(root)).encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    # The board header is generated through the host's loader (firmware/tools/board_header.py).
    h.update(_LOADER.read_bytes())
    return h.hexdigest()[:16]


def build_dir(board: str = "virtual") -> Path:
    """``cache_dir()/firmware-<hash>`` (the board is part of the hash)."""
    return cache_dir() / f"firmware-{source_hash(board)}"


def executable(board: str = "virtual", *, rebuild: bool = False) -> Path:
    """The virtual board executable for ``board``, building it first if needed.

    ``QTD_VIRTUAL_BOARD`` names a prebuilt executable to use instead. Raises NotAvailableError when there is no C compiler or make, and when the build fails
    (with make's output), because without the executable there is no virtual board.
    """
    override = os.environ.get("QTD_VIRTUAL_BOARD")
    if override:  # a prebuilt executable (another checkout's, or one kept while firmware/ is mid-edit)
        if not os.access(override, os.X_OK):
            raise NotAvailableError(
                f"QTD_VIRTUAL_BOARD={override} is not an executable file.",
                "Point it at a built qtd-virtual-board, or unset it to build from firmware/.",
            )
        return Path(override)
    out = build_dir(board)
    exe = out / EXE_NAME
    if exe.is_file() and not rebuild:
        return exe
    cc = os.environ.get("CC", "cc")
    for tool in ("make", cc):
        if shutil.which(tool) is None:
            raise NotAvailableError(
                f"Cannot build the virtual board: `{tool}` is not on PATH.",
                "Install a C compiler and make (e.g. `apt-get install build-essential`).",
            )
    out.mkdir(parents=True, exist_ok=True)
    with open(out / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be building this very directory
        if exe.is_file() and not rebuild:
            return exe
        with progress.status(f"building the virtual board's firmware ({board}; once per source change)"):
            proc = subprocess.run(
                # PYTHON and BOARD_LOADER: this interpreter and its qtdeploy generate the board
                # header, so an installed package builds without a checkout beside it
                ["make", "-s", "-j2", f"BUILD={out}", f"BOARD={board}", f"PYTHON={sys.executable}"]
                + [f"BOARD_LOADER={_LOADER}", "all"],
                cwd=firmware_dir(),
                capture_output=True,
                text=True,
            )
        if proc.returncode != 0 or not exe.is_file():
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
            raise NotAvailableError(
                f"Building the virtual board in {out} failed (make exit {proc.returncode}):\n"
                + "\n".join(tail),
                "Fix the firmware build (`make -C firmware`), or check out a revision that builds; "
                "QTD_VIRTUAL_BOARD=path/to/qtd-virtual-board runs a prebuilt one meanwhile.",
            )
    _prune(keep=out)
    return exe


def _prune(keep: Path) -> None:
    """Drop all but the newest builds: every firmware edit makes a new hash directory."""
    builds = [
        p
        for p in cache_dir().glob("firmware-*")
        if len(p.name) == len("firmware-") + 16 and all(c in "0123456789abcdef" for c in p.name[9:])
    ]
    builds.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    for old in builds[_KEEP_BUILDS:]:
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)
