"""The host link client (qtdeploy.link.Link) against a broken board, as a hypothesis state machine.

The board is a scripted transport (the link layer's hardware boundary) that, for every request
frame it receives, does what hypothesis draws: answers it, drops it, answers late (after some
reads, so answers arrive out of order), twice, with a wrong sequence number, with a wrong command,
replays an old answer, sends an event with the request's seq, puts garbage on the line, answers
BAD_FRAME (the host retransmits), or answers with an error status. Every request carries a unique
token that its right answer echoes (PING) or names in its error detail, so the test knows, for
every value the client returns or error it raises, whether it was the right one.

The property: the client never accepts a wrong answer as the right one. It returns the token it
sent, raises the DeviceError the board sent *for that request*, or gives up with a LinkError;
never another request's answer, a duplicate from an earlier call, an event, or garbage.

What the link cannot tell apart by design is left out of the script: a frame forged with another
outstanding request's seq *and* command (CRC-32, seq and command are the contract, link.md 5).
"""

from __future__ import annotations

import itertools
import struct

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from qtdeploy._protocol import LINK_MAX_WINDOW, LINK_SEQ_MODULUS, Command, Flag, Status
from qtdeploy.errors import DeviceError, LinkError
from qtdeploy.link import Link, Request
from qtdeploy.link.client import Pipeline
from qtdeploy.link.framing import Decoder, Frame, encode

ACTIONS = (
    "ok",
    "drop",
    "late",
    "twice",
    "wrong_seq",
    "wrong_cmd",
    "stale",
    "event",
    "garbage",
    "bad_frame",
    "error",
)


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


