"""The firmware's SHA-256 against hashlib, across the padding boundaries and a large input."""

from __future__ import annotations

import hashlib
import os
import subprocess


def test_sha256_matches_hashlib(fw_build, parse_summary):
    inputs = [b"", b"abc", *(os.urandom(n) for n in (55, 56, 63, 64, 65, 119, 120, 1000)), os.urandom(60000)]
    proc = subprocess.run(
        [str(fw_build / "tests" / "test_sha256")],
        input="".join(d.hex() + "\n" for d in inputs),
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = proc.stdout.splitlines()
    assert parse_summary(proc.stdout)[1] == 0
    for data, got in zip(inputs, lines):
        assert got == hashlib.sha256(data).hexdigest(), len(data)
    assert len(lines) == len(inputs) + 1
