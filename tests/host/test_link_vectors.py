"""The committed link vectors are what the generator writes, and they decode as they claim.

The firmware's tests read the same files, so these checks are what keep host and C honest
against one shared set of bytes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qtdeploy._protocol import Command, Flag
from qtdeploy.link import vectors
from qtdeploy.link.framing import BadFrame, Decoder, Frame
from qtdeploy.link.malformed import cases
from qtdeploy.link.payloads import parse_exact


def test_committed_vectors_are_fresh(root: Path) -> None:
    for rel, text in vectors.outputs(root).items():
        assert (root / rel).read_text() == text, (
            f"{rel} is stale: run `python -m qtdeploy.link.vectors --write`"
        )


def test_check_flag(root: Path) -> None:
    assert vectors.main(["--check"]) == 0


@pytest.fixture(scope="module")
def frames(root: Path) -> list[dict]:
    return json.loads((root / "protocol/vectors/link/frames.json").read_text())["frames"]


def test_every_command_has_a_request_and_a_response(frames) -> None:
    names = {f["name"] for f in frames}
    for cmd in Command:
        assert {f"{cmd.name}.request", f"{cmd.name}.response"} <= names, cmd.name


def test_there_are_events_retries_and_errors(frames) -> None:
    flags = [f["flags"] for f in frames]
    assert any(f & Flag.EVENT for f in flags) and any(f & Flag.RETRY for f in flags)
    assert any(f & Flag.COMPRESSED for f in flags) and any(f["status"] for f in frames)


def test_encoded_bytes_decode_to_the_stated_fields(frames) -> None:
    from qtdeploy.link import payloads as P

    for vec in frames:
        [frame] = Decoder().feed(bytes.fromhex(vec["encoded_hex"]))
        assert isinstance(frame, Frame), vec["name"]
        assert (frame.version, frame.flags, frame.seq, frame.command, frame.status) == (
            vec["version"],
            vec["flags"],
            vec["seq"],
            vec["command"],
            vec["status"],
        ), vec["name"]
        assert frame.payload.hex() == vec["payload_hex"] and len(frame.payload) == vec["length"]
        fields = vectors.jsonable(parse_exact(getattr(P, vec["layout"]), frame.payload, vec["name"]))
        assert fields == vec["fields"], vec["name"]


def test_malformed_cases_decode_as_specified(root: Path) -> None:
    doc = json.loads((root / "protocol/vectors/link/malformed.json").read_text())
    assert len(doc["cases"]) >= 10
    for case in doc["cases"]:
        data = bytes.fromhex(case["input_hex"])
        for chunk in (len(data) or 1, 1, 7):  # whole, byte by byte, odd chunks: same answer
            d = Decoder()
            got = []
            for i in range(0, len(data), chunk):
                got += d.feed(data[i : i + chunk])
            assert [vectors._expect(g) for g in got] == case["expect"], (case["name"], chunk)
            assert d.pending == case["pending_bytes"] and dict(d.counters) == case["counters"]


def test_every_error_name_is_exercised() -> None:
    from qtdeploy.link.framing import FrameErrorKind

    seen = {e for c in cases() for e in c.expect}
    assert {k.value for k in FrameErrorKind} <= seen


def test_trusted_errors_carry_the_header(root: Path) -> None:
    doc = json.loads((root / "protocol/vectors/link/malformed.json").read_text())
    for case in doc["cases"]:
        for e in case["expect"]:
            if "error" in e:
                assert (e["header"] is not None) == (e["error"] in ("version", "length")), case["name"]


def test_malformed_generator_refuses_a_wrong_expectation(monkeypatch) -> None:
    from qtdeploy.link import malformed

    bad = malformed.Case("lie", "claims a frame", b"\x05\x01\x00", ("frame",))
    monkeypatch.setattr(vectors, "cases", lambda: [bad])
    with pytest.raises(AssertionError, match="spec says"):
        vectors.malformed_json()
    assert isinstance(Decoder().feed(bad.data)[0], BadFrame)
