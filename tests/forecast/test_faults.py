"""Forecast under link faults and a board reset mid-stream: no prediction on the wrong window.

Each row's window number is the host's; its prediction must equal the host integer reference for
the window of that number (``--check`` semantics, plus a comparison here). Rows whose result the
link or the reset destroyed are ``lost``, never filled in."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from qtdeploy._protocol import Engine
from qtdeploy.forecast.run import forecast, prepare
from support.faults import Faults, FaultyTransport
from support.forecast_ref import expected
from support.source_faults import EventAfter
from support.vboard import session, start


def _check_rows(rows, want: np.ndarray, n: int) -> list:
    assert [r.seq for r in rows] == list(range(n))
    for r in rows:
        if r.status == "ok":
            assert r.y_int == want[r.seq].tolist(), r.seq
        else:
            assert r.status == "lost" and r.y_int is None and r.prediction is None
    return [r for r in rows if r.status == "lost"]


@pytest.mark.parametrize("engine", [Engine.FPGA, Engine.MCU])
def test_noisy_link_never_misattributes(forecaster_flash, tmp_path, engine):
    path = tmp_path / "flash.bin"
    shutil.copyfile(forecaster_flash, path)
    faults = Faults(seed=4, corrupt=2e-3, drop=5e-4, directions="rx")  # ~10 % of result events lost
    n = 400
    with start(path) as vb:
        with session(vb) as clean:  # the blob read-back (1 KB frames) is not what is under test here
            plan = prepare(clean, "synthetic:seed=11")
        b = session(vb, lambda inner: FaultyTransport(inner, faults), timeout=0.2)
        rows = []
        s = forecast(b, plan, engine=engine, count=n, check=True, on_row=rows.append, max_in_flight=16)
        proxy = b.link.transport
        b.close()
    assert proxy.injected >= 5, proxy.counts
    lost = _check_rows(rows, expected("synthetic:seed=11", n), n)
    assert s["lost"] == len(lost) and s["ok"] == n - len(lost) and s["checked"] == n - len(lost)
    assert len(lost) < n // 3


def test_board_reset_mid_stream_restarts(forecaster_flash, tmp_path):
    path = tmp_path / "flash.bin"
    shutil.copyfile(forecaster_flash, path)
    n = 300
    with start(path) as vb, session(vb) as b:
        plan = prepare(b, "synthetic:seed=12")
        plan.source = EventAfter(plan.source, 150, b.refresh)  # another session's HELLO
        rows = []
        s = forecast(b, plan, engine=Engine.FPGA, count=n, check=True, on_row=rows.append)
    assert s["restarts"] == 1
    lost = _check_rows(rows, expected("synthetic:seed=12", n), n)
    assert all("board reset" in r.error for r in lost)
    # at most the board's queue and the batch being sent
    assert 0 < len(lost) <= s["in_flight"] * 3 // 2 and s["checked"] == s["ok"] == n - len(lost)


def test_board_gone_stops_cleanly_with_rows(forecaster_flash, tmp_path):
    from qtdeploy.errors import LinkError

    path = tmp_path / "flash.bin"
    shutil.copyfile(forecaster_flash, path)
    rows = []
    with start(path) as vb, session(vb, timeout=0.2) as b:
        plan = prepare(b, "synthetic:seed=13")
        plan.source = EventAfter(plan.source, 200, vb.stop)  # the board's power goes
        with pytest.raises(LinkError) as e:
            forecast(b, plan, engine=Engine.MCU, count=1000, check=True, on_row=rows.append, restarts=1)
    print(e.value.problem, "|", e.value.fix)
    assert e.value.fix and len(rows) >= 100
    _check_rows(rows, expected("synthetic:seed=13", len(rows)), len(rows))  # in order, none misattributed


def test_power_cycle_mid_stream_reconnects(forecaster_flash, tmp_path):
    """The board's process ends after 150 readings (power lost, its pty gone). The session was
    opened on a sim:// port, as the CLI opens one, so reopening it starts the board again on the
    same flash (power back): the forecast reconnects, loads the model and goes on; rows stay in
    window order, the windows that died with the board are lost, none misattributed."""
    from qtdeploy.ops import Board

    path = tmp_path / "flash.bin"
    shutil.copyfile(forecaster_flash, path)
    n = 300
    rows = []
    with start(path) as vb:
        b = Board.open(f"sim://?flash={path}")  # attaches to vb
        try:
            plan = prepare(b, "synthetic:seed=14")
            plan.source = EventAfter(plan.source, 150, vb.stop)
            s = forecast(b, plan, engine=Engine.FPGA, count=n, check=True, on_row=rows.append)
        finally:
            b.close()  # stops the board the reconnect started
    assert s["restarts"] == 1
    lost = _check_rows(rows, expected("synthetic:seed=14", n), n)
    assert 0 < len(lost) <= s["in_flight"] * 3 // 2 and s["checked"] == s["ok"] == n - len(lost)
