"""Power on the whole virtual board (issue 7): the firmware's PAC193x driver and POWER_* handlers,
over the I2C HAL, against the PAC1934 register models fed by the documented power model
(protocol/power.md §3), seen from the host through qtdeploy.ops.power.

The expectations are the power model's table (power.md §3), integrated analytically over the
states the board went through: idle, and the accelerator's START..DONE spans, whose length is
the CYCLES the accelerator reports at the design's clock (here 2 MHz, so each inference spans
~29 PAC samples and sampling at 1024/s resolves it)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from qtdeploy._protocol import Engine, Status
from qtdeploy.boards import load_board
from qtdeploy.energy import power_model
from qtdeploy.errors import DeviceError
from qtdeploy.formats import bitstream, blob
from qtdeploy.model.intmodel import from_blob
from qtdeploy.ops import flash, power
from qtdeploy.ops.stream import WindowStream, infer, load_model
from qtdeploy.paths import repo_root
from qtdeploy.sim.design import sim_design
from support.vboard import session, start

# The power model is the board file's (boards/env5.toml: rails' sim_ua, [power.sim]); the firmware
# gets it compiled in (firmware/tools/board_header.py), this side reads it through
# qtdeploy.energy.power_model, whose integer steps are power_model.c's.
BOARD = load_board("virtual")
RAILS = tuple(r.name for r in BOARD.rails)
BUS_MV = tuple(r.nominal_mv for r in BOARD.rails)
NOISE = 0.02
CASE = "w12_d64_b6"
CLOCK_HZ = 2_000_000


def power_uw(state: str) -> np.ndarray:
    """Per-rail power of a state, uW (usb_raw: the rest through the regulators)."""
    return np.array([power_model.power_uw(state, BOARD)[r] for r in RAILS], dtype=float)


@pytest.fixture(scope="module")
def fpga_flash(tmp_path_factory):
    """A flash with the case's blob and a 2 MHz simulated bitstream for it, committed."""
    d = tmp_path_factory.mktemp("power")
    vec = repo_root() / "protocol" / "vectors" / "model" / CASE
    b = blob.unpack((vec / "model.qtb").read_bytes())
    bit = d / "slow.bit"
    bit.write_bytes(
        bitstream.write_sim_bitstream(b.abi, load_board("virtual"), sim_design(b, clock_hz=CLOCK_HZ))
    )
    path = d / "flash.bin"
    with start(path) as vb, session(vb) as s:
        flash(s, bitstream=bit, blob=vec / "model.qtb")
    im = from_blob(blob.load(vec / "model.qtb"))
    lo, hi = (int(v) for v in im.tensors["x.range"])
    return path, (lo, hi)


def test_read_matches_the_power_model_when_idle(tmp_path):
    with start(tmp_path / "flash.bin") as vb, session(vb) as b:
        s = power.read(b)
        assert [r.name for r in s.rails] == list(RAILS) and s.t_us > 0
        want_ma = power_uw("idle") / np.array(BUS_MV)  # uW / mV = mA
        for r, ma, mv in zip(s.rails, want_ma, BUS_MV):
            assert not r.invalid
            assert r.bus_v == pytest.approx(mv / 1000, abs=0.002), r.name  # code LSB 0.5 mV, truncated to mV
            # one conversion: the model's current with its +-2 % noise, plus one VSENSE LSB (1.9 uA)
            assert abs(r.current_ma - ma) <= ma * NOISE + 0.002, (r.name, r.current_ma, ma)
            assert r.power_mw == pytest.approx(r.bus_v * r.current_ma, rel=NOISE, abs=0.01), r.name
        only = power.read(b, ["mcu", "fpga_vccint"])
        assert [r.name for r in only.rails] == ["mcu", "fpga_vccint"] and only.t_us > s.t_us


def test_energy_over_an_interval_matches_the_integrated_profile(fpga_flash):
    """Idle, then 30 accelerator inferences, then idle: POWER_ENERGY per rail within 1 % of
    the model's power integrated over the idle time and the accelerator's busy spans."""
    path, lo_hi = fpga_flash
    with start(path) as vb, session(vb) as b:
        model = load_model(b, Engine.FPGA)
        windows = (
            np.random.default_rng(3)
            .integers(lo_hi[0], lo_hi[1] + 1, size=(30, model.in_count))
            .astype(np.int8)
        )
        m = power.mark(b)
        time.sleep(0.3)
        with WindowStream(b, Engine.FPGA, model=model, max_in_flight=4) as st:
            got = list(st.run(windows))
        time.sleep(0.3)
        rep = power.energy(b, m)
    assert all(g.ok for g in got)
    busy_s = sum(g.accel_cycles for g in got) / CLOCK_HZ
    total_s = rep.duration_s
    assert busy_s > 0.5 and total_s > busy_s + 0.5
    expect_nj = power_uw("idle") * (total_s - busy_s) * 1e3 + power_uw("inferring") * busy_s * 1e3
    for k, name in enumerate(RAILS):
        if expect_nj[k] == 0:
            assert rep.energy_nj[name] == 0, name
            continue
        err = rep.energy_nj[name] / expect_nj[k] - 1
        assert abs(err) < 0.01, (
            f"{name}: board {rep.energy_nj[name]} nJ, model {expect_nj[k]:.0f} nJ ({err:+.2%})"
        )
    # the inferences are visible: vccint's energy is well above idle for the span
    assert rep.energy_nj["fpga_vccint"] > power_uw("idle")[6] * total_s * 1e3 * 1.2


