"""The command fuzzer (firmware/fuzz/fuzz_cmd.c): every handler behind a valid frame, through
the real receiver and dispatcher of the virtual board (NOR flash model in memory, hardware rules
armed), with the board's invariants checked after every request.

Default suite: a brief run from the committed seed corpus that must keep exploring (coverage
above what the seeds alone reach), reach every command handler, and run a floor of inputs; and
a replay of every committed input (seeds and the regression inputs of past findings). -m slow:
10 M inputs."""

from __future__ import annotations

import os
import re
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

from qtdeploy.paths import repo_root

FUZZ_DIR = repo_root() / "firmware" / "fuzz"
CORPUS = FUZZ_DIR / "corpus" / "cmd"
REGRESSIONS = FUZZ_DIR / "corpus" / "regressions"
HANDLERS = sorted(
    set(re.findall(r"\bqtd_cmd_\w+", (repo_root() / "firmware" / "core" / "dispatch.c").read_text()))
)
# Measured on the 2-core CI machine, loaded: ~350-2000 runs/s (deep inputs hash, load models and
# infer), ~1000 edges from the seeds alone, ~1200 after a minute. Floors with room for load.
MIN_RUNS = 300
MIN_EDGES = 1000
MIN_NEW_EDGES = 10  # over the seeds: the harness explores, not only replays


def _inputs() -> list[Path]:
    """The committed inputs: seeds and regressions (files without an extension; READMEs aside)."""
    return [p for d in (CORPUS, REGRESSIONS) for p in sorted(d.iterdir()) if p.is_file() and not p.suffix]


def _seeds() -> dict[str, bytes]:
    return {f"{p.parent.name}-{p.name}": p.read_bytes() for p in _inputs()}


def _per_handler(stderr: str) -> tuple[dict[str, tuple[int, int]], dict[str, list[int]]]:
    """-print_coverage's COVERED_FUNC lines: edges (covered, total) per handler and per file."""
    handlers: dict[str, tuple[int, int]] = {}
    files: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for m in re.finditer(r"COVERED_FUNC: hits: \d+ edges: (\d+)/(\d+) (\w+) (\S+):\d+", stderr):
        got, total, func, path = int(m[1]), int(m[2]), m[3], m[4]
        if func in HANDLERS:
            handlers[func] = (got, total)
        if "/core/" in path:
            files[Path(path).name][0] += got
            files[Path(path).name][1] += total
    return handlers, dict(files)


def test_fuzz_cmd_briefly(run_fuzzer, record_property):
    r = run_fuzzer("fuzz_cmd", _seeds(), max_len=12000, seconds=10, args=("-print_coverage=1",))
    handlers, files = _per_handler(r.stderr)
    print(
        f"\nfuzz_cmd: {r.runs} runs in 10 s ({r.exec_s}/s), {r.edges} edges ({r.seed_edges} from the seeds)"
    )
    for name in HANDLERS:
        got, total = handlers.get(name, (0, 0))
        print(f"  {name:28s} {got:4d} / {total:4d} edges")
    for name, (got, total) in sorted(files.items()):
        print(f"  core/{name:23s} {got:4d} / {total:4d} edges")
    record_property("fuzz_cmd_runs", r.runs)
    record_property("fuzz_cmd_edges", r.edges)
    assert r.runs >= MIN_RUNS, r.stderr[-3000:]
    assert r.edges >= MIN_EDGES, r.stderr[-3000:]
    assert r.edges >= r.seed_edges + MIN_NEW_EDGES, "the fuzzer found nothing beyond its seeds"
    missing = [h for h in HANDLERS if handlers.get(h, (0, 0))[0] == 0]
    assert not missing, f"handlers the fuzzer never reached: {missing}"


def test_fuzz_cmd_replays_committed_inputs(fuzz_build: Path):
    """Every seed and every regression input (a past finding, fixed) runs clean: invariants hold,
    no sanitizer report, no hardware rule broken."""
    inputs = _inputs()
    env = {**os.environ, "QTD_FUZZ_BASE": str(fuzz_build / "base"), "QTD_FUZZ_TRACE": "1"}
    proc = subprocess.run(
        [str(fuzz_build / "fuzz_cmd"), *map(str, inputs)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert proc.stderr.count("Executed ") == len(inputs), proc.stderr[-2000:]
    # the seeds reach the success paths they were written for (fuzz/make_seeds.py)
    for line in ("command 0x20 len 76 -> OK", "command 0x41 len 52 -> OK", "command 0x44 len 0 -> OK"):
        assert line in proc.stderr, line
    # POWER_BENCH bursts the board accepts are cut to N=3 (fuzz_cmd.c cap_bench): a fuzzed N of
    # 14,400 kept 31 s per input and the 10 M run at ~130 inputs/s (regressions/README.md)
    capped = proc.stderr[proc.stderr.index(str(REGRESSIONS / "bench_burst_capped")) :]
    benches = re.findall(
        r"command 0x54 len \d+ N=(\d+)(?: \(burst\))? -> (\w+)", capped[: capped.index("Executed ")]
    )
    assert ("3", "OK") in benches and all(int(n) <= 3 for n, st in benches if st == "OK"), benches
    # SET_BAUD's revert (link.md 7.3): 1.2 s of silence drops the unconfirmed 3 Mbaud rate for the
    # boot rate; a good frame within 50 ms keeps 115200
    seed = proc.stderr[proc.stderr.index(str(CORPUS / "baud_revert")) :]
    rates = re.findall(r"UART at (\d+) baud", seed[: seed.index("Executed ")])
    assert rates[-3:] == ["3000000", "921600", "115200"], seed[:2000]


@pytest.mark.slow
@pytest.mark.timeout(0)  # hours: pyproject's 900 s would kill it; libFuzzer's -timeout catches a hang
def test_fuzz_cmd_ten_million(run_fuzzer):
    """-m slow: 10 M inputs through every handler, clean. One process unless QTD_FUZZ_FORK=N.
    Hours (the measured rates are in firmware/README.md). QTD_FUZZ_STATE=DIR resumes it across
    sessions in clean segments (conftest's run_fuzzer, support/fuzz_ledger.py)."""
    r = run_fuzzer("fuzz_cmd", _seeds(), max_len=12000, runs=10_000_000)
    print(f"\nfuzz_cmd: {r.runs} runs in {r.seconds} s ({r.exec_s}/s), {r.edges} edges")
    assert r.runs >= 10_000_000
