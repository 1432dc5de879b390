"""Bit packing: exact round trips at every width, the spec's worked examples, refusals."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qtdeploy.errors import FormatError
from qtdeploy.formats.packing import (
    PACKED_BITS,
    VALID_BITS,
    pack_bits,
    packed_size,
    padded,
    result_dtype,
    unpack_bits,
    value_range,
)


@st.composite
def tensors(draw: st.DrawFn, widths: tuple[int, ...] = VALID_BITS) -> tuple[np.ndarray, int, bool]:
    bits = draw(st.sampled_from(widths))
    signed = draw(st.booleans())
    lo, hi = value_range(bits, signed)
    values = draw(st.lists(st.integers(lo, hi), min_size=0, max_size=300))
    return np.array(values, dtype=np.int64), bits, signed


@settings(max_examples=300, deadline=None)
@given(tensors())
def test_round_trip_every_width(case: tuple[np.ndarray, int, bool]) -> None:
    values, bits, signed = case
    data = pack_bits(values, bits, signed)
    assert len(data) == packed_size(values.size, bits)
    back = unpack_bits(data, bits, signed, values.size)
    assert back.dtype == result_dtype(bits, signed)
    assert back.tolist() == values.tolist()


@settings(max_examples=100, deadline=None)
@given(tensors(PACKED_BITS), st.binary(min_size=0, max_size=5))
def test_stream_layout_matches_the_spec_formula(case: tuple[np.ndarray, int, bool], tail: bytes) -> None:
    """Element i is stream bits [i*b, (i+1)*b), LSB first: what the C reader in blob.md computes."""
    values, bits, signed = case
    data = pack_bits(values, bits, signed) + tail  # trailing bytes (padding) must not matter
    mask, sign = (1 << bits) - 1, 1 << (bits - 1)
    for i, want in enumerate(values.tolist()):
        o = i * bits
        window = data[o >> 3] | ((data[(o >> 3) + 1] << 8) if (o & 7) + bits > 8 else 0)
        u = (window >> (o & 7)) & mask
        assert ((u ^ sign) - sign if signed else u) == want


@pytest.mark.parametrize(
    "bits,signed,dtype", [(16, True, "<i2"), (16, False, "<u2"), (32, True, "<i4"), (32, False, "<u4")]
)
def test_plain_widths_are_little_endian(bits: int, signed: bool, dtype: str) -> None:
    lo, hi = value_range(bits, signed)
    values = np.array([lo, hi, 1, 0], dtype=np.int64)
    assert pack_bits(values, bits, signed) == values.astype(dtype).tobytes()


def _spec_examples(root) -> list[tuple[int, list[int], bytes]]:
    text = (root / "protocol" / "blob.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\d) \| ([-\d, ]+) \| [01 ]+ \| `([0-9a-f \\|]+)` \|$", text, re.M)
    return [
        (int(b), [int(v) for v in vals.split(",")], bytes.fromhex(raw.replace("\\|", "")))
        for b, vals, raw in rows
    ]


def test_worked_examples_in_blob_md_are_exact(root) -> None:
    examples = _spec_examples(root)
    assert [b for b, _, _ in examples] == list(PACKED_BITS)
    for bits, values, want in examples:
        data = pack_bits(values, bits, True)
        assert data.ljust(padded(len(data)), b"\0") == want, bits
        assert unpack_bits(want, bits, True, len(values)).tolist() == values


@pytest.mark.parametrize("bits", [0, 1, 9, 12, 15, 17, 24, 31, 33, 64, True, 4.0])
def test_other_widths_are_refused(bits) -> None:
    with pytest.raises(FormatError, match="bit width"):
        pack_bits([0], bits, True)


@pytest.mark.parametrize("bits", VALID_BITS)
@pytest.mark.parametrize("signed", [True, False])
def test_out_of_range_values_are_refused(bits: int, signed: bool) -> None:
    lo, hi = value_range(bits, signed)
    for bad in (lo - 1, hi + 1):
        with pytest.raises(
            FormatError, match=f"outside the {'signed' if signed else 'unsigned'} {bits}-bit range"
        ):
            pack_bits(np.array([0, bad], dtype=np.int64), bits, signed)


def test_floats_are_refused() -> None:
    with pytest.raises(FormatError, match="integers only"):
        pack_bits(np.array([1.0, 2.0]), 8, True)


def test_short_data_is_refused() -> None:
    with pytest.raises(FormatError, match="truncated"):
        unpack_bits(b"\x00", 6, True, 2)
