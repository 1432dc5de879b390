"""`energy report` from a log: numbers against an independent computation from what the
fixture generated, the PNG, the CLI; the logger's reconnect and gap marker; the errors for an
unwritable directory, a full disk and a log of other rails."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qtdeploy.cli.main import main
from qtdeploy.energy import EnergyLogError, LogWriter, read_log
from qtdeploy.energy.logger import run_logger
from qtdeploy.energy.report import report
from qtdeploy.errors import CompatibilityError
from support.fixture_source import RAILS, CountingSource, FakeClock, rail_values

RATE = 100


@pytest.fixture
def log_with_gap(tmp_path) -> tuple[Path, CountingSource]:
    """60 s of samples; the board vanishes after sample 2500 and is back 7 s later."""
    clock = FakeClock()
    src = CountingSource(RATE, clock=clock, sleep=clock.sleep, lose_at=(2500,), down_s=7.0)
    stats = run_logger(src, tmp_path / "log", duration_s=60, durable=False, clock=clock, sleep=clock.sleep)
    assert stats.gaps == 1
    return tmp_path / "log", src


def _expected(src: CountingSource) -> dict:
    """Per-rail energy and per-inference energy straight from the generator, not the file."""
    by_session: dict[int, list[int]] = {}
    k_of = {}
    for i, (session, _) in enumerate(src.emitted):
        by_session.setdefault(session, []).append(i)
    energy = np.zeros(len(RAILS))
    inf = []
    for session, idx in by_session.items():
        t = np.array([src.emitted[i][1] for i in idx])
        ks = np.arange(len(idx))  # k restarts at 0 with every (re)connection
        p = np.array([[rail_values(k)[j][2] for j in range(len(RAILS))] for k in ks])
        for j in range(len(RAILS)):
            energy[j] += float(np.sum((p[1:, j] + p[:-1, j]) / 2 * np.diff(t)))
        total = p.sum(axis=1)
        for k0 in range(0, len(ks) - src.infer_samples, src.infer_every):
            seg = slice(k0, k0 + src.infer_samples + 1)
            inf.append(float(np.sum((total[seg][1:] + total[seg][:-1]) / 2 * np.diff(t[seg]))))
        k_of[session] = len(idx)
    return {"energy": energy, "inf": inf, "count": len(src.emitted)}


def test_report_numbers_match_an_independent_computation(log_with_gap, tmp_path):
    logdir, src = log_with_gap
    r = report(logdir, png=tmp_path / "r.png")
    want = _expected(src)
    assert r["origin"] == "simulated" and r["samples"] == want["count"]
    for j, name in enumerate(RAILS):
        assert r["rails"][name]["energy_mj"] == pytest.approx(want["energy"][j], rel=1e-9)
        mean = np.mean(
            [rail_values(k)[j][2] for k in range(2500)]
            + [rail_values(k)[j][2] for k in range(want["count"] - 2500)]
        )
        assert r["rails"][name]["mean_mw"] == pytest.approx(mean, rel=1e-9)
    # the 7 s outage is a gap, marked and not integrated over
    assert r["gaps"]["count"] == 1 and r["gaps"]["seconds"] == pytest.approx(7.0, abs=1.1)
    assert r["covered_s"] == pytest.approx(r["duration_s"] - r["gaps"]["seconds"], abs=1.2)
    inf = r["inferences"]
    assert inf["source"] == "integrated from the logged samples"
    assert inf["energies_mj"][: len(want["inf"])] == pytest.approx(want["inf"], rel=1e-9)


def test_png_is_a_real_plot(log_with_gap, tmp_path):
    logdir, _ = log_with_gap
    png = tmp_path / "plots.png"
    report(logdir, png=png)
    raw = png.read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n" and raw[12:16] == b"IHDR"
    width, height = struct.unpack(">II", raw[16:24])
    assert 1000 <= width <= 2000 and 400 <= height <= 1000
    assert 20_000 < len(raw) < 2_000_000


def test_cli_report_json_and_human(log_with_gap, tmp_path, capsys):
    logdir, _ = log_with_gap
    png = tmp_path / "cli.png"
    assert main(["energy", "report", str(logdir), "--json", "--png", str(png)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == json.loads(json.dumps({**report(logdir), "png": str(png)}))
    assert png.exists()
    assert main(["energy", "report", str(logdir)]) == 0
    text = capsys.readouterr().out
    assert "SIMULATED" in text and "energy per inference" in text and "0 damaged" in text


def test_report_of_a_non_log_is_a_clear_error(tmp_path, capsys):
    assert main(["energy", "report", str(tmp_path)]) == 4
    assert "no meta.json" in capsys.readouterr().err


def test_resume_appends_to_the_same_log(tmp_path):
    clock = FakeClock()
    for _ in range(3):
        run_logger(
            CountingSource(RATE, clock=clock, sleep=clock.sleep),
            tmp_path,
            duration_s=5,
            durable=False,
            clock=clock,
            sleep=clock.sleep,
        )
        clock.sleep(2.0)
    data = read_log(tmp_path)
    assert data.next_session == 3 and data.damaged == []
    assert [e.detail.split()[1] for e in data.events if e.kind == "session"] == ["0", "1", "2"]
    assert len(data.samples) == pytest.approx(3 * 5 * RATE, abs=6)
    with pytest.raises(CompatibilityError, match="rails"):
        LogWriter.open(tmp_path, board="x", origin="simulated", rails=("other",), rate_hz=RATE)


def test_unwritable_directory_is_a_clear_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(EnergyLogError) as err:
        LogWriter.open(blocker / "log", board="x", origin="simulated", rails=RAILS, rate_hz=RATE)
    assert "cannot write the energy log" in err.value.problem and "--out" in err.value.fix
    if os.geteuid() != 0:  # root writes through permissions
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        with pytest.raises(EnergyLogError, match="Permission denied"):
            LogWriter.open(ro / "log", board="x", origin="simulated", rails=RAILS, rate_hz=RATE)


def test_full_disk_is_a_clear_error(tmp_path):
    """A file-size limit makes writes fail with EFBIG, as a full disk fails them with ENOSPC."""
    script = f"""
