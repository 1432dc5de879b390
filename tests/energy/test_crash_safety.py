"""The energy log survives SIGKILL at random moments (issue 7): after each of 24 kills the log
reads, every committed chunk verifies, nothing damaged is accepted, at most 1 s is lost, and
the next run resumes into the same log. Also: damage is reported, not accepted."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qtdeploy.energy import read_log
from qtdeploy.energy.reader import repair_tail
from support.fixture_source import RAILS, rail_values

HERE = Path(__file__).parent
RATE = 200
KILLS = 24


def _check_rows(data) -> None:
    """Every committed row is exactly what the fixture generated for its sample number."""
    for row in data.samples:
        k = round(row[0] * RATE)
        want = [x for triple in rail_values(k) for x in triple]
        assert row[2:] == pytest.approx(want, abs=1e-9), f"row for sample {k} differs"


def _spawn(out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "support.fixture_source", str(out), str(RATE)],
        cwd=HERE.parent,  # tests/, where `support` is
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait_started(proc: subprocess.Popen, seg: Path, timeout: float = 30.0) -> None:
    deadline = time.time() + timeout
    while not seg.exists():
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "logger died"
        assert time.time() < deadline, "logger did not start"
        time.sleep(0.01)


def test_sigkill_at_random_moments_loses_at_most_one_second(tmp_path):
    out = tmp_path / "log"
    rng = random.Random(7)
    rows_before = 0
    losses = []
    for n in range(KILLS):
        proc = _spawn(out)
        _wait_started(proc, out / f"samples-{n:04d}.csv")
        started = time.time()  # the run's segment exists: it is logging from here on
        time.sleep(rng.uniform(0.0, 1.6))
        kill_time = time.time()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        data = read_log(out)
        assert data.damaged == [], f"kill {n}: {data.damaged}"
        assert len(data.samples) >= rows_before, f"kill {n}: committed rows disappeared"
        _check_rows(data)
        mine = [r[1] for r in data.samples if r[1] >= started - 0.5]
        loss = kill_time - max(mine[-1] if mine else started, started)
        losses.append(loss)
        assert loss <= 1.0, f"kill {n}: {loss:.3f} s of samples lost"
        rows_before = len(data.samples)
    # a clean run resumes the same log, cuts the crash tails and leaves it whole
    proc = _spawn(out)
    _wait_started(proc, out / f"samples-{KILLS:04d}.csv")
    time.sleep(0.8)
    proc.send_signal(signal.SIGTERM)
    proc.wait()
    data = read_log(out)
    assert data.damaged == [] and data.next_session == KILLS + 1
    assert data.uncommitted_bytes == {}, "the resumed writer cuts every crash tail"
    assert any(e.kind == "session" and e.detail.startswith(f"session {KILLS} ") for e in data.events)
    _check_rows(data)
    assert proc.returncode == 0, proc.stderr.read().decode() if proc.stderr else ""
    print(f"{KILLS} kills, worst loss {max(losses):.3f} s, {len(data.samples)} rows")


def test_damage_is_reported_not_accepted(tmp_path):
    from qtdeploy.energy.logger import run_logger
    from support.fixture_source import CountingSource, FakeClock

    clock = FakeClock()
    run_logger(
        CountingSource(RATE, clock=clock, sleep=clock.sleep),
        tmp_path,
        duration_s=5,
        durable=False,
        clock=clock,
        sleep=clock.sleep,
    )
    good = read_log(tmp_path)
    assert good.damaged == [] and good.chunks_ok >= 10
    seg = tmp_path / "samples-0000.csv"
    raw = bytearray(seg.read_bytes())
    raw[len(raw) // 2] ^= 0x01  # one flipped bit in a committed chunk
    seg.write_bytes(bytes(raw))
    bad = read_log(tmp_path)
    assert len(bad.damaged) == 1 and "SHA-256" in bad.damaged[0].reason
    assert 0 < len(good.samples) - len(bad.samples) <= RATE * 0.5 + 1  # only that chunk is left out
    # a torn manifest line (crash mid-write) is not a chunk; a resumed writer cuts it off
    with open(tmp_path / "manifest.csv", "ab") as fh:
        fh.write(b"999,samples-0000.csv,0,10,1,ab")
    torn = read_log(tmp_path)
    assert torn.uncommitted_bytes.get("manifest.csv") == 30 and len(torn.damaged) == 1
    repair_tail(tmp_path, torn)
    assert "manifest.csv" not in read_log(tmp_path).uncommitted_bytes
    # a manifest line edited after the fact fails its own CRC
    text = (tmp_path / "manifest.csv").read_text().splitlines(keepends=True)
    text[2] = text[2].replace(",", ";", 1)
    (tmp_path / "manifest.csv").write_text("".join(text))
    assert any("CRC-32" in d.reason for d in read_log(tmp_path).damaged)
    assert RAILS == tuple(read_log(tmp_path).rails)
