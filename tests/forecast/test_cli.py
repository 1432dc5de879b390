"""`qtdeploy forecast` end to end on the virtual board (the trained example forecaster flashed).

Predictions in --out are compared with the host integer reference run on the same source
readings, window by window: a prediction attached to the wrong window fails (the synthetic
source's windows give distinct predictions)."""

from __future__ import annotations

import csv
import json
import os
import re
import termios
import threading
import time

import numpy as np
import pytest

from qtdeploy.cli.main import main
from qtdeploy.forecast.sources import Columns, open_source
from qtdeploy.forecast.window import Scaling, Windower
from qtdeploy.model import reference
from qtdeploy.model.intmodel import load
from qtdeploy.paths import repo_root

FORECASTER = repo_root() / "examples" / "forecaster" / "temps-w12-d32-w4a8.qtb"


def expected(spec: str, count: int) -> tuple[np.ndarray, np.ndarray]:
    """(y_int, prediction) the reference gives for the first ``count`` windows of ``spec``."""
    im = load(FORECASTER)
    sc = Scaling.from_model(im)
    w = Windower(sc, im.config.window, im.config.horizon)
    wins = []
    for r in open_source(spec, Columns(sc.features, sc.target), norm=sc.norm):
        win = w.push(r)
        if win is not None:
            wins.append(win)
        if len(wins) == count:
            break
    y = reference.forward(im, np.stack([win.x for win in wins]).astype(np.int64))
    # each window's own levels: its last reading, or under "season" its seasonal-naive anchor
    return y, np.stack([sc.denormalise(yi, win.last, win.scale, win.anchor) for yi, win in zip(y, wins)])


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def rows(path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("engine", ["fpga", "mcu"])
def test_check_out_json(vboard, tmp_path, capsys, engine):
    out = tmp_path / "p.csv"
    code, stdout, err = run(
        capsys,
        "forecast",
        "--port",
        vboard.port,
        "--source",
        "synthetic:seed=5",
        "--engine",
        engine,
        "--count",
        "150",
        "--check",
        "--out",
        str(out),
        "--json",
    )
    assert code == 0, err
    s = json.loads(stdout)
    got = rows(out)
    why = {r["error"] for r in got if r["status"] != "ok"}  # what a lost or failed row said
    assert (s["windows"], s["ok"], s["lost"], s["failed"], s["checked"]) == (150, 150, 0, 0, 150), why
    assert s["origin"] == "simulated" and s["engine"] == engine and s["windows_per_s"] > 0
    assert s["latency_ms"]["p50"] > 0 and s["scored"] == 150
    assert [int(r["seq"]) for r in got] == list(range(150))
    _, pred = expected("synthetic:seed=5", 150)
    assert len({round(p, 3) for p in pred[:, 0]}) > 50
    assert np.allclose([float(r["pred_temp"]) for r in got], pred[:, 0], atol=1e-4)
    assert all(r["truth_temp"] and r["origin"] == "simulated" for r in got)
    assert "energy_mj" not in got[0]


def test_energy_rows(vboard, tmp_path, capsys):
    out = tmp_path / "e.csv"
    code, stdout, err = run(
        capsys,
        "forecast",
        "--port",
        vboard.port,
        "--source",
        "synthetic:seed=6",
        "--engine",
        "mcu",
        "--count",
        "20",
        "--energy",
        "--check",
        "--out",
        str(out),
        "--json",
    )
    assert code == 0, err
    s = json.loads(stdout)
    assert s["energy_mj"]["origin"] == "simulated" and s["energy_mj"]["mean"] > 0
    assert s["mode"].startswith("one window at a time")
    got = rows(out)
    energies = [float(r["energy_mj"]) for r in got]
    assert len(got) == 20 and all(e > 0 for e in energies)
    assert sum(energies) == pytest.approx(s["energy_mj"]["total"], rel=1e-3)
    _, pred = expected("synthetic:seed=6", 20)
    assert np.allclose([float(r["pred_temp"]) for r in got], pred[:, 0], atol=1e-4)


def test_human_output_and_csv_replay(vboard, tmp_path, capsys):
    temps = next(
        repo_root().glob(".venv/lib/python3*/site-packages/vega_datasets/_data/seattle-temps.csv"), None
    )
    if temps is None:
        pytest.skip("vega_datasets not installed")
    code, stdout, err = run(
        capsys, "forecast", "--port", vboard.port, "--source", f"csv:{temps}", "--count", "100"
    )
    assert code == 0, err
    assert "100 windows on the fpga engine" in stdout and "(simulated)" in stdout
    rmse = float(stdout.split("RMSE ")[1].split()[0])
    assert rmse < 1.0  # the trained model: ~0.3 F on held-out data; persistence ~0.58
    assert "windows/s" in err  # the live view


def test_feature_mismatch_fails_before_streaming(vboard, tmp_path, capsys):
    wx = tmp_path / "wx.csv"
    wx.write_text("date,precipitation,temp_max,temp_min,wind\n2012-01-01,0,12.8,5,4.7\n")
    out = tmp_path / "p.csv"
    code, _, err = run(capsys, "forecast", "--port", vboard.port, "--source", f"csv:{wx}", "--out", str(out))
    assert code == 5 and "missing temp" in err and "fix:" in err
    assert not out.exists()
    four = tmp_path / "four.csv"
    four.write_text("1,2,3,4\n" * 30)
    code, _, err = run(
        capsys, "forecast", "--port", vboard.port, "--source", f"csv:{four}", "--out", str(out)
    )
    assert code == 5 and "model takes 1 feature" in err
    assert not out.exists()


@pytest.mark.parametrize(
    "argv,code",
    [
        (["--source", "bogus:1"], 2),
        (["--source", "synthetic:seed=1", "--rate", "-1"], 2),
        (["--source", "synthetic:", "--count", "0"], 2),
        (["--source", "csv:/nonexistent.csv"], 2),
    ],
)
def test_bad_arguments(vboard, capsys, argv, code):
    got, _, err = run(capsys, "forecast", "--port", vboard.port, *argv)
    assert got == code, err


def test_check_mismatch_names_window_and_values(vboard, tmp_path, capsys, monkeypatch):
    """A board answer that differs from the reference stops the run at that window."""
    from qtdeploy.forecast import check

    real = check.reference.forward

    def skewed(im, xs):
        y = real(im, xs)
        y[y.shape[0] // 2] += 1  # the reference disagrees on one window of each batch
        return y

    monkeypatch.setattr(check.reference, "forward", skewed)
    out = tmp_path / "p.csv"
    code, _, err = run(
        capsys,
        "forecast",
        "--port",
        vboard.port,
        "--source",
        "synthetic:seed=7",
        "--count",
        "300",
        "--check",
        "--out",
        str(out),
    )
    assert code == 7, err
    y, _ = expected("synthetic:seed=7", 300)
    assert (
        f"window 128: the board (fpga engine) predicted [{y[128][0]}], the host integer reference [{y[128][0] + 1}]"
        in err
    )
    written = rows(out) if out.exists() else []
    assert all(int(r["seq"]) < 128 for r in written)


def _sensor(line, period: float, n: int, unplug: bool = False):
    """A pty "sensor" printing ``line(i)`` for i = 0..n-1 every ``period`` s (then, with ``unplug``,
    closing both ends: the device vanishes). It starts once forecast has opened the port (pyserial
    puts the tty in raw mode, then flushes its input), so how long the blob read-back takes before
    that (seconds on a loaded CI machine) cannot eat the readings a test counts on."""
    master, slave = os.openpty()
    dev = os.ttyname(slave)

    def feed() -> None:
        deadline = time.monotonic() + 60
        while termios.tcgetattr(slave)[3] & termios.ICANON and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(0.1)  # past pyserial's input flush, which follows its tcsetattr
        for i in range(n):
            os.write(master, line(i))
            time.sleep(period)
        if unplug:
            os.close(master)
            os.close(slave)

    threading.Thread(target=feed, daemon=True).start()
    return dev


def _value(i: int) -> float:
    return round(50 + 8 * np.sin(i / 4), 2)


def test_serial_sensor_with_garbage(vboard, tmp_path, capsys):
    def line(i: int) -> bytes:
        text = f"t={1000 * i} temp: {_value(i):.2f} F\r\n".encode()
        return text + (b"\x00\xfe garbage\r\n" if i % 5 == 3 else b"")

    dev = _sensor(line, 0.01, 2000)
    out = tmp_path / "s.csv"
    code, stdout, err = run(
        capsys,
        "forecast",
        "--port",
        vboard.port,
        "--source",
        f"serial:{dev}?baud=115200",
        "--count",
        "25",
        "--check",
        "--out",
        str(out),
        "--json",
    )
    assert code == 0, err
    s = json.loads(stdout)
    assert (s["windows"], s["ok"], s["checked"]) == (25, 25, 25) and s["skipped_lines"] >= 4
    assert s["mode"] == "live"
    got = rows(out)
    for r in got:  # the truth of a window is the reading after its last one
        i = int(r["timestamp"]) // 1000
        assert float(r["truth_temp"]) == pytest.approx(_value(i + 1), abs=1e-3)
    assert [int(r["timestamp"]) // 1000 for r in got] == list(
        range(int(got[0]["timestamp"]) // 1000, int(got[0]["timestamp"]) // 1000 + 25)
    )


def test_serial_sensor_unplugged(vboard, tmp_path, capsys):
    dev = _sensor(lambda i: f"{50 + i % 7}\n".encode(), 0.01, 60, unplug=True)
    out = tmp_path / "u.csv"
    code, _, err = run(
        capsys, "forecast", "--port", vboard.port, "--source", f"serial:{dev}", "--out", str(out)
    )
    assert code == 6 and "disappeared after" in err and "rows so far are written" in err, err
    # the CLI's own line (CI once had a second "disappeared after" in stderr: the source line of
    # sources.py, printed by something else in the process; the regex takes the CLI's message)
    n = int(re.search(r"disappeared after (\d+) readings", err)[1])
    got = rows(out)
    assert n >= 20 and [int(r["seq"]) for r in got] == list(range(n - 11))  # every window of the readings


def test_garbage_source_exit_4(vboard, tmp_path, capsys):
    junk = tmp_path / "junk.csv"
    junk.write_text("40\n" * 3 + "\x1b[0m??\n" * 25)
    out = tmp_path / "p.csv"
    code, _, err = run(
        capsys, "forecast", "--port", vboard.port, "--source", f"csv:{junk}", "--out", str(out)
    )
    assert code == 4 and "20 malformed lines in a row" in err and "sensor-lines.md" in err
    assert not out.exists()  # three readings make no window: nothing to write


def test_energy_log_matches_rows(vboard, tmp_path, capsys):
    """--energy-log: the same per-inference energies in the log (`energy report`) as in --out."""
    out, log = tmp_path / "e.csv", tmp_path / "elog"
    code, stdout, err = run(
        capsys,
        "forecast",
        "--port",
        vboard.port,
        "--source",
        "synthetic:seed=8",
        "--count",
        "15",
        "--rate",
        "50",
        "--energy",
        "--energy-log",
        str(log),
        "--out",
        str(out),
        "--json",
    )
    assert code == 0, err
    assert json.loads(stdout)["energy_log"] == str(log)
    code, stdout, err = run(capsys, "energy", "report", str(log), "--json")
    assert code == 0, err
    inf = json.loads(stdout)["inferences"]
    assert inf["count"] == 15 and json.loads(stdout)["origin"] == "simulated"
    assert np.allclose(
        sorted(inf["energies_mj"]), sorted(float(r["energy_mj"]) for r in rows(out)), rtol=1e-4
    )
    # the board's figure spans the host round trip; what rises above the idle baseline is far smaller
    assert inf["baseline_mw"] > 0 and abs(inf["above_baseline_mean_mj"]) < 0.5 * inf["mean_mj"]
    code, _, err = run(
        capsys, "forecast", "--port", vboard.port, "--source", "synthetic:", "--energy-log", str(log)
    )
    assert code == 2 and "--energy-log needs --energy" in err
