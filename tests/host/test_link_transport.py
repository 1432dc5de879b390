"""SerialTransport over pyserial's loop:// handler, and a whole Link round trip through it."""

from __future__ import annotations

import time

import pytest

from qtdeploy._protocol import Command, Flag
from qtdeploy.errors import LinkError
from qtdeploy.link import Decoder, Frame, Link, SerialTransport, Transport, encode


def test_loop_write_then_read() -> None:
    with SerialTransport("loop://", 115200) as t:
        assert isinstance(t, Transport)
        t.write(b"abc\x00def")
        got = b""
        while len(got) < 7:
            got += t.read(64, 0.5)
        assert got == b"abc\x00def"


def test_read_times_out_with_empty_bytes() -> None:
    with SerialTransport("loop://") as t:
        start = time.monotonic()
        assert t.read(16, 0.05) == b""
        assert 0.04 <= time.monotonic() - start < 1.0


def test_read_respects_max_bytes() -> None:
    with SerialTransport("loop://") as t:
        t.write(b"0123456789")
        assert t.read(4, 0.5) == b"0123"


def test_set_baud_and_bad_port() -> None:
    with SerialTransport("loop://", 9600) as t:
        t.set_baud(921600)
        assert t.baud == 921600
    with pytest.raises(LinkError, match="Cannot open serial port") as exc:
        SerialTransport("/dev/does-not-exist-qtd")
    assert "list_ports" in exc.value.fix


def test_link_over_loopback_sees_its_own_request_as_not_a_response() -> None:
    """loop:// echoes the request back; the Link must count it, not mistake it for an answer."""
    with SerialTransport("loop://") as t:
        link = Link(t, timeout=0.02, retries=0, first_seq=1)
        with pytest.raises(LinkError, match="No answer to PING"):
            link.request(Command.PING, b"x")
        assert link.counters["not_response"] == 1


def test_frames_survive_the_serial_path() -> None:
    with SerialTransport("loop://") as t:
        frames = [
            Frame(Command.FLASH_READ, bytes(range(256)) * 4, seq=i, flags=Flag.RESPONSE) for i in range(3)
        ]
        t.write(b"".join(encode(f) for f in frames))
        d, got = Decoder(), []
        deadline = time.monotonic() + 2
        while len(got) < 3 and time.monotonic() < deadline:
            got += d.feed(t.read(4096, 0.1))
        assert got == frames
