"""The resumable counted fuzz run (QTD_FUZZ_STATE, support/fuzz_ledger.py): segments add up across
invocations, only clean segments count, another build of the harness starts the count again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.fuzz_ledger import LEDGER, Ledger, LedgerError, fingerprint

SEEDS = {"zeros": b"\x00\xff\x0f" + bytes(64)}  # fuzz_codec's, as test_cross_and_fuzz's slow run


def test_ledger_persists_and_resets_for_another_build(tmp_path: Path):
    led = Ledger.open(tmp_path / "h", "aa")
    assert (led.total, led.restarted) == (0, False) and led.corpus.is_dir()
    led.add(700, 50, 1.25)
    led.add(300, 52, 0.5)
    again = Ledger.open(tmp_path / "h", "aa")
    assert again.total == 1000 and [s.runs for s in again.segments] == [700, 300]
    other = Ledger.open(tmp_path / "h", "bb")  # the harness was rebuilt: its inputs start at zero
    assert (other.total, other.restarted) == (0, True)
    other.add(10, 1, 0.1)
    assert Ledger.open(tmp_path / "h", "bb").total == 10
    assert Ledger.open(tmp_path / "h", "aa").restarted  # the old build's count is gone, not mixed in
    assert not list((tmp_path / "h").glob(".*.tmp"))  # no temporary left behind


def test_ledger_refuses_a_file_it_cannot_read(tmp_path: Path):
    (tmp_path / "h").mkdir()
    (tmp_path / "h" / LEDGER).write_text('{"version": 1, "segments": [{"runs": "x"}]}')
    with pytest.raises(LedgerError, match="remove it to start the count again"):
        Ledger.open(tmp_path / "h", "aa")


def test_fingerprint_follows_every_file(tmp_path: Path):
    (tmp_path / "base").mkdir()
    (tmp_path / "bin").write_bytes(b"harness")
    (tmp_path / "base" / "model.qtb").write_bytes(b"m1")
    one = fingerprint(tmp_path / "bin", tmp_path / "base")
    (tmp_path / "base" / "model.qtb").write_bytes(b"m2")
    assert fingerprint(tmp_path / "bin", tmp_path / "base") != one


def test_counted_run_resumes_from_the_ledger(run_fuzzer, fuzz_build: Path, tmp_path: Path, monkeypatch):
    """A counted run of fuzz_codec in segments of 400: 1,000 inputs make three clean segments; asked
    for 1,300 later it runs only the 300 missing; asked again, nothing."""
    state = tmp_path / "state"
    monkeypatch.setenv("QTD_FUZZ_STATE", str(state))
    monkeypatch.setenv("QTD_FUZZ_SEGMENT", "400")
    monkeypatch.delenv("QTD_FUZZ_FORK", raising=False)
    r = run_fuzzer("fuzz_codec", SEEDS, max_len=8192, runs=1000)
    book = json.loads((state / "fuzz_codec" / LEDGER).read_text())
    # libFuzzer stops at -runs unless replaying the corpus alone takes more (then it says so)
    first = [s["runs"] for s in book["segments"]]
    assert len(first) == 3 and first[:2] == [400, 400] and first[2] >= 200, first
    assert r.runs == sum(first)
    assert book["fingerprint"] == fingerprint(fuzz_build / "fuzz_codec", fuzz_build / "base")
    assert r.edges > 0 and any((state / "fuzz_codec" / "corpus").iterdir())
    r = run_fuzzer("fuzz_codec", SEEDS, max_len=8192, runs=1300)
    book = json.loads((state / "fuzz_codec" / LEDGER).read_text())
    runs = [s["runs"] for s in book["segments"]]
    assert runs[:3] == first and len(runs) == 4 and runs[3] >= 1300 - sum(first), runs
    assert r.runs == sum(runs) >= 1300
    r = run_fuzzer("fuzz_codec", SEEDS, max_len=8192, runs=1300)
    assert (
        r.runs == sum(runs) and len(json.loads((state / "fuzz_codec" / LEDGER).read_text())["segments"]) == 4
    )
