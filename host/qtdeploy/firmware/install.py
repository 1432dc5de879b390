"""Put a UF2 onto an RP2040 in its USB bootloader (the RPI-RP2 drive) and wait for our board.

Why a library function with injectable edges: the steps a board owner needs (check the file,
find exactly one drive, copy, wait for the board to come back as our CDC device) are each a
place something goes wrong on a real desk; tests drive them with a directory that looks like
the drive and a port lister, and the CLI is a thin wrapper.

Facts: the RP2040 ROM's mass-storage drive is labelled RPI-RP2 and holds INFO_UF2.TXT with a
``Board-ID: RPI-RP2`` line (RP2040 datasheet §2.8.4.2); any file copied onto it that is a UF2
for family 0xE48BFF56 is flashed, then the chip reboots into it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from qtdeploy.errors import LinkError, UsageError
from qtdeploy.formats import uf2
from qtdeploy.ports import PortInfo, attached_ports

INFO_FILE = "INFO_UF2.TXT"
BOARD_ID = "RPI-RP2"
PRODUCT_MARK = "qtdeploy"  # in our firmware's USB product string (hal/rp2040/usb_desc.c)


@dataclass(frozen=True)
class InstallResult:
    drive: str
    uf2: str
    bytes: int
    blocks: int
    port: str | None


def mount_points() -> list[Path]:
    """Mounted file systems (Linux /proc/mounts), where an RPI-RP2 drive would be."""
    try:
        lines = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return []
    return [Path(line.split()[1].replace("\\040", " ")) for line in lines if len(line.split()) > 2]


def is_rp2040_drive(path: Path) -> bool:
    try:
        text = (path / INFO_FILE).read_text(errors="replace")
    except OSError:
        return False
    return any(line.strip() == f"Board-ID: {BOARD_ID}" for line in text.splitlines())


def find_drives(candidates: Iterable[Path] | None = None) -> list[Path]:
    """Every mounted RPI-RP2 drive, sorted."""
    paths = mount_points() if candidates is None else list(candidates)
    return sorted({p for p in paths if is_rp2040_drive(p)})


def pick_drive(drive: str | None, candidates: Iterable[Path] | None = None) -> Path:
    """The one drive to write to: --drive if given (it must be an RPI-RP2 drive), else the only one."""
    if drive is not None:
        if not is_rp2040_drive(Path(drive)):
            raise UsageError(
                f"{drive} is not an RPI-RP2 drive (no {INFO_FILE} with 'Board-ID: {BOARD_ID}').",
                "Pass the mount point of the RP2040's bootloader drive, or leave --drive out to find it.",
            )
        return Path(drive)
    drives = find_drives(candidates)
    if not drives:
        raise LinkError(
            f"No RPI-RP2 drive is mounted (looked for {INFO_FILE} in every mount point).",
            "Hold BOOTSEL while plugging the board in (or pass --port to reboot a running board into its "
            "bootloader), then mount the drive (e.g. `udisksctl mount -b /dev/sdX1`).",
        )
    if len(drives) > 1:
        raise UsageError(
            f"{len(drives)} RPI-RP2 drives are mounted: {', '.join(map(str, drives))}.",
            f"Choose one with --drive, e.g. --drive {drives[0]}.",
        )
    return drives[0]


def copy_uf2(raw: bytes, drive: Path, name: str = "qtd-rp2040.uf2") -> None:
    """One write of the whole checked file, flushed: the ROM flashes as blocks arrive."""
    fd = os.open(drive / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(raw)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def wait_for_board(
    vid: int,
    pid: int,
    *,
    timeout: float,
    ports: Callable[[], list[PortInfo]] = attached_ports,
    before: set[str] | None = None,
    poll: float = 0.25,
) -> str:
    """The device path of our firmware's CDC port once it enumerates (VID:PID and product)."""
    deadline = time.monotonic() + timeout
    while True:
        for p in ports():
            if (
                (p.vid, p.pid) == (vid, pid)
                and PRODUCT_MARK in p.description
                and p.device not in (before or set())
            ):
                return p.device
        if time.monotonic() >= deadline:
            raise LinkError(
                f"The board did not come back as a qtdeploy serial port ({vid:04X}:{pid:04X}) within {timeout:.0f} s "
                "after the UF2 was copied.",
                "Unplug and replug it; if the RPI-RP2 drive comes back instead, the image did not boot: rebuild "
                "it (qtdeploy firmware build) and check the bring-up list in firmware/README.md.",
            )
        time.sleep(poll)


def install(
    uf2_path: Path,
    *,
    vid: int,
    pid: int,
    drive: str | None = None,
    candidates: Iterable[Path] | None = None,
    timeout: float = 15.0,
    ports: Callable[[], list[PortInfo]] = attached_ports,
) -> InstallResult:
    """Check ``uf2_path``, copy it onto the one RPI-RP2 drive, wait for our board's port."""
    raw = Path(uf2_path).read_bytes()
    img = uf2.check_firmware(raw, name=str(uf2_path))  # wrong family / truncated: nothing written
    target = pick_drive(drive, candidates)
    before = {p.device for p in ports()}
    copy_uf2(raw, target)
    port = wait_for_board(vid, pid, timeout=timeout, ports=ports, before=before)
    return InstallResult(str(target), str(uf2_path), len(raw), img.blocks, port)
