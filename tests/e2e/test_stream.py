"""Window streams end to end (link.md 7.17-7.19, qtdeploy.ops.stream) on the real virtual board:
a golden-vector blob and a sim bitstream of its ABI flashed, MODEL_LOAD, then windows streamed.

Every result is compared with the host integer reference (qtdeploy.model.reference) for the
window of the same number: a result attached to the wrong window fails, since random windows
almost never share a prediction (the test checks that they differ)."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from qtdeploy._protocol import Command, Engine, Status
from qtdeploy.boards import load_board
from qtdeploy.errors import DeviceError, LinkError
from qtdeploy.formats import bitstream, blob
from qtdeploy.model import reference
from qtdeploy.model.intmodel import from_blob
from qtdeploy.ops import flash
from qtdeploy.ops.stream import WindowStream, infer, load_model
from qtdeploy.paths import repo_root
from qtdeploy.sim.design import sim_design
from support.vboard import session, start

CASE = repo_root() / "protocol" / "vectors" / "model" / "w12_d32_b4"


@pytest.fixture(scope="module")
def model_flash(tmp_path_factory):
    """A flash file with the w12_d32_b4 model and a sim bitstream of its ABI in the active slot."""
    d = tmp_path_factory.mktemp("stream")
    data = (CASE / "model.qtb").read_bytes()
    b = blob.unpack(data)
    (d / "m.bit").write_bytes(bitstream.write_sim_bitstream(b.abi, load_board("virtual"), sim_design(b)))
    path = d / "flash.bin"
    with start(path) as vb, session(vb) as s:
        flash(s, bitstream=d / "m.bit", blob=CASE / "model.qtb")
    return path, from_blob(b)


@pytest.fixture
def board(model_flash, tmp_path):
    import shutil

    path = tmp_path / "flash.bin"
    shutil.copyfile(model_flash[0], path)
    with start(path) as vb, session(vb) as s:
        yield s, model_flash[1]


def _windows(im, n: int, seed: int) -> np.ndarray:
    lo, hi = (int(v) for v in im.tensors["x.range"])
    hp = im.config
    rng = np.random.default_rng(seed)
    return rng.integers(lo, hi + 1, size=(n, hp.window, hp.features)).astype(np.int8)


def test_stream_bit_exact_in_order(board):
    s, im = board
    model = load_model(s, Engine.MCU)
    xs = _windows(im, 200, seed=6)
    expect = reference.forward(im, xs.astype(np.int64))
    assert len({tuple(e) for e in expect}) > 20, "windows must give distinct predictions for the order check"
    with WindowStream(s, Engine.MCU, model=model, max_in_flight=16) as st:
        assert 1 <= st.granted <= 16
        got = list(st.run(xs))
        summary = st.stop()
    assert [r.seq for r in got] == list(range(200))
    for r in got:
        assert r.ok, (r.seq, r.status, r.error)
        assert np.array_equal(r.outputs, expect[r.seq]), r.seq
        assert r.engine == Engine.MCU and r.accel_cycles == 0 and r.t_end_us >= r.t_start_us
    assert (summary.windows_done, summary.windows_failed, summary.lost) == (200, 0, 0)
    # the same windows through INFER give the same answer
    assert np.array_equal(infer(s, xs[7], Engine.MCU).outputs, expect[7])


def test_submit_and_poll_live(board):
    """The live path: one window per STREAM_DATA, results polled as they come."""
    s, im = board
    model = load_model(s, Engine.MCU)
    xs = _windows(im, 12, seed=7)
    expect = reference.forward(im, xs.astype(np.int64))
    st = WindowStream(s, Engine.MCU, model=model, max_in_flight=4)
    st.start()
    seqs = [st.submit(x) for x in xs]
    assert seqs == list(range(12))
    got = []
    while len(got) < 12:
        got += st.poll(timeout=2.0)
    summary = st.stop()
    assert [r.seq for r in got] == seqs
    assert all(np.array_equal(r.outputs, expect[r.seq]) for r in got)
    assert summary.windows_done == 12


def test_errors(board):
    s, im = board
    link = s.link
    # no model yet: STREAM_START is NO_MODEL
    with pytest.raises(DeviceError) as e:
        WindowStream(s, Engine.MCU).start()
    assert e.value.status == Status.NO_MODEL
    model = load_model(s, Engine.MCU)
    n = model.in_count
    st = WindowStream(s, Engine.MCU, model=model, max_in_flight=4)
    st.start()
    # STREAM_DATA with a count other than in_count, or a length that disagrees: BAD_LENGTH
    for payload in (
        struct.pack("<IHH", 0, 1, n - 1) + bytes(n - 1),
        struct.pack("<IHH", 0, 2, n) + bytes(n),
        b"\x00\x00",
    ):
        with pytest.raises(DeviceError) as e:
            link.request(Command.STREAM_DATA, payload)
        assert e.value.status == Status.BAD_LENGTH
    # out of order window number: OUT_OF_ORDER; zero windows: BAD_ARGUMENT; other commands while
    # streaming: BUSY
    for payload, status in (
        (struct.pack("<IHH", 5, 1, n) + bytes(n), Status.OUT_OF_ORDER),
        (struct.pack("<IHH", 0, 0, n), Status.BAD_ARGUMENT),
    ):
        with pytest.raises(DeviceError) as e:
            link.request(Command.STREAM_DATA, payload)
        assert e.value.status == status
    with pytest.raises(DeviceError) as e:
        load_model(s, Engine.MCU)
    assert e.value.status == Status.BUSY
    # more windows than granted: BUSY (the host API never does this; a raw request may)
    with pytest.raises(DeviceError) as e:
        link.request(
            Command.STREAM_DATA, struct.pack("<IHH", 0, st.granted + 1, n) + bytes(n * (st.granted + 1))
        )
    assert e.value.status == Status.BUSY
    # a window outside x.range fails alone, as a StreamErrorEvent for its number
    lo, hi = (int(v) for v in im.tensors["x.range"])
    xs = _windows(im, 3, seed=8)
    bad = xs.copy()
    if hi < 127:
        bad[1, 0, 0] = hi + 1
    else:
        bad[1, 0, 0] = lo - 1 if lo > -128 else bad[1, 0, 0]
    st.submit_many(bad)
    got = list(st.results())
    assert [r.seq for r in got] == [0, 1, 2]
    assert got[0].ok and got[2].ok and not got[1].ok
    assert got[1].status == Status.BAD_ARGUMENT and "x.range" in got[1].error
    summary = st.stop()
    assert (summary.windows_done, summary.windows_failed) == (2, 1)
    # STREAM_DATA after STOP: no stream
    with pytest.raises(DeviceError) as e:
        link.request(Command.STREAM_DATA, struct.pack("<IHH", 3, 1, n) + bytes(n))
    assert e.value.status == Status.NO_STREAM


def test_hello_stops_stream(board):
    s, im = board
    model = load_model(s, Engine.MCU)
    st = WindowStream(s, Engine.MCU, model=model, max_in_flight=4)
    st.start()
    st.submit(_windows(im, 1, seed=9)[0])
    s.refresh()  # HELLO
    with pytest.raises(LinkError) as e:  # the host API names what happened
        st.submit(_windows(im, 1, seed=9)[0])
    assert "no longer streaming" in e.value.problem and not st.running
    with pytest.raises(DeviceError) as e:
        s.link.request(Command.STREAM_STOP)
    assert e.value.status == Status.NO_STREAM
    load_model(s, Engine.MCU)  # no longer BUSY


@pytest.mark.parametrize(
    "seed,faults,engine",
    [
        (1, dict(corrupt=2e-4, drop=1e-4), Engine.MCU),  # both ways: ~12 % of 400-byte requests hit
        (
            2,
            dict(corrupt=2e-3, drop=5e-4, directions="rx"),
            Engine.MCU,
        ),  # board -> host: ~10 % of events lost
        (3, dict(corrupt=2e-3, drop=5e-4, directions="rx"), Engine.FPGA),
        (
            4,
            dict(corrupt=1e-3, drop=5e-4, directions="tx"),
            Engine.MCU,
        ),  # host -> board: STREAM_DATA frames lost
    ],
    ids=["both-mcu", "rx-mcu", "rx-fpga", "tx-mcu"],
)
def test_noisy_line_never_misattributes(model_flash, tmp_path, seed, faults, engine):
    """Under the byte-level fault proxy (corrupted and dropped bytes both ways): requests are
    retried (the board answers retried STREAM_DATA from its cache, so no window is queued twice),
    windows whose result event the link destroyed are sent again (idempotent by window number),
    and every result equals the reference for the window of its number. STREAM_DATA frames are pipelined: one the link lost
    is retransmitted after later ones arrived, which the board refuses as out of order; the tx
    case checks that they are sent again and every window still runs exactly once, in order."""
    import shutil

    from support.faults import Faults, FaultyTransport

    path = tmp_path / "flash.bin"
    shutil.copyfile(model_flash[0], path)
    im = model_flash[1]
    xs = _windows(im, 300, seed=10 + seed)
    expect = reference.forward(im, xs.astype(np.int64))
    faults = Faults(seed=seed, **faults)
    with start(path) as vb:
        with session(vb) as s:
            model = load_model(s, engine)
        with session(vb, lambda inner: FaultyTransport(inner, faults), timeout=0.2) as s:
            with WindowStream(s, engine, model=model, max_in_flight=16, event_timeout=2.0) as st:
                got = list(st.run(xs))
                summary = st.stop()
            proxy = s.link.transport
    lost = [r for r in got if r.lost]
    assert proxy.injected >= 5, proxy.counts
    assert [r.seq for r in got] == list(range(300))
    for r in got:
        if not r.lost:
            assert r.ok and np.array_equal(r.outputs, expect[r.seq]), r.seq
    # windows whose result event was lost are sent again (link.md 7.18): none is lost while the
    # board answers; the board counts each run, re-sends included
    assert not lost and summary.lost == 0
    assert summary.windows_done >= 300
    if faults.directions == "rx":
        assert st.resent_windows, "the rx case must lose some events, or it tests nothing"
    if faults.directions == "tx":
        assert st.resent > 0, "no frame was refused as out of order: the re-send path went untested"
        assert not lost and all(r.ok for r in got)


def test_window_bytes_refuses_bad_windows():
    from qtdeploy.errors import UsageError
    from qtdeploy.ops.stream import window_bytes

    assert window_bytes(np.array([[1, -2], [3, -128]]), 4) == bytes([1, 0xFE, 3, 0x80])
    for bad, n in ((np.zeros(4), 4), (np.array([0, 0, 0, 200]), 4), (np.zeros(3, dtype=np.int8), 4)):
        with pytest.raises(UsageError):
            window_bytes(bad, n)
