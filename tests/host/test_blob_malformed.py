"""Bad blobs and bad pack sources: each refused with the problem named, a non-zero exit, no output.

The valid starting point is tests/data/blob/tiny.qtb, a committed golden blob: the first test
pins its bytes, so an accidental format change fails here before it reaches the C and RTL readers.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from qtdeploy.cli.main import main
from qtdeploy.errors import FormatError
from qtdeploy.formats import blob as fmt

HP = fmt.HParams(window=4, features=1, d_model=8, heads=2, layers=1, ffn=16, horizon=1)
T0 = 160  # first tensor table entry (protocol/blob.md)
ENTRY = 80


def tiny() -> fmt.Blob:
    return fmt.Blob(
        HP,
        [
            fmt.Tensor("w", np.array([[-4, -1, 0], [1, 2, 3]]), 3, True),
            fmt.Tensor("b", np.array([-70000, 5]), 32, True, multiplier=1 << 30, shift=31),
            fmt.Tensor("s", np.array([7]), 8, False),
        ],
        [fmt.Lut("lut", np.array([32767, 9000, 0]), 16, False)],
        {"features": ["f0"], "model_name": "tiny"},
    )


@pytest.fixture(scope="module")
def golden(root: Path) -> bytes:
    return (root / "tests" / "data" / "blob" / "tiny.qtb").read_bytes()


def test_golden_blob_is_stable(golden: bytes) -> None:
    assert fmt.pack(tiny()) == golden
    assert fmt.unpack(golden).meta == {"features": ["f0"], "model_name": "tiny"}


def put(data: bytes, offset: int, fmt_: str, *values: int | bytes) -> bytes:
    """Overwrite a field and re-seal the hash, so the check under test is the one that fires."""
    buf = bytearray(data)
    struct.pack_into("<" + fmt_, buf, offset, *values)
    return reseal(bytes(buf))


def reseal(data: bytes) -> bytes:
    return data[:0x18] + hashlib.sha256(data[128:]).digest() + data[0x38:]


def meta_at(data: bytes) -> tuple[int, int]:
    return struct.unpack_from("<II", data, 128 + 20)


def replace_meta(data: bytes, text: bytes) -> bytes:
    off, length = meta_at(data)
    buf = bytearray(data)
    buf[off : off + length] = text.ljust(length)  # JSON allows trailing spaces
    return reseal(bytes(buf))


def w_offset(data: bytes) -> int:
    return struct.unpack_from("<I", data, T0 + 36)[0]


CASES: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "truncated payload": (lambda d: d[:-8], "truncated"),
    "truncated header": (lambda d: d[:60], "truncated"),
    "unknown version": (lambda d: d[:4] + b"\x02\x00" + d[6:], "version 2 is not supported"),
    "bad hash": (lambda d: d[:-1] + bytes([d[-1] ^ 0x20]), "SHA-256 mismatch"),
    "trailing bytes": (lambda d: d + b"\xff" * 16, "unexpected bytes after"),
    "signature type": (lambda d: d[:0x14] + b"\x01\x00" + d[0x16:], "signature type 1 is not supported"),
    "header flags": (lambda d: d[:0x0C] + b"\x01\x00\x00\x00" + d[0x10:], "non-zero reserved fields"),
    "header ABI": (lambda d: d[:8] + b"\x11\x22\x33\x44" + d[12:], "differs from"),
    "heads do not divide d_model": (lambda d: put(d, 128 + 6, "H", 3), "not divisible by heads"),
    "table larger than blob": (lambda d: put(d, 128 + 16, "H", 1000), "do not fit"),
    "offset outside payload": (lambda d: put(d, T0 + 36, "I", len(d) + 64), "outside the data area"),
    "unaligned offset": (lambda d: put(d, T0 + 36, "I", w_offset(d) + 1), "not 4-byte aligned"),
    "shape/count mismatch": (lambda d: put(d, T0 + 8, "I", 3), "does not give its count"),
    "length mismatch": (lambda d: put(d, T0 + 40, "I", 4), "says 4 bytes, but 6 values of 3 bits take 3"),
    "bit width 9": (lambda d: put(d, T0 + 2, "B", 9), "bit width 9"),
    "bit width 1 (LUT)": (lambda d: put(d, T0 + 3 * ENTRY + 2, "B", 1), "bit width 1"),
    "duplicate names": (lambda d: put(d, T0 + ENTRY + 48, "32s", b"w"), "used twice"),
    "non-ASCII name": (lambda d: put(d, T0 + 48, "32s", "wé".encode()), "non-ASCII"),
    "zero point out of range": (lambda d: put(d, T0 + 24, "i", 100), "zero_point = 100"),
    "overlapping tensors": (lambda d: put(d, T0 + ENTRY + 36, "I", w_offset(d)), "overlaps"),
    "non-zero padding": (lambda d: put(d, w_offset(d) + 3, "B", 0xAA), "padding"),
    "non-zero unused bits": (lambda d: put(d, w_offset(d) + 2, "B", 0xFF), "unused bits"),
    "metadata not JSON": (lambda d: replace_meta(d, b"{bad"), "not valid UTF-8 JSON"),
    "metadata NaN": (lambda d: replace_meta(d, b'{"a":NaN}'), "NaN is not allowed"),
    "metadata not an object": (lambda d: replace_meta(d, b"[1, 2]"), "not an object"),
    "metadata feature count": (lambda d: replace_meta(d, b'{"features":["a","b"]}'), "1 input features"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_blob_is_refused(case: str, golden: bytes, tmp_path: Path, capsys) -> None:
    mutate, message = CASES[case]
    data = mutate(golden)
    with pytest.raises(FormatError, match=message) as err:
        fmt.unpack(data)
    assert err.value.fix  # every refusal says what to do
    path = tmp_path / "bad.qtb"
    path.write_bytes(data)
    assert main(["inspect", str(path)]) == 4
    assert message.split(",")[0] in capsys.readouterr().err.replace("\n", " ")
    assert [p.name for p in tmp_path.iterdir()] == ["bad.qtb"]


def test_wrong_magic_is_not_a_blob(golden: bytes, tmp_path: Path) -> None:
    data = b"QTB\x00" + golden[4:]
    assert not fmt.looks_like_blob(data)
    with pytest.raises(FormatError, match="not a qtdeploy blob"):
        fmt.unpack(data)
    path = tmp_path / "bad.qtb"
    path.write_bytes(data)
    assert main(["inspect", str(path)]) != 0  # handed to the bitstream reader, which refuses it too


# ------------------------------------------------------------------------- pack: bad sources

GOOD_TOML = """
[model]
window = 4
features = 1
d_model = 8
heads = 2
layers = 1
ffn = 16
horizon = 1

