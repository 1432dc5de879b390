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


def test_fuzz_frame_parser_briefly(run_fuzzer, record_property):
    stderr = run_fuzzer(
        "fuzz_frame", {"ping": bytes.fromhex("0201010303040202076f6bf05c3d3400")}, max_len=9000
    )
    done = re.findall(r"#(\d+)\s+DONE.*?exec/s: (\d+)", stderr)
    runs = re.findall(r"Done (\d+) runs", stderr)
    print(f"\nfuzz_frame: {runs[-1] if runs else '?'} runs in 10 s, {done[-1] if done else ''}")
    record_property("fuzz_runs", runs[-1] if runs else "?")


def test_fuzz_heatshrink_decoder_briefly(run_fuzzer, record_property):
    """The FLASH_WRITE decoder (core/flash_codec.c + third_party/heatshrink) on arbitrary streams:
    bounded output, ordered page-aligned pieces, and the same bytes on both passes."""
    from qtdeploy.ops.compress import heatshrink_encode

    seeds = {
        "zeros": b"\x00\xff\x0f" + heatshrink_encode(bytes(4096)),
        "text": b"\x10\x00\x10" + heatshrink_encode(b"qtdeploy heatshrink seed " * 40),
    }
    stderr = run_fuzzer("fuzz_codec", seeds, max_len=8192)
    runs = re.findall(r"Done (\d+) runs", stderr)
    print(f"\nfuzz_codec: {runs[-1] if runs else '?'} runs in 10 s")
    record_property("fuzz_codec_runs", runs[-1] if runs else "?")
    assert runs and int(runs[-1]) > 1000
