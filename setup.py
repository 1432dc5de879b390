"""The one build step pyproject.toml cannot say: copy the repository's data into the wheel.

The board files, protocol data, firmware sources, RTL (with the cocotb bench `rtl report` runs)
and the example forecaster live at the top of the repository, because the C and Verilog sides
read them too; they stay the single source. At build time they are copied into
``qtdeploy/_data/`` inside the wheel, laid out as in the checkout, and :mod:`qtdeploy.paths` finds
them there (an editable install and a checkout read the repository itself). MANIFEST.in lists the
same files for the sdist.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
# What the installed commands read at run time (repository-relative globs).
SHIPPED = (
    "boards/*.toml",
    "protocol/*.toml",
    "protocol/vectors/**/*",  # golden vectors: `rtl report` simulates the paper cases on them
    "firmware/Makefile",  # `--port sim` builds the virtual board with the system C compiler
    "firmware/core/**/*",
    "firmware/include/**/*",
    "firmware/hal/**/*",
    "firmware/third_party/**/*",
    "firmware/tools/board_header.py",
    "rtl/*.v",  # `rtl report` (Yosys), `--fpga rtl` (Verilator)
    "tests/rtl/tb_qtd_top.py",  # the cocotb bench `rtl report` counts cycles with
    "tests/rtl/spi_master.py",
    "examples/forecaster/*",
)
_SKIP_PARTS = {"__pycache__", "build", ".pytest_cache"}
_SKIP_SUFFIXES = {".o", ".pyc", ".so", ".a"}


def shipped_files(root: Path = ROOT) -> list[Path]:
    """Every file SHIPPED names, repository-relative, build outputs left out."""
    found = set()
    for pattern in SHIPPED:
        for path in root.glob(pattern):
            rel = path.relative_to(root)
            if path.is_file() and not _SKIP_PARTS & set(rel.parts) and path.suffix not in _SKIP_SUFFIXES:
                found.add(rel)
    return sorted(found)


class BuildPyWithData(build_py):
    """build_py, then the repository's data into build_lib/qtdeploy/_data (not for editable installs,
    which read the checkout)."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        dest = Path(self.build_lib) / "qtdeploy" / "_data"
        shutil.rmtree(dest, ignore_errors=True)
        for rel in shipped_files():
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, target)


setup(cmdclass={"build_py": BuildPyWithData})
