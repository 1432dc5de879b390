"""Forecasting and logging energy in one session (what `forecast --energy` builds on): every
inference measured by the board (POWER_MARK .. POWER_ENERGY) becomes an `inference` event, power
samples stream beside the window results, and `energy report` uses the board's figures and
draws the plots. The accelerator runs a 2 MHz simulated design, so each inference spans ~29 PAC
samples and its energy stands out of the idle power (protocol/power.md §3)."""

from __future__ import annotations

import os
import shutil
import time

import numpy as np
import pytest

from qtdeploy._protocol import Engine
from qtdeploy.boards import load_board
from qtdeploy.energy import read_log
from qtdeploy.energy.recorder import SessionRecorder
from qtdeploy.energy.report import report
from qtdeploy.formats import bitstream, blob
from qtdeploy.link import Link, SerialTransport
from qtdeploy.model.intmodel import from_blob
from qtdeploy.ops import Board, flash, power
from qtdeploy.ops.stream import WindowStream, infer, load_model
from qtdeploy.paths import repo_root
from qtdeploy.sim import SimOptions, VirtualBoard
from qtdeploy.sim.design import sim_design

CASE = "w12_d64_b6"
CLOCK_HZ = 2_000_000


@pytest.fixture
def session(tmp_path):
    if shutil.which(os.environ.get("CC", "cc")) is None:
        pytest.skip("the virtual board needs a C compiler")
    vec = repo_root() / "protocol" / "vectors" / "model" / CASE
    b = blob.unpack((vec / "model.qtb").read_bytes())
    bit = tmp_path / "slow.bit"
    bit.write_bytes(
        bitstream.write_sim_bitstream(b.abi, load_board("virtual"), sim_design(b, clock_hz=CLOCK_HZ))
    )
    with VirtualBoard(
        SimOptions(flash_file=tmp_path / "flash.bin", time_scale=0.01, pacing=False), publish=True
    ) as vb:
        with Board(Link(SerialTransport(f"sim://?flash={vb.flash_file}")), port=vb.pty) as s:
            flash(s, bitstream=bit, blob=vec / "model.qtb")
            yield s


def test_measured_inferences_and_samples_into_one_log(session, tmp_path):
    b = session
    model = load_model(b, Engine.FPGA)
    im = from_blob(blob.load(repo_root() / "protocol" / "vectors" / "model" / CASE / "model.qtb"))
    lo, hi = (int(v) for v in im.tensors["x.range"])
    windows = np.random.default_rng(2).integers(lo, hi + 1, size=(8, model.in_count)).astype(np.int8)
    out = tmp_path / "log"
    busy = []
    start = power.energy(b)  # since boot (markers: the loop below places more than the board keeps)
    with SessionRecorder(b, out, rate_hz=50) as rec:
        time.sleep(0.2)  # idle before the first inference: the log's first sample starts its run
        rec.pump()
        for i, w in enumerate(windows):
            with power.measure(b) as m:
                r = infer(b, w, Engine.FPGA)
            busy.append(r.accel_cycles / CLOCK_HZ)
            rec.inference(m, detail=f"window {i}")
            rec.pump()
        with WindowStream(
            b, Engine.FPGA, model=model
        ) as st:  # window results and power samples share the link
            assert all(g.ok for g in st.run(windows))
        time.sleep(0.2)  # idle, so the samples cover every inference
        rec.pump()
    end = power.energy(b)
    data = read_log(out)
    assert data.damaged == [] and data.origin == "simulated" and len(data.samples) >= 10
    infs = [e for e in data.events if e.kind == "inference"]
    assert len(infs) == len(windows) and all(e.energy_mj and e.energy_mj > 0 for e in infs)
    png = tmp_path / "report.png"
    rep = report(out, png=png)
    inf = rep["inferences"]
    assert inf["count"] == len(windows) and inf["source"].startswith("board")
    # each is idle power over its span plus the accelerator's extra power over its cycles (compute rails)
    idle_mw = 6.6 + 59.4 + 3.3 + 9.0 + 12.0 + 1.0
    extra_mw = (6.6 + 66.0 + 6.6 + 14.4 + 45.0 + 5.0) - idle_mw
    for e, t_busy in zip(infs, busy):
        want = idle_mw * e.duration_s + extra_mw * t_busy
        assert abs(e.energy_mj - want) <= 0.02 * want + 2 * (idle_mw + extra_mw) / 1024, (e.energy_mj, want)
    # the report integrates the interval-mean samples to the board's own energy: the board's
    # total from the mark to the end, less the idle edges before the first and after the last sample
    t = [r[0] for r in data.samples]
    edges = (t[0] - start.t_end_us / 1e6) + (end.t_end_us / 1e6 - t[-1])
    want_mj = end.energy_mj(rep["total_rails"]) - start.energy_mj(rep["total_rails"]) - idle_mw * edges
    assert rep["total_energy_mj"] == pytest.approx(want_mj, rel=0.01)
    assert png.stat().st_size > 10_000 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