def test_mark_and_energy_attribute_each_inference(fpga_flash):
    """measure() around one INFER: the board's energy is idle power over the span plus the
    accelerator's extra power over its CYCLES, within the PAC's one-sample resolution."""
    path, lo_hi = fpga_flash
    with start(path) as vb, session(vb) as b:
        model = load_model(b, Engine.FPGA)
        x = np.random.default_rng(5).integers(lo_hi[0], lo_hi[1] + 1, size=model.in_count).astype(np.int8)
        idle = power_uw("idle")
        extra = power_uw("inferring") - idle
        k = RAILS.index("fpga_vccint")
        for i in range(5):
            with power.measure(b) as m:
                r = infer(b, x, Engine.FPGA)
            busy = r.accel_cycles / CLOCK_HZ
            want = (idle[k] * m.duration_s + extra[k] * busy) * 1e3  # nJ
            slack = 2 * (idle[k] + extra[k]) / 1024 * 1e3  # two PAC samples (a step at each end)
            got = m.report.energy_nj["fpga_vccint"]
            assert abs(got - want) <= slack + want * 0.01, (i, got, want)
            assert m.energy_mj == pytest.approx(m.report.energy_mj(power.compute_rails(b)))
            assert "usb_raw" not in m.rails
        with power.measure(b) as quiet:  # no inference inside: no accelerator energy attributed
            time.sleep(0.05)
        want = idle[k] * quiet.duration_s * 1e3
        assert abs(quiet.report.energy_nj["fpga_vccint"] - want) <= want * 0.02 + 50


def test_power_stream_rate_timestamps_and_energy(tmp_path):
    with start(tmp_path / "flash.bin") as vb, session(vb) as b:
        with pytest.raises(DeviceError) as e:
            power.PowerStream(b, rate_hz=0).start()
        assert e.value.status == Status.BAD_ARGUMENT
        fast = power.PowerStream(b, rate_hz=1024)
        assert 1 <= fast.start() <= 500  # capped: each sample needs the 1 ms REFRESH wait
        fast.stop()
        m = power.mark(b)
        with power.PowerStream(b, rate_hz=100, rails=["mcu", "fpga_vccint"]) as ps:
            assert ps.granted_hz == 100
            samples, t_end = [], time.monotonic() + 1.5
            while time.monotonic() < t_end:
                samples += ps.poll(0.2)
        rep = power.energy(b, m)
    assert ps.lost == 0
    t = np.array([s.t_us for s in samples])
    assert np.all(np.diff(t) > 0), "sample timestamps strictly increase"
    assert 1.5 * 100 * 0.85 <= len(samples) <= 1.5 * 100 * 1.1
    assert np.median(np.diff(t)) == pytest.approx(10_000, rel=0.05)
    assert all([r.name for r in s.rails] == ["mcu", "fpga_vccint"] for s in samples)
    # stream power is the mean since the previous sample, so integrating it gives the board's
    # accumulated energy over the same span (no aliasing between samples)
    seg = samples[1:]
    dt = np.diff(t) / 1e6
    e_mj = sum(s.rails[1].power_mw * d for s, d in zip(seg, dt))
    span = (t[-1] - t[0]) / 1e6
    mean_mw = rep.energy_nj["fpga_vccint"] / 1e6 / rep.duration_s
    assert e_mj == pytest.approx(mean_mw * span, rel=0.01)
    # each sample's mean of ~10 conversions with +-2 % noise: close to the model's idle mcu power
    assert np.median([s.rails[0].power_mw for s in samples]) == pytest.approx(
        power_uw("idle")[2] / 1000, rel=0.01
    )
    assert all(abs(s.rails[0].power_mw / (power_uw("idle")[2] / 1000) - 1) < 0.03 for s in samples[1:])


def test_hello_stops_a_power_stream(tmp_path):
    with start(tmp_path / "flash.bin") as vb, session(vb) as b:
        ps = power.PowerStream(b, rate_hz=50)
        ps.start()
        assert ps.poll(1.0)
        b.link.hello()
        ps.poll(0.2)  # what was on the wire before HELLO
        assert ps.poll(0.5) == [], "no samples after HELLO"


def test_missing_monitor_answers_sensor_error(tmp_path, monkeypatch):
    monkeypatch.setenv("QTD_SIM_ABSENT_MONITORS", "0x12")  # the FPGA rails' PAC1934 NACKs
    with start(tmp_path / "flash.bin") as vb, session(vb) as b:
        for call in (
            lambda: power.read(b),
            lambda: power.read(b, ["fpga_vccint"]),
            lambda: power.mark(b),
            lambda: power.energy(b),
            lambda: power.PowerStream(b, rails=["fpga_vccio"]).start(),
        ):
            with pytest.raises(DeviceError) as e:
                call()
            assert e.value.status == Status.SENSOR_ERROR and "0x00000012" in str(e.value)
        s = power.read(b, ["sensors", "mcu"])  # the other monitor still answers
        assert [r.name for r in s.rails] == ["sensors", "mcu"] and s.rails[1].current_ma > 10