[[tensor]]
name = "w"
bits = 4
signed = true

[[lut]]
name = "lut"
bits = 16
signed = false

[meta]
model_name = "tiny"
"""


def source(tmp_path: Path, toml: str = GOOD_TOML, **arrays: np.ndarray) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    (src / "model.toml").write_text(toml)
    for name, arr in {
        "w": np.array([[1, -2], [3, -4]], np.int8),
        "lut": np.array([3, 2, 1], np.uint16),
        **arrays,
    }.items():
        np.save(src / f"{name}.npy", arr)
    return src


PACK_CASES: dict[str, tuple[dict, Callable[[str], str], str]] = {
    "value out of range": ({"w": np.array([8])}, str, "outside the signed 4-bit range"),
    "bit width 9": ({}, lambda t: t.replace("bits = 4", "bits = 9"), "bit width 9"),
    "duplicate names": ({}, lambda t: t.replace('name = "lut"', 'name = "w"'), "used twice"),
    "NaN metadata": ({}, lambda t: t + "bad = nan\n", "not valid JSON"),
    "undescribed array": ({"extra": np.array([1])}, str, "does not mention: extra.npy"),
    "missing array": ({}, lambda t: t.replace('name = "w"', 'name = "w2"'), "has no array 'w2.npy'"),
    "float array": ({"w": np.array([0.5])}, str, "blobs hold integers only"),
    "unknown key": (
        {},
        lambda t: t.replace("signed = true", "signed = true\nscale = 3"),
        "unknown key(s) scale",
    ),
    "bad TOML": ({}, lambda t: t + "[[tensor\n", "not valid TOML"),
    "missing hyper-parameter": ({}, lambda t: t.replace("ffn = 16\n", ""), "lacks ffn"),
    "2-D LUT": ({"lut": np.ones((2, 2), np.uint16)}, str, "a LUT is 1-D"),
    "five dims": ({"w": np.ones((1, 1, 1, 1, 2), np.int8)}, str, "at most 4 dims"),
    "empty tensor": ({"w": np.zeros((0,), np.int8)}, str, "has no elements"),
    "bad hparam": ({}, lambda t: t.replace("window = 4", "window = 0"), "window = 0"),
}


@pytest.mark.parametrize("case", sorted(PACK_CASES))
def test_bad_pack_source_writes_nothing(case: str, tmp_path: Path, capsys) -> None:
    arrays, edit, message = PACK_CASES[case]
    src = source(tmp_path, edit(GOOD_TOML), **arrays)
    out = tmp_path / "out" / "m.qtb"
    out.parent.mkdir()
    assert main(["pack", str(src), "--out", str(out)]) == 4
    assert message in capsys.readouterr().err.replace("\n", " ")
    assert list(out.parent.iterdir()) == []


def test_good_source_packs(tmp_path: Path) -> None:
    src = source(tmp_path)
    out = tmp_path / "m.qtb"
    assert main(["pack", str(src), "--out", str(out)]) == 0
    assert fmt.load(out).tensors[0].data.tolist() == [[1, -2], [3, -4]]


def test_npz_without_desc_is_a_usage_error(tmp_path: Path) -> None:
    np.savez(tmp_path / "w.npz", w=np.array([1]))
    assert main(["pack", str(tmp_path / "w.npz"), "--out", str(tmp_path / "m.qtb")]) == 2
    assert not (tmp_path / "m.qtb").exists()
