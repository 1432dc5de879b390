"""Build the firmware once per test session (make, into a cache directory keyed by nothing but
the checkout: make's own dependency tracking rebuilds what changed) and hand the paths out."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from qtdeploy.paths import cache_dir, repo_root


@pytest.fixture(scope="session")
def fw_build() -> Path:
    if shutil.which(os.environ.get("CC", "cc")) is None:
        pytest.skip("no C compiler (cc) on PATH: the firmware tests need one")
    build = Path(os.environ.get("QTD_FW_BUILD", cache_dir() / "firmware-build"))
    build.mkdir(parents=True, exist_ok=True)
    fw = repo_root() / "firmware"
    proc = subprocess.run(
        ["make", "-s", "-j2", f"BUILD={build}", "all", "tests"], cwd=fw, capture_output=True, text=True
    )
    assert proc.returncode == 0, f"firmware build failed:\n{proc.stdout}\n{proc.stderr}"
    return build


@pytest.fixture
def run_fuzzer(fw_build: Path, tmp_path: Path):
    """Build the libFuzzer harnesses, run ``name`` for ``seconds`` from ``seeds``, return stderr.

    Skips (with the reason) only where clang is missing; a crash or leak fails the test.
    """

    def run(name: str, seeds: dict[str, bytes], *, max_len: int, seconds: int = 10) -> str:
        if shutil.which("clang") is None:
            pytest.skip("clang not installed (apt-get install clang): the libFuzzer harness needs it")
        proc = subprocess.run(
            ["make", "-s", f"BUILD={fw_build}", "fuzz"],
            cwd=repo_root() / "firmware",
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        corpus = tmp_path / f"corpus-{name}"
        corpus.mkdir()
        for seed, data in seeds.items():
            (corpus / seed).write_bytes(data)
        fuzz = subprocess.run(
            [str(fw_build / "fuzz" / name), f"-max_total_time={seconds}", f"-max_len={max_len}", str(corpus)],
            capture_output=True,
            text=True,
            timeout=120 + seconds,
        )
        assert fuzz.returncode == 0, fuzz.stderr[-3000:]
        return fuzz.stderr

    return run


@pytest.fixture(scope="session")
def parse_summary():
    """The (passed, failed) counts of a C test's closing SUMMARY line."""
    return _parse_summary


def _parse_summary(out: str) -> tuple[int, int]:
    for line in out.splitlines():
        if line.startswith("SUMMARY "):
            fields = dict(f.split("=") for f in line.split()[2:])
            return int(fields["passed"]), int(fields["failed"])
    raise AssertionError(f"no SUMMARY line in:\n{out}")


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """The Cortex-M0+ size report (text/data/bss of the core) in every run's output, not only
    with -s: the issue wants it visible in the test output."""
    rp2040 = getattr(config, "qtd_rp2040_size_report", None)
    if rp2040:
        terminalreporter.section(
            "RP2040 firmware image (make rp2040: core + hal/rp2040), measured from the ELF, against the chip"
        )
        terminalreporter.write(rp2040 + "\n")
    report = getattr(config, "qtd_arm_size_report", None)
    if report:
        terminalreporter.section(
            "firmware size, arm-none-eabi-gcc -Os for the Cortex-M0+ (measured from the build)"
        )
        terminalreporter.write(report if report.endswith("\n") else report + "\n")
