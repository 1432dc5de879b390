"""`qtdeploy energy log` against the virtual board, as a field log meets it (issue 7):

- SIGKILL at random moments: after each kill the log reads, nothing committed disappears,
  nothing damaged is accepted, and at most 1 s of samples is lost (3 kills here, 20 with
  ``-m slow``);
- the board restarts mid-log (its process ends, a new one comes up on the same flash): the
  logger reconnects, keeps logging into the same session and marks the gap.

The logger runs as the real CLI in a subprocess, attached through ``sim://?flash=`` to a board
the test started (and published), so the test can kill either side."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qtdeploy.energy import read_log
from qtdeploy.sim import SimOptions, VirtualBoard, running_pty

RATE = 20


@pytest.fixture
def board(tmp_path):
    if shutil.which(os.environ.get("CC", "cc")) is None:
        pytest.skip("the virtual board needs a C compiler")
    flash = tmp_path / "flash.bin"
    vb = VirtualBoard(SimOptions(flash_file=flash, time_scale=0.01, pacing=False), publish=True).start()
    yield vb
    vb.stop()


def _spawn(flash: Path, out: Path, *extra: str) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "qtdeploy.cli.main",
        "energy",
        "log",
        "--port",
        f"sim://?flash={flash}",
        "--out",
        str(out),
        "--rate",
        str(RATE),
        "--json",
        *extra,
    ]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_started(proc: subprocess.Popen, seg: Path, timeout: float = 60.0) -> None:
    deadline = time.time() + timeout
    while not seg.exists():
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else "logger died"
        assert time.time() < deadline, "logger did not start"
        time.sleep(0.01)


def _kills(board: VirtualBoard, tmp_path: Path, kills: int) -> None:
    out = tmp_path / "log"
    rng = random.Random(11)
    rows_before, losses = 0, []
    for n in range(kills):
        proc = _spawn(board.flash_file, out)
        _wait_started(proc, out / f"samples-{n:04d}.csv")
        started = time.time()
        time.sleep(rng.uniform(0.0, 1.6))
        kill_time = time.time()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        data = read_log(out)
        assert data.damaged == [], f"kill {n}: {data.damaged}"
        assert len(data.samples) >= rows_before, f"kill {n}: committed rows disappeared"
        mine = [r[1] for r in data.samples if r[1] >= started - 0.5]
        loss = kill_time - max(mine[-1] if mine else started, started)
        losses.append(loss)
        assert loss <= 1.0, f"kill {n}: {loss:.3f} s of samples lost"
        rows_before = len(data.samples)
        assert board.returncode is None, "the board outlives the logger"
    # a clean run resumes the same log and cuts every crash tail
    proc = _spawn(board.flash_file, out, "--duration", "1s")
    assert proc.wait(timeout=60) == 0, proc.stderr.read() if proc.stderr else ""
    data = read_log(out)
    assert data.damaged == [] and data.uncommitted_bytes == {} and data.next_session == kills + 1
    t = [r[1] for r in data.samples]
    assert all(b > a for a, b in zip(t, t[1:])), "unix_s of the rows strictly increases across sessions"
    print(f"{kills} kills of energy log on the virtual board, worst loss {max(losses):.3f} s, {len(t)} rows")


def test_sigkill_loses_at_most_one_second(board, tmp_path):
    _kills(board, tmp_path, 3)


@pytest.mark.slow
def test_twenty_sigkills_lose_at_most_one_second_each(board, tmp_path):
    _kills(board, tmp_path, 20)


def test_board_restart_mid_log_reconnects_and_marks_the_gap(board, tmp_path):
    out = tmp_path / "log"
    proc = _spawn(board.flash_file, out, "--duration", "7s")
    _wait_started(proc, out / "samples-0000.csv")
    time.sleep(2.0)
    board.stop()  # the board goes away (its pty with it) ...
    down = time.time()
    restarted = VirtualBoard(board.options, publish=True).start()  # ... and comes back on the same flash
    try:
        assert proc.wait(timeout=60) == 0, proc.stderr.read()
        res = json.loads(proc.stdout.read())
        assert running_pty(board.flash_file) == restarted.pty, "the logger attached, it did not start a board"
    finally:
        restarted.stop()
    data = read_log(out)
    assert data.damaged == []
    gaps = [e for e in data.events if e.kind == "gap"]
    assert len(gaps) == 1 and res["gaps"] == 1
    gap = gaps[0]
    assert "reconnected" in gap.detail and abs(gap.unix_s - down) < 1.0 and 0.5 < gap.duration_s < 5.0
    before = [r for r in data.samples if r[1] < gap.unix_s]
    after = [r for r in data.samples if r[1] > gap.unix_s + gap.duration_s]
    assert len(before) >= RATE * 1.5 and len(after) >= RATE * 1.5, "samples on both sides of the gap"
    assert not [r for r in data.samples if gap.unix_s + 0.2 < r[1] < gap.unix_s + gap.duration_s - 0.2]


def test_a_board_that_hangs_is_given_up_on_and_reconnected(board, tmp_path):
    """SIGSTOP: the port stays but nothing comes (a hung MCU behind a USB-UART bridge). After
    max(3 s, 5 periods) of silence the logger lets go, retries, and marks the gap once the
    board answers again (SIGCONT)."""
    out = tmp_path / "log"
    proc = _spawn(board.flash_file, out, "--duration", "12s")
    _wait_started(proc, out / "samples-0000.csv")
    time.sleep(1.5)
    os.kill(board.proc.pid, signal.SIGSTOP)
    hung = time.time()
    time.sleep(5.0)
    os.kill(board.proc.pid, signal.SIGCONT)
    back = time.time()
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    data = read_log(out)
    gaps = [e for e in data.events if e.kind == "gap"]
    assert len(gaps) == 1, gaps
    g = gaps[0]
    assert hung + 2.5 < g.unix_s < hung + 5.0, "given up after the silence threshold (3 s)"
    assert g.unix_s + g.duration_s >= back - 0.1, "reconnected only once the board answered again"
    assert [r for r in data.samples if r[1] > back + 0.5], "samples after the board came back"


def test_a_reset_behind_an_open_port_is_noticed_by_its_silence(board):
    """RESET reboots the firmware but keeps the port (as a watchdog reset behind a USB-UART
    bridge would): the stream is gone, so after the silence threshold the source reports
    SourceLost, and a new open streams again."""
    from qtdeploy._protocol import Command
    from qtdeploy.energy.board_source import BoardSource
    from qtdeploy.energy.logger import SourceLost

    src = BoardSource(f"sim://?flash={board.flash_file}", rate_hz=20)
    src.open()
    try:
        assert src.origin == "simulated" and src.rate_hz == 20 and "usb_raw" not in src.total_rails
        got = []
        while len(got) < 5:
            got += src.read(0.2)[0]
        assert all(b.t_s > a.t_s for a, b in zip(got, got[1:])) and abs(got[-1].unix_s - time.time()) < 0.5
        src.session.link.request(Command.RESET, b"\x00")
        t0 = time.time()
        with pytest.raises(SourceLost, match="no power samples"):
            while time.time() - t0 < 10:
                src.read(0.2)
        assert 2.5 < time.time() - t0 < 4.5
        src.close()
        src.open()
        got = []
        while len(got) < 3:
            got += src.read(0.2)[0]
        assert src.connections == 2
    finally:
        src.close()
