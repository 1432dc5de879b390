"""The core cross-compiled for the RP2040 (Cortex-M0+) with its size report, and a short
libFuzzer run of the frame parser. Both need tools beyond cc: the suite installs them through
scripts/setup-env (apt-get) and skips with the reason only where they cannot be had."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from qtdeploy.paths import repo_root

CODE_LIMIT = 64 * 1024
RAM_LIMIT = 32 * 1024


def test_arm_build_fits(fw_build, record_property, pytestconfig):
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip(
            "arm-none-eabi-gcc not installed and not installable here (scripts/setup-env tries apt-get)"
        )
    proc = subprocess.run(
        ["make", "-s", f"BUILD={fw_build}", "arm"],
        cwd=repo_root() / "firmware",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    print("\n" + proc.stdout)  # the size report, visible with -s / in the captured output
    pytestconfig.qtd_arm_size_report = proc.stdout  # and in the summary (conftest.py)
    m = re.search(r"^\s*(\d+)\s+(\d+)\s+(\d+)\s+\d+\s+\w+\s+\S*qtdcore\.o", proc.stdout, re.M)
    assert m, proc.stdout
    text, data, bss = map(int, m.groups())
    record_property("arm_text", text)
    record_property("arm_data", data)
    record_property("arm_bss", bss)
    assert text + data <= CODE_LIMIT
    assert data + bss <= RAM_LIMIT


# Floors for the brief runs (measured on this repo's 2-core CI machine, loaded: frame ~33 k
# runs/s and 40 edges, codec ~12 k runs/s and ~80 edges; the floors leave 4x for load). A harness
# that stops running or stops exploring falls below them.
FRAME_MIN_RUNS, FRAME_MIN_EDGES = 20_000, 35
CODEC_MIN_RUNS, CODEC_MIN_EDGES = 5_000, 60
# -m slow runs one process, not -fork: on a 2-core machine shared with other work a second job only
# competes for the same core, and one process stops at exactly -runs with "Done N runs".
PING = bytes.fromhex("0201010303040202076f6bf05c3d3400")


def test_fuzz_frame_parser_briefly(run_fuzzer, record_property):
    """The link receiver alone (fuzz_frame.c). Its coverage stays near 40 edges: random bytes
    almost never pass the CRC-32, which is why fuzz_cmd.c exists (test_fuzz_cmd.py)."""
    r = run_fuzzer("fuzz_frame", {"ping": PING}, max_len=9000, seconds=8)
    print(f"\nfuzz_frame: {r.runs} runs in 8 s ({r.exec_s}/s), {r.edges} edges")
    record_property("fuzz_runs", r.runs)
    assert r.runs >= FRAME_MIN_RUNS, r.stderr[-2000:]
    assert r.edges >= FRAME_MIN_EDGES, r.stderr[-2000:]


def test_fuzz_heatshrink_decoder_briefly(run_fuzzer, record_property):
    """The FLASH_WRITE decoder (core/flash_codec.c + third_party/heatshrink) on arbitrary streams:
    bounded output, ordered page-aligned pieces, and the same bytes on both passes."""
    from qtdeploy.ops.compress import heatshrink_encode

    seeds = {
        "zeros": b"\x00\xff\x0f" + heatshrink_encode(bytes(4096)),
        "text": b"\x10\x00\x10" + heatshrink_encode(b"qtdeploy heatshrink seed " * 40),
    }
    r = run_fuzzer("fuzz_codec", seeds, max_len=8192, seconds=8)
    print(f"\nfuzz_codec: {r.runs} runs in 8 s ({r.exec_s}/s), {r.edges} edges")
    record_property("fuzz_codec_runs", r.runs)
    assert r.runs >= CODEC_MIN_RUNS, r.stderr[-2000:]
    assert r.edges >= CODEC_MIN_EDGES, r.stderr[-2000:]


@pytest.mark.slow
@pytest.mark.timeout(0)  # hours: pyproject's 900 s would kill it; libFuzzer's -timeout catches a hang
@pytest.mark.parametrize("name", ["fuzz_frame", "fuzz_codec"])
def test_fuzz_ten_million(run_fuzzer, name):
    """-m slow: 10 M inputs each, clean."""
    seeds = {"ping": PING} if name == "fuzz_frame" else {"zeros": b"\x00\xff\x0f" + bytes(64)}
    r = run_fuzzer(name, seeds, max_len=9000 if name == "fuzz_frame" else 8192, runs=10_000_000)
    print(f"\n{name}: {r.runs} runs in {r.seconds} s ({r.exec_s}/s), {r.edges} edges")
    assert r.runs >= 10_000_000