class HostileBoard:
    """A transport whose board side answers each request as hypothesis draws (see module doc)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.decoder = Decoder()
        self.data = None  # hypothesis' data object of the running rule
        self.out = bytearray()
        self.held: list[tuple[int, bytes]] = []  # (reads left, encoded frame)
        self.seen_seqs: set[int] = set()  # every seq the host has used so far
        self.sent_answers: list[Frame] = []  # right answers sent, for replays
        self.right: dict[bytes, set[tuple[int, bytes]]] = {}  # token -> (status, payload) sent rightly

    # Transport
    def write(self, data: bytes) -> None:
        for f in self.decoder.feed(data):
            assert isinstance(f, Frame), "the host sent a malformed frame"
            assert not f.flags & (Flag.RESPONSE | Flag.EVENT), "the host sent a response or event"
            self.seen_seqs.add(f.seq)
            self._react(f)

    def read(self, max_bytes: int, timeout: float) -> bytes:
        for i, (left, frame) in enumerate(self.held):
            self.held[i] = (left - 1, frame)
        self.out += b"".join(f for left, f in self.held if left <= 0)
        self.held = [(left, f) for left, f in self.held if left > 0]
        if not self.out:
            self.clock.t += timeout
            return b""
        chunk = bytes(self.out[:max_bytes])
        del self.out[:max_bytes]
        return chunk

    def set_baud(self, baud: int) -> None:
        pass

    def close(self) -> None:
        pass

    # Board
    def _answer(self, req: Frame, status: int = Status.OK) -> Frame:
        payload = req.payload if status == Status.OK else b"refused " + req.payload.hex().encode()
        self.right.setdefault(req.payload, set()).add((int(status), payload))
        frame = Frame(req.command, payload, req.seq, Flag.RESPONSE, status)
        self.sent_answers.append(frame)
        return frame

    def _react(self, req: Frame) -> None:
        draw = self.data.draw
        action = draw(st.sampled_from(ACTIONS), label=f"board action for seq {req.seq}")
        if action == "ok":
            self.out += encode(self._answer(req))
        elif action == "late":
            self.held.append((draw(st.integers(1, 6), label="reads late"), encode(self._answer(req))))
        elif action == "twice":
            self.out += encode(self._answer(req)) + encode(self._answer(req))
        elif action == "wrong_seq":
            # a seq the host has not used and will not use while this frame can be read (its
            # next requests take the following seqs): one it uses with the same command is the
            # forgery the link cannot detect (module doc)
            seq = req.seq
            while seq in self.seen_seqs or (seq - req.seq) % LINK_SEQ_MODULUS < 4 * LINK_MAX_WINDOW:
                seq = (seq + draw(st.integers(1, 2000), label="seq offset")) % LINK_SEQ_MODULUS
            self.out += encode(Frame(req.command, b"wrong seq " + req.payload, seq, Flag.RESPONSE, Status.OK))
        elif action == "wrong_cmd":
            self.out += encode(Frame(Command.FLASH_INFO, b"wrong command", req.seq, Flag.RESPONSE, Status.OK))
        elif action == "stale" and self.sent_answers:
            old = draw(st.sampled_from(self.sent_answers), label="replayed answer")
            self.out += encode(old)  # right for its own request, if that one is still owed
        elif action == "event":
            self.out += encode(
                Frame(Command.STREAM_DATA, b"event " + req.payload, req.seq, Flag.EVENT, Status.OK)
            )
        elif action == "garbage":
            self.out += draw(st.binary(min_size=1, max_size=40), label="garbage") + b"\x00"
            self.out += encode(self._answer(req))
        elif action == "bad_frame":
            self.out += encode(Frame(req.command, b"crc", req.seq, Flag.RESPONSE, Status.BAD_FRAME))
        elif action == "error":
            self.out += encode(self._answer(req, Status.BUSY))
        # "drop" (and "stale" with nothing sent yet): silence; the host times out and retries


class LinkAgainstHostileBoard(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock()
        self.board = HostileBoard(self.clock)
        self.tokens = itertools.count()
        self.link: Link
        self.outcomes: list[str] = []

    @initialize(first_seq=st.one_of(st.just(LINK_SEQ_MODULUS - 3), st.integers(0, LINK_SEQ_MODULUS - 1)))
    def connect(self, first_seq: int) -> None:
        self.link = Link(self.board, clock=self.clock, first_seq=first_seq, retries=3, timeout=0.5)
        self.link.window = 4  # as after a HELLO that negotiated 4

    def _token(self) -> bytes:
        return struct.pack("<Q", next(self.tokens)) + b"tok"

    def _check_error(self, token: bytes, err: DeviceError) -> None:
        assert err.status == Status.BUSY
        assert f"refused {token.hex()}" in err.problem, "a DeviceError that belongs to another request"
        assert (int(Status.BUSY), b"refused " + token.hex().encode()) in self.board.right[token]

    @rule(data=st.data())
    def one_request(self, data) -> None:
        self.board.data = data
        token = self._token()
        try:
            got = self.link.request(Command.PING, token)
        except DeviceError as err:
            self._check_error(token, err)
            self.outcomes.append("error")
        except LinkError:
            self.outcomes.append("gave up")
        else:
            assert got == token, f"accepted {got!r} as the answer to {token!r}"
            self.outcomes.append("ok")

    @rule(data=st.data(), n=st.integers(2, 7))
    def pipelined(self, data, n: int) -> None:
        self.board.data = data
        tokens = [self._token() for _ in range(n)]
        answers = self.link.request_many([Request(Command.PING, t) for t in tokens])
        got: list[bytes] = []
        try:
            for answer in answers:
                got.append(answer)
        except DeviceError as err:
            self._check_error(tokens[len(got)], err)
        except LinkError:
            pass
        finally:
            answers.close()
        assert got == tokens[: len(got)], "an answer accepted for the wrong request of a batch"

    @rule(data=st.data(), n=st.integers(1, 6))
    def pipeline(self, data, n: int) -> None:
        """Pipeline (the window stream's way): sent now, answered while the caller pumps."""
        self.board.data = data
        pipe = Pipeline(self.link)
        tokens = [self._token() for _ in range(n)]
        for i, token in enumerate(tokens):
            pipe.send(Command.PING, token, tag=i)
        expected = 0
        try:
            for _ in range(200):
                pipe.pump(self.clock() + 0.5)
                for tag, answer in pipe.answers():
                    assert tag == expected, "answers out of send order"
                    if isinstance(answer, DeviceError):
                        self._check_error(tokens[tag], answer)
                    else:
                        assert answer == tokens[tag], f"accepted {answer!r} as the answer to {tokens[tag]!r}"
                    expected += 1
                if not pipe.outstanding:
                    break
        except LinkError:
            pipe.abandon()
        assert not pipe.outstanding or pipe.inflight == {}, "a pipeline left waiting"

    @rule(data=st.data())
    def idle(self, data) -> None:
        """Time passes between calls: late answers and duplicates arrive with nothing owed."""
        self.board.data = data
        self.link.read_events(self.clock() + 1.0)

    @invariant()
    def events_are_never_answers(self) -> None:
        if hasattr(self, "link"):
            assert all(f.is_event for f in self.link.events)


LinkAgainstHostileBoard.TestCase.settings = settings(
    max_examples=60, stateful_step_count=20, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestLinkAgainstHostileBoard = LinkAgainstHostileBoard.TestCase
