"""The slot record in Python (qtdeploy.formats.slots) against protocol/slots.md's table."""

from __future__ import annotations

import zlib

from qtdeploy.formats import slots as rec


def test_layout_matches_the_spec_table():
    e = rec.Entry(
        rec.STATE_COMMITTED,
        7,
        538_844,
        bytes(range(32)),
        16_524,
        bytes(range(32, 64)),
        0x03620093,
        0x39C3A7C1,
    )
    data = rec.encode(rec.Record(7, 1, (rec.Entry(), e)))
    assert len(data) == 196
    assert data[:16] == bytes.fromhex("515444530100c4000700000001000000")
    b = data[16 + 88 : 16 + 176]
    assert b[0] == 1 and b[4:8] == (7).to_bytes(4, "little") and b[8:12] == (538_844).to_bytes(4, "little")
    assert (
        b[12:44] == bytes(range(32))
        and b[44:48] == (16_524).to_bytes(4, "little")
        and b[48:80] == bytes(range(32, 64))
    )
    assert b[80:84] == (0x03620093).to_bytes(4, "little") and b[84:88] == (0x39C3A7C1).to_bytes(4, "little")
    assert data[16:104] == bytes(88)  # slot A empty
    assert int.from_bytes(data[192:], "little") == zlib.crc32(data[:192])
    assert rec.decode(data, 1) == rec.Record(7, 1, (rec.Entry(), e), 1)


def test_invalid_copies_are_never_current():
    good = rec.encode(rec.Record(3, 0))
    bad_crc = good[:-1] + bytes((good[-1] ^ 1,))
    bad_active = bytearray(good)
    bad_active[12] = 2
    bad_active[192:] = zlib.crc32(bytes(bad_active[:192])).to_bytes(4, "little")
    for data in (b"\xff" * 196, bad_crc, bytes(bad_active), good[:100]):
        assert rec.decode(data) is None
    assert rec.current([b"\xff" * 196, b"\xff" * 196]) is None and rec.next_copy(None) == 0


def test_the_higher_seq_wins_and_the_next_record_goes_to_the_other_copy():
    old, new = rec.encode(rec.Record(4, 0)), rec.encode(rec.Record(5, 1))
    assert rec.current([old, new]).seq == 5 and rec.next_copy(rec.current([old, new])) == 0
    assert rec.current([new, old]).copy == 0 and rec.next_copy(rec.current([new, old])) == 1
    cut = new[:192] + b"\xff" * 4  # step 2 done, CRC not yet programmed
    assert rec.current([old, cut]).seq == 4
