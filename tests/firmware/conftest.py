"""Build the firmware once per test session (make, into a cache directory keyed by nothing but
the checkout: make's own dependency tracking rebuilds what changed) and hand the paths out."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from qtdeploy.paths import cache_dir, repo_root
from support.fuzz_ledger import LEDGER, Ledger, fingerprint


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


@dataclass
class FuzzRun:
    """What a libFuzzer run reported: its runs, its final coverage (edges, features), its stderr."""

    runs: int
    edges: int
    features: int
    exec_s: int
    seed_edges: int  # coverage after the seeds alone (libFuzzer's INITED line)
    seconds: int  # wall time, libFuzzer's own count ("Done N runs in S second(s)"; 0 with -fork)
    stderr: str


def parse_fuzz(stderr: str) -> FuzzRun:
    """Runs from libFuzzer's closing "Done N runs" line (with -fork: "fuzzed for N iterations"),
    coverage and speed from its last status line ("exec/s: N", or "exec/s N" with -fork)."""
    runs = re.findall(r"Done (\d+) runs", stderr) or re.findall(
        r"fuzzed for (\d+) iterations", stderr
    )  # -fork
    cov = re.findall(r"cov: (\d+) ft: (\d+)", stderr)
    speed = re.findall(r"exec/s:? (\d+)", stderr)
    inited = re.findall(r"INITED cov: (\d+)", stderr)
    wall = re.findall(r"Done \d+ runs in (\d+) second", stderr)
    return FuzzRun(
        int(runs[-1]) if runs else 0,
        int(cov[-1][0]) if cov else 0,
        int(cov[-1][1]) if cov else 0,
        int(speed[-1]) if speed else 0,
        int(inited[0]) if inited else 0,
        int(wall[-1]) if wall else 0,
        stderr,
    )


@pytest.fixture(scope="session")
def fuzz_build(fw_build: Path) -> Path:
    """The libFuzzer harnesses (make fuzz), and the command fuzzer's base image beside them.

    Skips (with the reason) only where clang is missing."""
    if shutil.which("clang") is None:
        pytest.skip("clang not installed (apt-get install clang): the libFuzzer harnesses need it")
    proc = subprocess.run(
        ["make", "-s", "-j2", f"BUILD={fw_build}", "fuzz"],
        cwd=repo_root() / "firmware",
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    from support.scripts import load_script

    load_script(repo_root() / "firmware" / "fuzz" / "make_base.py").write_base(fw_build / "fuzz" / "base")
    return fw_build / "fuzz"


@pytest.fixture
def run_fuzzer(fuzz_build: Path, tmp_path: Path):
    """Run harness ``name`` for ``seconds`` (or ``runs`` inputs) from ``seeds``; a crash, a leak
    or an invariant broken fails the test. Returns what libFuzzer reported (FuzzRun)."""

    def run(
        name: str,
        seeds: dict[str, bytes],
        *,
        max_len: int,
        seconds: int = 10,
        runs: int | None = None,
        args: tuple[str, ...] = (),
    ) -> FuzzRun:
        state = os.environ.get("QTD_FUZZ_STATE")
        if runs is not None and state:
            return resumable(name, seeds, runs, Path(state), max_len=max_len, args=args)
        corpus = tmp_path / f"corpus-{name}"
        return once(
            name,
            seeds,
            corpus,
            tmp_path / f"{name}.log",
            max_len=max_len,
            seconds=seconds,
            runs=runs,
            args=args,
        )

    def once(
        name: str,
        seeds: dict[str, bytes],
        corpus: Path,
        log: Path,  # libFuzzer's output as it runs: `tail -f` a long one
        *,
        max_len: int,
        seconds: int = 10,
        runs: int | None = None,
        args: tuple[str, ...] = (),
    ) -> FuzzRun:
        corpus.mkdir(parents=True, exist_ok=True)
        for seed, data in seeds.items():
            (corpus / seed).write_bytes(data)
        # a counted (long, -m slow) run also prints libFuzzer's closing statistics
        limit = (
            [f"-runs={runs}", "-print_final_stats=1"] if runs is not None else [f"-max_total_time={seconds}"]
        )
        # QTD_FUZZ_FORK=N: a counted run as N libFuzzer jobs (-fork=N), for a machine with N free
        # cores; they stop together once their runs add up to ``runs`` ("fuzzed for N iterations")
        forks = int(os.environ.get("QTD_FUZZ_FORK", "0") or 0)
        if runs is not None and forks > 1:
            limit.append(f"-fork={forks}")
        env = {**os.environ, "QTD_FUZZ_BASE": str(fuzz_build / "base")}
        with log.open("w") as err:
            fuzz = subprocess.run(
                [str(fuzz_build / name), *limit, f"-max_len={max_len}", *args, str(corpus)],
                stdout=err,
                stderr=subprocess.STDOUT,
                timeout=None if runs is not None else 120 + seconds,
                cwd=log.parent,
                env=env,
            )
        stderr = log.read_text(errors="replace")
        assert fuzz.returncode == 0, f"{log} (crash input beside it):\n{stderr[-4000:]}"
        return parse_fuzz(stderr)

    def resumable(
        name: str, seeds: dict[str, bytes], runs: int, state: Path, *, max_len: int, args: tuple[str, ...]
    ) -> FuzzRun:
        """QTD_FUZZ_STATE=DIR: the counted run in segments of QTD_FUZZ_SEGMENT inputs (default
        1 M), each entered in DIR/<name>/ledger.json once it ended clean; a later session resumes
        where the ledger stands (support/fuzz_ledger.py says why and what resets it)."""
        ledger = Ledger.open(state / name, fingerprint(fuzz_build / name, fuzz_build / "base"))
        segment = int(os.environ.get("QTD_FUZZ_SEGMENT", "1000000"))
        if segment < 1:
            raise ValueError(f"QTD_FUZZ_SEGMENT={segment}: give a positive number of inputs per segment")
        if ledger.restarted:
            print(
                f"\n{name}: {ledger.root / LEDGER} counted another build of the harness: the count starts at 0"
            )
        last: FuzzRun | None = None
        while ledger.total < runs:
            k = len(ledger.segments)
            start = time.monotonic()
            last = once(
                name,
                seeds,
                ledger.corpus,
                ledger.root / f"segment-{k}.log",
                max_len=max_len,
                runs=min(segment, runs - ledger.total),
                args=args,
            )
            assert last.runs > 0, (
                f"no run count in {ledger.root / f'segment-{k}.log'}:\n{last.stderr[-2000:]}"
            )
            ledger.add(last.runs, last.edges, time.monotonic() - start)
            print(f"\n{name}: segment {k} clean, {last.runs} runs, {last.edges} edges; {ledger.total}/{runs}")
        if last is None:
            print(f"\n{name}: {ledger.root / LEDGER} already holds {ledger.total} clean runs of this build")
        edges = ledger.segments[-1].edges if ledger.segments else 0
        seconds = int(sum(s.seconds for s in ledger.segments))
        return FuzzRun(
            ledger.total,
            edges,
            last.features if last else 0,
            ledger.total // max(seconds, 1),
            0,
            seconds,
            last.stderr if last else "",
        )

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


@pytest.fixture(scope="session")
def m0_bench(fw_build):
    """bench/mcu_kernel.py and the kernel's bare-metal Cortex-M0+ image, built once: (module, image,
    symbols). Skips where the Arm compiler or the unicorn emulator is missing (setup-env installs both)."""
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc not installed (scripts/setup-env tries apt-get)")
    if importlib.util.find_spec("unicorn") is None:
        pytest.skip("the unicorn emulator is not installed (pip install unicorn)")
    from support.scripts import load_script

    mod = load_script(repo_root() / "bench" / "mcu_kernel.py")
    image, syms = mod.build(fw_build)
    return mod, image, syms
