"""Link against a scripted peer: window, ordering, retries, duplicate cache, errors, events.

The peer is a Transport that behaves like the board's link layer (link.md §5): it executes
requests in arrival order, caches its last responses and answers a RETRY from the cache. Tests
script losses and record every byte, then assert on the bytes. Time is a fake clock advanced by
reads that find nothing, so retry timeouts cost no real time.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from qtdeploy._protocol import LINK_PROTOCOL_VERSION, Command, Flag, Status
from qtdeploy.errors import DeviceError, LinkError
from qtdeploy.link import Link, Request
from qtdeploy.link import payloads as P
from qtdeploy.link.examples import LAYOUT
from qtdeploy.link.framing import Decoder, Frame, encode


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


class Peer:
    """A scripted board link layer. ``lazy``: answer only when the host reads (to fill the window)."""

    def __init__(self, clock: Clock, *, window: int = 8, lazy: bool = False) -> None:
        self.clock, self.window, self.lazy = clock, window, lazy
        self.decoder = Decoder()
        self.wire_in = bytearray()
        self.received: list[Frame] = []
        self.executed: list[int] = []
        self.cache: dict[int, Frame] = {}
        self.queue: list[Frame] = []  # requests not yet answered (lazy mode)
        self.out = bytearray()
        self.max_outstanding = 0
        self.drop_request: Callable[[Frame], bool] = lambda f: False
        self.drop_response: Callable[[Frame], bool] = lambda f: False
        self.handler: Callable[[Frame], tuple[int, bytes]] = lambda f: (Status.OK, f.payload)
        self.reverse = False
        self.bauds: list[int] = []

    # Transport
    def write(self, data: bytes) -> None:
        self.wire_in += data
        for f in self.decoder.feed(data):
            assert isinstance(f, Frame)
            self.received.append(f)
            if self.drop_request(f):
                continue
            self.queue.append(f)
            self.max_outstanding = max(self.max_outstanding, len(self.queue))
            if not self.lazy:
                self._answer_all()

    def read(self, max_bytes: int, timeout: float) -> bytes:
        if self.lazy:
            self._answer_all()
        if not self.out:
            self.clock.t += timeout
            return b""
        data = bytes(self.out[:max_bytes])
        del self.out[:max_bytes]
        return data

    def set_baud(self, baud: int) -> None:
        self.bauds.append(baud)

    def close(self) -> None:
        pass

    # Board behaviour
    def _answer_all(self) -> None:
        batch, self.queue = self.queue, []
        for req in reversed(batch) if self.reverse else batch:
            self._answer(req)

    def _answer(self, req: Frame) -> None:
        cached = self.cache.get(req.seq)
        if req.flags & Flag.RETRY and cached is not None and cached.command == req.command:
            resp = cached
        else:
            self.executed.append(req.seq)
            status, payload = self.handler(req)
            resp = Frame(req.command, payload, req.seq, Flag.RESPONSE, status)
            if status not in (Status.BAD_FRAME, Status.BAD_VERSION, Status.DAMAGED):  # never cached (§4-5)
                self.cache[req.seq] = resp
            if len(self.cache) > self.window:
                self.cache.pop(next(iter(self.cache)))
        if not self.drop_response(resp):
            self.out += encode(resp)

    def event(self, seq: int, payload: bytes = b"ev") -> None:
        self.out += encode(Frame(Command.STREAM_DATA, payload, seq, Flag.EVENT))


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make(clock: Clock, **peer_kw) -> tuple[Link, Peer]:
    peer = Peer(clock, **peer_kw)
    return Link(peer, clock=clock, first_seq=0), peer


def test_request_bytes_on_the_wire(clock) -> None:
    link, peer = make(clock)
    assert link.request(Command.PING, b"hi") == b"hi"
    # A leading 0x00 flushes the board's receiver, then the exact frame of link.md §9 (seq 0 here).
    assert bytes(peer.wire_in) == b"\x00" + encode(Frame(Command.PING, b"hi", seq=0))
    assert link.request(Command.PING, b"again") == b"again"
    assert peer.received[1].seq == 1


def test_trace_callback_and_logging(clock, caplog) -> None:
    seen: list[tuple[str, str]] = []
    peer = Peer(clock)
    link = Link(peer, clock=clock, first_seq=5, trace=lambda d, f: seen.append((d, f.describe())))
    with caplog.at_level("DEBUG", logger="qtdeploy.link"):
        link.request(Command.PING, b"x")
    assert [d for d, _ in seen] == ["tx", "rx"] and "seq=    5 cmd=PING" in seen[0][1]
    assert any("PING" in r.getMessage() and r.getMessage().startswith("rx") for r in caplog.records)


def test_hello_negotiates_window_and_payload(clock) -> None:
    link, peer = make(clock)
    info = dict(
        protocol_version=LINK_PROTOCOL_VERSION,
        fw_major=1,
        fw_minor=2,
        fw_patch=3,
        board_id="virtual",
        max_payload=1024,
        window=4,
        fpga_state=0,
        bit_widths=0x1FC,
        engines=3,
        codecs=1,
        accel_abi=0,
        active_slot=0xFF,
        layout=dict(LAYOUT, sector_size=65536),
    )
    peer.handler = lambda f: (Status.OK, P.HelloResponse.build(info))
    got = link.hello()
    req = P.HelloRequest.parse(peer.received[0].payload)
    assert (req.protocol_version, req.window, req.max_payload) == (
        1,
        32,
        4096,
    )  # asks the most; the board decides
    assert (link.window, link.max_payload, link.sector_size) == (4, 1024, 65536)
    assert got.board_id == "virtual" and link.info is got
    with pytest.raises(ValueError, match="negotiated 1024"):
        link.request(Command.PING, bytes(1025))


def test_request_many_fills_the_window_and_yields_in_order(clock) -> None:
    link, peer = make(clock, lazy=True)
    payloads = [bytes([i]) * 3 for i in range(20)]
    got = list(link.request_many((Command.PING, p) for p in payloads))
    assert got == payloads
    assert peer.max_outstanding == link.window == 8
    assert link.counters["retries"] == 0


def test_answers_out_of_order_still_come_back_in_order(clock) -> None:
    """A peer that answers a batch newest first breaks link.md §5 (answers in arrival order), so
    the host takes the older requests for lost and re-sends them; results still come back in
    send order, each exactly once."""
    link, peer = make(clock, lazy=True)
    peer.reverse = True
    payloads = [bytes([i]) * 3 for i in range(20)]
    assert list(link.request_many((Command.PING, p) for p in payloads)) == payloads


def test_lost_request_is_resent_with_retry_flag(clock) -> None:
    link, peer = make(clock)
    peer.drop_request = lambda f: f.seq == 3 and not f.flags & Flag.RETRY
    got = list(link.request_many(Request(Command.FLASH_WRITE, bytes([i]) * 4) for i in range(6)))
    assert got == [bytes([i]) * 4 for i in range(6)]
    resent = [f for f in peer.received if f.flags & Flag.RETRY]
    assert resent == [Frame(Command.FLASH_WRITE, b"\x03" * 4, 3, Flag.RETRY)]
    assert encode(resent[0]) in bytes(peer.wire_in)  # identical payload, RETRY set, same seq
    assert peer.executed == [0, 1, 2, 4, 5, 3]  # a retransmission runs after later requests (link.md §5)
    # the answer to 4 shows that 3 was lost (answers come in arrival order): re-sent at once
    assert link.counters["gaps"] == 1 and link.counters["timeouts"] == 0 and clock.t == 0.0


def test_lost_response_is_answered_from_the_cache_not_re_executed(clock) -> None:
    link, peer = make(clock)
    dropped: set[int] = set()

    def drop_once(resp: Frame) -> bool:
        if resp.seq == 1 and resp.seq not in dropped:
            dropped.add(resp.seq)
            return True
        return False

    peer.drop_response = drop_once
    assert list(link.request_many([(Command.FLASH_ERASE, b"a"), (Command.FLASH_ERASE, b"b")])) == [b"a", b"b"]
    assert peer.executed == [0, 1]  # seq 1 ran once although it was sent twice
    assert [f.flags for f in peer.received] == [0, 0, Flag.RETRY]


def test_bad_frame_status_triggers_an_immediate_retry(clock) -> None:
    link, peer = make(clock)
    answers = iter([(Status.BAD_FRAME, b""), (Status.OK, b"fine")])
    peer.handler = lambda f: next(answers)
    assert link.request(Command.PING, b"x") == b"fine"
    assert clock.t == 0.0 and link.counters["bad_frame"] == 1


def test_silent_board_raises_link_error_after_retries(clock) -> None:
    link, peer = make(clock)
    peer.drop_request = lambda f: True
    with pytest.raises(LinkError, match=r"No answer to FLASH_INFO \(seq 0\) after 4 attempts") as exc:
        link.request(Command.FLASH_INFO)
    assert "powered" in exc.value.fix
    assert len(peer.received) == 4 and all(f.flags & Flag.RETRY for f in peer.received[1:])
    assert 1.5 < clock.t < 3.0  # four timeouts of ~0.5 s, not more


def test_device_error_carries_meaning_action_and_detail(clock) -> None:
    link, peer = make(clock)
    peer.handler = lambda f: (Status.MISALIGNED, b"offset 0x00100001 not sector-aligned (4096)")
    with pytest.raises(DeviceError) as exc:
        link.request(Command.FLASH_ERASE, P.FlashErase.build(dict(offset=0x100001, length=4096)))
    err = exc.value
    assert err.status == Status.MISALIGNED and err.exit_code == 7
    assert "FLASH_ERASE failed: MISALIGNED" in err.problem and "0x00100001" in err.problem
    assert "sector size" in err.fix


def test_error_mid_pipeline_drains_the_rest(clock) -> None:
    link, peer = make(clock, lazy=True)
    peer.handler = lambda f: (Status.NOT_ERASED, b"") if f.seq == 2 else (Status.OK, f.payload)
    results = link.request_many((Command.FLASH_WRITE, bytes([i])) for i in range(10))
    with pytest.raises(DeviceError):
        list(results)
    # 0..7 filled the window, 8 and 9 went out as 0 and 1 were yielded; all got answered.
    assert sorted(peer.executed) == list(range(10))
    assert link.request(Command.PING, b"next") == b"next"
    assert link.counters["late"] == 0  # nothing stale surfaced in the next call


def test_garbage_on_the_line_is_counted_and_survived(clock) -> None:
    link, peer = make(clock)
    peer.out += b"\x13\x37\xff\x00\x05\x01\x00"
    assert link.request(Command.PING, b"ok") == b"ok"
    assert link.counters["cobs"] == 2


def test_board_with_another_protocol_version(clock) -> None:
    link, peer = make(clock)

    def answer_v2(f: Frame) -> tuple[int, bytes]:
        peer.out += encode(Frame(f.command, b"", f.seq, Flag.RESPONSE, Status.BAD_VERSION, version=2))
        return Status.OK, b""

    peer.drop_response = lambda f: True
    peer.handler = answer_v2
    with pytest.raises(LinkError, match="version 2"):
        link.request(Command.HELLO, b"\x01\x08\x00\x10")


def test_events_are_queued_and_gaps_counted(clock) -> None:
    link, peer = make(clock)
    link._event_seq = 0  # as after HELLO
    peer.event(0, b"first")
    assert link.request(Command.PING, b"p") == b"p"
    peer.event(3, b"after a gap")
    assert link.next_event(0.1).payload == b"first"
    assert link.next_event(0.1).payload == b"after a gap"
    assert link.next_event(0.1) is None
    assert link.counters["events_lost"] == 2


def test_set_baud_switches_and_reverts_when_silent(clock) -> None:
    link, peer = make(clock)
    peer.handler = lambda f: (
        (Status.OK, P.SetBaudResponse.build(dict(baud=3_000_000)))
        if f.command == Command.SET_BAUD
        else (Status.OK, f.payload)
    )
    assert link.set_baud(3_000_000) == 3_000_000 and link.baud == 3_000_000 and peer.bauds == [3_000_000]

    link2, peer2 = make(clock)
    peer2.handler = peer.handler
    peer2.drop_request = lambda f: f.command == Command.PING
    with pytest.raises(LinkError, match="after switching to 3000000 baud"):
        link2.set_baud(3_000_000)
    assert peer2.bauds == [3_000_000, link2.baud] and link2.baud != 3_000_000


def test_sequence_numbers_wrap(clock) -> None:
    peer = Peer(clock)
    link = Link(peer, clock=clock, first_seq=0xFFFE)
    list(link.request_many((Command.PING, b"w") for _ in range(4)))
    assert [f.seq for f in peer.received] == [0xFFFE, 0xFFFF, 0, 1]


def test_erase_timeout_scales_with_length(clock) -> None:
    link, _ = make(clock)
    short = link._timeout_for(Request(Command.FLASH_ERASE, P.FlashErase.build(dict(offset=0, length=4096))))
    long = link._timeout_for(
        Request(Command.FLASH_ERASE, P.FlashErase.build(dict(offset=0, length=64 * 4096)))
    )
    assert long - short == pytest.approx(63 * 0.5)


# ---- a noisy line (link.md §6.1) ------------------------------------------------------------


def test_frame_fit_halves_on_damage_and_grows_back() -> None:
    from qtdeploy.link.client import FrameFit

    fit = FrameFit(4096, grow_after=4)
    fit.damaged(4096, tx=1, now_tx=8)
    assert fit.size == 2048
    fit.damaged(4096, tx=5, now_tx=9)  # sent before the cut, at the old size: no second cut
    assert fit.size == 2048
    for tx in (10, 11, 12, 13, 14):
        fit.damaged(fit.size, tx=tx, now_tx=tx)
    assert fit.size == 268  # never below one page plus the FLASH_WRITE header
    for _ in range(3):
        fit.delivered(268)
    assert fit.size == 268
    fit.delivered(268)
    assert fit.size == 536  # doubled after 4 in a row at the current size
    fit.delivered(10)  # a small request says nothing about frames of this size
    for _ in range(4 * 4):
        fit.delivered(fit.size)
    assert fit.size == 4096  # and never above the negotiated maximum


def test_damaged_nak_is_resent_at_once_and_only_that_frame(clock) -> None:
    """The board NAKs a frame whose CRC failed (DAMAGED): that frame, and no other, goes again at
    once, with RETRY, without waiting for a timeout."""
    link, peer = make(clock)
    naked: set[int] = set()

    def handler(f: Frame) -> tuple[int, bytes]:
        if f.seq == 2 and f.seq not in naked:
            naked.add(f.seq)
            return Status.DAMAGED, b""
        return Status.OK, f.payload

    peer.handler = handler
    got = list(link.request_many(Request(Command.FLASH_WRITE, bytes([i]) * 8) for i in range(5)))
    assert got == [bytes([i]) * 8 for i in range(5)]
    assert [f.seq for f in peer.received if f.flags & Flag.RETRY] == [2]
    assert link.counters["damaged"] == 1 and link.counters["timeouts"] == 0 and clock.t == 0.0


def test_a_nak_for_no_outstanding_request_is_dropped(clock) -> None:
    link, peer = make(clock)

    def handler(f: Frame) -> tuple[int, bytes]:
        peer.out += encode(Frame(Command.FLASH_WRITE, b"", 999, Flag.RESPONSE, Status.DAMAGED))  # a stray NAK
        return Status.OK, f.payload

    peer.handler = handler
    assert link.request(Command.FLASH_WRITE, b"abc") == b"abc"
    assert link.counters["retries"] == 0 and link.counters["late"] == 1


def test_a_frame_the_line_keeps_damaging_goes_again_as_pieces(clock) -> None:
    """A request with ``split`` that failed is re-sent as pieces no larger than the (halved) fit;
    the caller still gets one answer for it, and the budget counts failures, not tries."""
    link, peer = make(clock)
    big = bytes(range(256)) * 8  # 2 KiB

    def split(limit: int) -> list[Request]:
        n = limit - 16
        return [Request(Command.PING, big[i : i + n]) for i in range(0, len(big), n)]

    peer.drop_request = lambda f: len(f.payload) > 1200  # the line eats every frame over 1200 bytes
    got = list(link.request_many([Request(Command.PING, b"a"), Request(Command.PING, big, split=split)]))
    assert got[0] == b"a" and len(got) == 2
    assert link.counters["splits"] >= 1 and link.fit.size <= 1200
    pieces = [f for f in peer.received if f.seq >= 2]
    assert b"".join(f.payload for f in pieces) == big  # the pieces together carry the whole frame
    assert all(len(f.payload) <= link.fit.size for f in pieces)


def test_noise_lets_a_frame_take_more_tries_than_retries_while_others_progress(clock) -> None:
    """Failures without progress are budgeted, not tries per frame: a frame lost 6 times (more than
    retries=3 allows a silent board) still gets through while the line shows damage (NAKs) and
    the others are answered."""
    link, peer = make(clock)
    losses = {3: 6}

    def handler(f: Frame) -> tuple[int, bytes]:
        if losses.get(f.seq, 0) > 0:
            losses[f.seq] -= 1
            return Status.DAMAGED, b""
        return Status.OK, f.payload

    peer.handler = handler
    got = list(link.request_many(Request(Command.FLASH_WRITE, bytes([i])) for i in range(8)))
    assert got == [bytes([i]) for i in range(8)]
    assert sum(1 for f in peer.received if f.seq == 3) == 7 and clock.t == 0.0
