"""Integer bit packing for blob tensors: widths 2..8 packed, 16 and 32 plain little-endian.

The layout (protocol/blob.md, "Packing") is one little-endian bit stream, LSB first: element
``i`` of a ``b``-bit tensor occupies stream bits ``[i*b, (i+1)*b)``, stream bit ``k`` is bit
``k % 8`` of byte ``k // 8``, and signed values are stored as their low ``b`` bits (two's
complement). Why this one: a little-endian MCU (RP2040) reads it with a 16-bit window and two
shifts, a Verilog reader indexes a little-endian word as ``w[b*i +: b]``, and at ``b`` = 16 or 32
the same rule *is* plain little-endian int16/int32, so one description covers every width.

Everything here is vectorised NumPy and exact; the functions raise :class:`FormatError` (never
silently wrap) for a width outside the allowed set or a value outside the width's range.
"""

from __future__ import annotations

import numpy as np

from qtdeploy.errors import FormatError

PACKED_BITS: tuple[int, ...] = (2, 3, 4, 5, 6, 7, 8)
PLAIN_BITS: tuple[int, ...] = (16, 32)
VALID_BITS: tuple[int, ...] = PACKED_BITS + PLAIN_BITS
ALIGN = 4  # every tensor/LUT starts on, and is padded to, a 32-bit word boundary

_PLAIN_DTYPES = {(16, True): "<i2", (16, False): "<u2", (32, True): "<i4", (32, False): "<u4"}


def check_bits(bits: int, what: str = "tensor") -> None:
    """Refuse a width the C and Verilog readers do not implement."""
    if not isinstance(bits, (int, np.integer)) or isinstance(bits, bool) or int(bits) not in VALID_BITS:
        raise FormatError(
            f"{what} has bit width {bits!r}; a blob stores 2..8 bits (packed) or 16/32 (plain).",
            "Quantise it to 2..8 bits, or store it as int16/int32 (bits = 16 or 32).",
        )


def value_range(bits: int, signed: bool) -> tuple[int, int]:
    """The inclusive range a ``bits``-wide value may take (two's complement when signed)."""
    check_bits(bits)
    if signed:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def result_dtype(bits: int, signed: bool) -> np.dtype:
    """The smallest NumPy dtype that holds every ``bits``-wide value: what unpack returns."""
    check_bits(bits)
    size = 8 if bits <= 8 else bits
    return np.dtype(f"{'i' if signed else 'u'}{size // 8}")


def packed_size(count: int, bits: int) -> int:
    """Bytes that ``count`` values of ``bits`` occupy, before padding to the word boundary."""
    return (count * bits + 7) // 8


def padded(size: int, align: int = ALIGN) -> int:
    """``size`` rounded up to a multiple of ``align``."""
    return (size + align - 1) // align * align


def as_integers(values: np.ndarray | list[int], what: str = "tensor") -> np.ndarray:
    """``values`` as an integer array; floats are refused because the device has no floats."""
    arr = np.asarray(values)
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8)
    if arr.size == 0 and arr.dtype == np.float64:  # np.asarray([]) is float64: treat as empty ints
        arr = arr.astype(np.int64)
    if not np.issubdtype(arr.dtype, np.integer):
        raise FormatError(
            f"{what} has dtype {arr.dtype}; blobs hold integers only.",
            "Export the quantised integer values (e.g. np.int8/np.int32), not floats.",
        )
    return arr


def check_range(values: np.ndarray, bits: int, signed: bool, what: str = "tensor") -> None:
    """Refuse any value that does not fit ``bits`` (wrapping would silently change the model)."""
    lo, hi = value_range(bits, signed)
    if values.size == 0:
        return
    vmin, vmax = int(values.min()), int(values.max())
    if vmin < lo or vmax > hi:
        bad = vmin if vmin < lo else vmax
        kind = "signed" if signed else "unsigned"
        raise FormatError(
            f"{what} holds {bad}, outside the {kind} {bits}-bit range [{lo}, {hi}].",
            "Clamp or re-quantise the tensor, or declare a wider bit width / the right signedness.",
        )


def pack_bits(values: np.ndarray | list[int], bits: int, signed: bool) -> bytes:
    """Pack ``values`` (flattened in C order) into the LSB-first bit stream; no word padding."""
    check_bits(bits)
    arr = as_integers(values).ravel()
    check_range(arr, bits, signed)
    if bits in PLAIN_BITS:
        return arr.astype(_PLAIN_DTYPES[(bits, signed)]).tobytes()
    if bits == 8:
        return arr.astype(np.int16).astype(np.uint8).tobytes()  # low 8 bits = two's complement
    low = (arr.astype(np.int64) & ((1 << bits) - 1)).astype(np.uint8)
    # One row per element, one column per bit (LSB first): flattening gives the stream order.
    stream = (low[:, None] >> np.arange(bits, dtype=np.uint8)) & 1
    return np.packbits(stream.ravel(), bitorder="little").tobytes()


def unpack_bits(data: bytes, bits: int, signed: bool, count: int) -> np.ndarray:
    """The first ``count`` ``bits``-wide values of ``data``, sign-extended when ``signed``.

    Bytes after the last value (padding) are ignored here; the blob reader checks they are zero.
    """
    check_bits(bits)
    need = packed_size(count, bits)
    if count < 0 or len(data) < need:
        raise FormatError(
            f"{count} values of {bits} bits need {need} bytes but only {len(data)} are there.",
            "The data is truncated: pack it again.",
        )
    buf = np.frombuffer(data, dtype=np.uint8, count=need)
    out_dtype = result_dtype(bits, signed)
    if bits in PLAIN_BITS:
        return buf.view(_PLAIN_DTYPES[(bits, signed)]).astype(out_dtype)
    if bits == 8:
        return buf.view(out_dtype).copy()
    stream = np.unpackbits(buf, bitorder="little", count=count * bits).reshape(count, bits)
    weights = (1 << np.arange(bits, dtype=np.int16)).astype(np.int16)
    raw = stream.astype(np.int16) @ weights
    if signed:
        raw = np.where(raw >= (1 << (bits - 1)), raw - (1 << bits), raw)
    return raw.astype(out_dtype)
