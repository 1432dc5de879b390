"""Forecasting while logging energy (issue 7's field job with issue 6's forecast): the log keeps
its promises while windows run. A board reset mid-run is reconnected, the power stream restarted
and the outage marked as a gap; a SIGKILL of the forecast loses at most a second of the log and
leaves it readable; the next run resumes into the same log and `energy report` counts the
inferences of both runs."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

from qtdeploy._protocol import Command, Engine
from qtdeploy.cli.main import main
from qtdeploy.energy import read_log
from qtdeploy.energy.recorder import SessionRecorder
from qtdeploy.forecast.run import forecast, prepare
from support.source_faults import EventAfter
from support.vboard import session, start


def test_reset_mid_run_restarts_the_power_stream_and_marks_the_gap(forecaster_flash, tmp_path):
    import shutil

    path = tmp_path / "flash.bin"
    shutil.copyfile(forecaster_flash, path)
    log, n = tmp_path / "log", 60
    rows = []
    with start(path) as vb, session(vb) as b:
        plan = prepare(b, "synthetic:seed=5")
        plan.source = EventAfter(
            plan.source, 40, lambda: (b.link.request(Command.RESET, bytes([0])), time.sleep(0.3))
        )  # an outage the gap must cover
        with SessionRecorder(b, log, rate_hz=50) as rec:
            s = forecast(
                b,
                plan,
                engine=Engine.FPGA,
                count=n,
                energy=True,
                on_row=rows.append,
                on_measure=lambda seq, m: (rec.inference(m, detail=f"window {seq}"), rec.pump()),
                on_restart=rec.after_reset,
            )
            time.sleep(0.2)
    assert s["restarts"] == 1 and rec.resets == 1
    data = read_log(log)
    assert data.damaged == []
    gaps = [e for e in data.events if e.kind == "gap"]
    assert len(gaps) == 1 and gaps[0].duration_s >= 0.3 and gaps[0].detail == "board reset"
    gap_end = gaps[0].unix_s + gaps[0].duration_s
    after = [r for r in data.samples if r[1] > gap_end]
    assert len(after) >= 5, "the power stream was not restarted after the reset"
    ok = [r for r in rows if r.status == "ok"]
    inferences = [e for e in data.events if e.kind == "inference"]
    lost = [r for r in rows if r.status != "ok"]  # one window at a time: only the one the reset met
    assert len(lost) == 1 and lost[0].status == "lost" and "NO_MODEL" in lost[0].error
    assert [r.seq for r in rows] == list(range(n)) and len(inferences) == len(ok) == n - 1
    assert all(e.energy_mj > 0 for e in inferences)


def _spawn(port: str, log, count: int | None) -> subprocess.Popen:
    args = [
        sys.executable,
        "-m",
        "qtdeploy.cli.main",
        "forecast",
        "--port",
        port,
        "--source",
        "synthetic:seed=6",
        "--rate",
        "200",
        "--energy",
        "--energy-log",
        str(log),
        "--json",
    ]
    if count is not None:
        args += ["--count", str(count)]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_sigkill_mid_forecast_loses_at_most_a_second_then_resumes(vboard, tmp_path, capsys):
    log = tmp_path / "log"
    rng = random.Random(3)
    kills = []
    for n in range(2):
        proc = _spawn(vboard.port, log, None)
        deadline = time.time() + 60
        while not any(log.glob(f"samples-{n:04d}.csv")):
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.time() < deadline, "forecast did not start logging"
            time.sleep(0.02)
        started = time.time()
        time.sleep(rng.uniform(0.5, 2.0))
        kill_time = time.time()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        data = read_log(log)
        assert data.damaged == [], data.damaged
        mine = [r[1] for r in data.samples if r[1] >= started - 0.5]
        assert mine, "nothing of this run was committed"
        kills.append(kill_time - mine[-1])
        assert kills[-1] <= 1.0, f"{kills[-1]:.3f} s of samples lost"
    before = sum(1 for e in read_log(log).events if e.kind == "inference")
    assert before > 0
    proc = _spawn(vboard.port, log, 25)  # a whole run resumes into the same log
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    assert json.loads(out)["ok"] == 25
    data = read_log(log)
    assert data.damaged == [] and data.next_session == 3 and data.uncommitted_bytes == {}
    code = main(["energy", "report", str(log), "--json"])
    rep = json.loads(capsys.readouterr().out)
    assert code == 0 and rep["inferences"]["count"] == before + 25
    print(f"losses at SIGKILL {[round(k, 3) for k in kills]} s; {before} inferences before, 25 after resume")