import resource, signal
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (40000, 40000))
from support.fixture_source import CountingSource, FakeClock
from qtdeploy.energy.logger import run_logger
from qtdeploy.energy import EnergyLogError
clock = FakeClock()
try:
    run_logger(CountingSource(100, clock=clock, sleep=clock.sleep), {str(tmp_path / "log")!r}, duration_s=600,
               durable=False, clock=clock, sleep=clock.sleep)
except EnergyLogError as e:
    print("ERROR", e.problem, "|", e.fix)
"""
    proc = subprocess.run(  # run from tests/, so that `support` imports as under pytest
        [sys.executable, "-c", script],
        cwd=Path(__file__).parents[1],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "ERROR" in proc.stdout and "disk is full" in proc.stdout and "resumes" in proc.stdout, (
        proc.stdout + proc.stderr
    )
    data = read_log(tmp_path / "log")
    assert data.damaged == [] and len(data.samples) > 100  # what was committed before stays readable


def test_energy_log_refuses_without_out(capsys):
    assert main(["energy", "log", "--port", "sim"]) == 2
    assert "--out" in capsys.readouterr().err


def test_a_pause_between_runs_is_an_unmarked_gap(tmp_path, capsys):
    """Two logger runs 12 s apart (the first killed, the second resumed): no gap event covers the
    pause, yet the log has no samples there; the report counts it, the plot hatches it."""
    clock = FakeClock()
    run_logger(
        CountingSource(RATE, clock=clock, sleep=clock.sleep),
        tmp_path / "log",
        duration_s=10,
        durable=False,
        clock=clock,
        sleep=clock.sleep,
    )
    clock.sleep(12.0)
    run_logger(
        CountingSource(RATE, clock=clock, sleep=clock.sleep),
        tmp_path / "log",
        duration_s=10,
        durable=False,
        clock=clock,
        sleep=clock.sleep,
    )
    r = report(tmp_path / "log", png=tmp_path / "p.png")
    assert r["gaps"]["marked"] == 0 and r["gaps"]["count"] == 1
    ((a, b),) = r["gaps"]["unmarked"]
    assert b - a == pytest.approx(12.0, abs=0.1) and r["gaps"]["seconds"] == pytest.approx(12.0, abs=0.1)
    assert main(["energy", "report", str(tmp_path / "log")]) == 0
    assert "1 gap(s)" in capsys.readouterr().out
