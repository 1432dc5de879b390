"""The virtual board from the host: sim:// URLs, start/attach/stop, the build cache key, and
`qtdeploy sim`."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import serial

import qtdeploy.sim
from qtdeploy.sim import SimOptions, VirtualBoard, running_pty
from qtdeploy.sim.build import source_hash
from qtdeploy.sim.protocol_sim import parse_url, to_url

needs_cc = pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler to build the virtual board")


def test_url_round_trip_and_errors(tmp_path):
    opts = SimOptions(flash_file=tmp_path / "f.bin", time_scale=0.01, die_after_flash_ops=7, pacing=False)
    assert parse_url(to_url(opts)) == opts
    assert parse_url("sim://") == SimOptions()
    assert qtdeploy.sim.sim_url("sim") == "sim://" and qtdeploy.sim.sim_url("/dev/ttyACM0") == "/dev/ttyACM0"
    with pytest.raises(serial.SerialException, match="unknown sim:// parameter.*speed"):
        parse_url("sim://?speed=3")
    with pytest.raises(serial.SerialException, match="bad sim:// parameter"):
        parse_url("sim://?time_scale=fast")
    assert "qtdeploy.sim" in serial.protocol_handler_packages


def test_source_hash_follows_firmware_sources(tmp_path, monkeypatch, root):
    shutil.copytree(root / "firmware", tmp_path / "firmware", ignore=shutil.ignore_patterns("build"))
    shutil.copytree(root / "boards", tmp_path / "boards")
    monkeypatch.setenv("QTDEPLOY_ROOT", str(tmp_path))
    first = source_hash()
    assert source_hash() == first
    assert source_hash("env5") != first  # the board is part of the key
    (tmp_path / "firmware" / "README.md").write_text("docs are not sources\n")
    assert source_hash() == first
    core = tmp_path / "firmware" / "core" / "app.c"
    core.write_text(core.read_text() + "\n/* changed */\n")
    assert source_hash() != first
    monkeypatch.undo()


@needs_cc
def test_url_starts_a_board_that_lives_as_long_as_the_port(tmp_path):
    port = serial.serial_for_url(f"sim://?flash={tmp_path / 'f.bin'}&pacing=0", timeout=1)
    board = port.board
    assert board is not None and board.returncode is None and port.pty.startswith("/dev/pts/")
    assert (tmp_path / "f.bin").stat().st_size == 16 << 20  # created erased at the board's size
    port.close()
    assert board.returncode is not None and port.board is None


@needs_cc
def test_url_attaches_to_a_published_board(tmp_path):
    flash = tmp_path / "f.bin"
    with VirtualBoard(SimOptions(flash_file=flash, pacing=False), publish=True) as vb:
        assert running_pty(flash) == vb.pty
        port = serial.serial_for_url(f"sim://?flash={flash}", timeout=1)
        assert port.board is None and port.pty == vb.pty  # attached, not a second process
        port.close()
        assert vb.returncode is None  # closing an attached port leaves the board running
    assert running_pty(flash) is None


@needs_cc
def test_cli_sim_runs_until_interrupted_and_others_attach(tmp_path):
    flash = tmp_path / "f.bin"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "qtdeploy.cli.main",
            "sim",
            "--flash-file",
            str(flash),
            "--json",
            "--no-pacing",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # Ctrl-C reaches a foreground command with SIGINT at its default; a test run started in
        # the background of a non-interactive shell (`bash .ci/run &`) passes SIGINT down
        # ignored, and Python then never raises KeyboardInterrupt: give sim a terminal's default
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        lines = []
        while not lines or lines[-1] != "}\n":
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            lines.append(line)
        started = json.loads("".join(lines))
        assert started["port"].startswith("/dev/pts/") and running_pty(flash) == started["port"]
        out = subprocess.run(
            [sys.executable, "-m", "qtdeploy.cli.main", "info", "--port", f"sim://?flash={flash}", "--json"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["board"] == "virtual"
        assert proc.poll() is None  # info attached; the board is still sim's
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.terminate()  # sim's SIGTERM path stops its board too: no stray board outlives a failure
            proc.wait(30)
            raise
    assert code == 0, proc.stderr.read()
    deadline = time.monotonic() + 5
    while running_pty(flash) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert running_pty(flash) is None


def test_a_real_board_file_cannot_be_simulated():
    from qtdeploy.errors import UsageError

    with pytest.raises(UsageError, match="virtual = false"):
        VirtualBoard(SimOptions(board="env5"))


def _exited(pid: int, timeout: float) -> bool:
    """Wait for process ``pid`` (not our child) to end: a pidfd becomes readable when it does,
    so this is an event, not a poll of the process table."""
    import select

    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], timeout)[0])
    finally:
        os.close(fd)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@needs_cc
@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="needs pidfd_open (Linux 5.3+)")
def test_orphaned_sim_board_exits_but_a_qtdeploy_sim_board_runs_on(tmp_path):
    """A board that a host command started through sim:// exits once that command was killed
    with SIGKILL (after ``orphan_exit``: 60 s by default, 0.2 s here); a board that `qtdeploy
    sim` started, orphaned the same way, runs until it is stopped."""
    assert (
        parse_url("sim://").orphan_exit_s == 60.0
        and parse_url("sim://?orphan_exit=never").orphan_exit_s is None
    )
    with pytest.raises(serial.SerialException, match="orphan_exit"):
        parse_url("sim://?orphan_exit=-1")
    host_code = (
        "import sys, serial, qtdeploy.sim\n"
        f"p = serial.serial_for_url('sim://?flash={tmp_path / 'a.bin'}&pacing=0&orphan_exit=0.2')\n"
        "print(p.board.proc.pid, flush=True)\n"
        "sys.stdin.read()\n"
    )
    host = subprocess.Popen(
        [sys.executable, "-c", host_code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    sim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "qtdeploy.cli.main",
            "sim",
            "--flash-file",
            str(tmp_path / "b.bin"),
            "--no-pacing",
            "--json",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    board_pid = sim_pid = None
    try:
        board_pid = int(host.stdout.readline())
        text = ""
        while not text.rstrip().endswith("}"):
            line = sim.stdout.readline()
            assert line, "qtdeploy sim ended before printing its board"
            text += line
        sim_pid = json.loads(text)["pid"]
        assert not _exited(board_pid, 0) and not _exited(sim_pid, 0)  # both run while their hosts do
        host.kill()
        sim.kill()
        host.wait()
        sim.wait()
        assert _exited(board_pid, 60), "the sim:// board outlived its killed host"
        # the qtdeploy sim board was orphaned at the same moment and has had the same time
        assert not _exited(sim_pid, 0), "a qtdeploy sim board must run until it is stopped"
    finally:
        for pid in (board_pid, sim_pid):
            if pid is not None:
                _kill(pid)
        for p in (host, sim):
            if p.poll() is None:
                p.kill()
                p.wait()
