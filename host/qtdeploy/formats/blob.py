"""The model blob (.qtb): one integer-only model, checksummed, as the board loads it.

protocol/blob.md is the specification; this module is its Python implementation, written with
``construct`` so the byte layout reads like the tables in the spec. ``pack`` validates the whole
model before producing a byte, ``unpack`` re-checks every field a corrupt or hand-made file could
get wrong, and both raise :class:`FormatError` with the problem and the fix. ``describe`` and
serve ``qtdeploy inspect`` (drawn by :mod:`qtdeploy.cli.render`); reading ``qtdeploy pack``'s sources (``.npy`` files or an
``.npz`` plus a description) lives in :mod:`qtdeploy.formats.blob_source`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import construct as cs
import numpy as np

from qtdeploy.errors import FormatError, UsageError
from qtdeploy.formats import abi as abi_mod
from qtdeploy.formats.abi import HParams
from qtdeploy.formats.packing import (
    ALIGN,
    as_integers,
    check_bits,
    check_range,
    pack_bits,
    packed_size,
    padded,
    unpack_bits,
    value_range,
)

__all__ = [
    "HParams",
    "Tensor",
    "Lut",
    "Blob",
    "pack",
    "unpack",
    "load",
    "save",
    "looks_like_blob",
    "describe",
    "MAGIC",
    "VERSION",
]

MAGIC = b"\x89QTB"
VERSION = 1
HEADER_SIZE = 128
SIG_NONE = 0
NAME_LEN = 32  # bytes in the table, so at most 31 characters and a NUL
MAX_DIMS = 4

HEADER = cs.Struct(
    "magic" / cs.Bytes(4),
    "version" / cs.Int16ul,
    "header_size" / cs.Int16ul,
    "abi" / cs.Int32ul,
    "flags" / cs.Int32ul,
    "payload_size" / cs.Int32ul,
    "sig_type" / cs.Int16ul,
    "reserved0" / cs.Int16ul,
    "sha256" / cs.Bytes(32),
    "signature" / cs.Bytes(64),
    "reserved1" / cs.Bytes(8),
)
MODEL = cs.Struct(
    "hparams" / cs.Array(7, cs.Int16ul),
    "reserved0" / cs.Int16ul,
    "n_tensors" / cs.Int16ul,
    "n_luts" / cs.Int16ul,
    "meta_offset" / cs.Int32ul,
    "meta_length" / cs.Int32ul,
    "reserved1" / cs.Int32ul,
)
TENSOR_ENTRY = cs.Struct(
    "id" / cs.Int16ul,
    "bits" / cs.Int8ul,
    "flags" / cs.Int8ul,
    "ndim" / cs.Int8ul,
    "reserved" / cs.Bytes(3),
    "shape" / cs.Array(MAX_DIMS, cs.Int32ul),
    "zero_point" / cs.Int32sl,
    "multiplier" / cs.Int32sl,
    "shift" / cs.Int32sl,
    "offset" / cs.Int32ul,
    "length" / cs.Int32ul,
    "count" / cs.Int32ul,
    "name" / cs.Bytes(NAME_LEN),
)
LUT_ENTRY = cs.Struct(
    "id" / cs.Int16ul,
    "bits" / cs.Int8ul,
    "flags" / cs.Int8ul,
    "entries" / cs.Int32ul,
    "offset" / cs.Int32ul,
    "length" / cs.Int32ul,
    "name" / cs.Bytes(NAME_LEN),
)
TABLES_AT = HEADER_SIZE + MODEL.sizeof()
FLAG_SIGNED = 0x01
SHIFT_RANGE = (-32, 63)
INT32 = (-(1 << 31), (1 << 31) - 1)


@dataclass
class Tensor:
    """A device-side integer tensor (up to 4 dims) with its width and requantisation fields."""

    name: str
    data: np.ndarray
    bits: int
    signed: bool
    zero_point: int = 0
    multiplier: int = 0
    shift: int = 0


@dataclass
class Lut:
    """A 1-D lookup table (e.g. the softmax exponent) stored like a tensor."""

    name: str
    data: np.ndarray
    bits: int
    signed: bool


@dataclass
class Blob:
    """A whole model: shape, tensors and LUTs in table order, and host-only metadata."""

    hparams: HParams
    tensors: list[Tensor]
    luts: list[Lut] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def abi(self) -> int:
        """The accelerator ABI id (protocol/blob.md): derived, so it can never disagree."""
        return abi_mod.blob_abi(self)


# ---------------------------------------------------------------------------------- validation


def _check_name(name: object, what: str) -> str:
    if not isinstance(name, str) or not 1 <= len(name) < NAME_LEN or not all("!" <= c <= "~" for c in name):
        raise FormatError(
            f"{what} name {name!r} is not 1..{NAME_LEN - 1} printable ASCII characters without spaces.",
            "Rename it, e.g. 'l0.q.weight'.",
        )
    return name


def _check_int(value: object, lo: int, hi: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= int(value) <= hi:
        raise FormatError(
            f"{what} = {value!r} is not an integer in [{lo}, {hi}].", f"Set {what} within that range."
        )
    return int(value)


def _check_item(item: Tensor | Lut, what: str) -> np.ndarray:
    """Validate one tensor or LUT and return its data as an integer array."""
    label = f"{what} '{item.name}'"
    check_bits(item.bits, label)
    if not isinstance(item.signed, (bool, np.bool_)):
        raise FormatError(
            f"{label}: signed = {item.signed!r} is not true/false.", "Set signed to true or false."
        )
    arr = as_integers(item.data, label)
    if arr.size == 0:
        raise FormatError(f"{label} has no elements.", "Drop it from the model or give it data.")
    if isinstance(item, Lut) and arr.ndim != 1:
        raise FormatError(f"{label} has shape {arr.shape}; a LUT is 1-D.", "Flatten it (arr.ravel()).")
    if arr.ndim > MAX_DIMS or any(d > 0xFFFFFFFF for d in arr.shape):
        raise FormatError(f"{label} has shape {arr.shape}; a blob tensor has at most 4 dims.", "Reshape it.")
    check_range(arr, item.bits, bool(item.signed), label)
    if isinstance(item, Tensor):
        # The header field is int32: an unsigned 32-bit tensor's zero point must fit both.
        lo, hi = value_range(item.bits, bool(item.signed))
        _check_int(item.zero_point, max(lo, INT32[0]), min(hi, INT32[1]), f"{label} zero_point")
        _check_int(item.multiplier, *INT32, f"{label} multiplier")
        _check_int(item.shift, *SHIFT_RANGE, f"{label} shift")
    return arr


def _numpy_json(obj: object) -> Any:
    """Let exporters put NumPy scalars/arrays in metadata; they are stored as plain JSON."""
    if isinstance(obj, (np.generic, np.ndarray)):
        return obj.tolist()
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def _check_meta(meta: object, hparams: HParams) -> bytes:
    """The metadata as canonical JSON bytes (sorted keys, no NaN), after checking known keys."""
    if not isinstance(meta, dict):
        raise FormatError(
            f"metadata is a {type(meta).__name__}, not a JSON object.", "Pass a dict of metadata."
        )
    try:
        text = json.dumps(
            meta,
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
            default=_numpy_json,
        )
    except (TypeError, ValueError) as err:
        raise FormatError(
            f"metadata is not valid JSON: {err}.", "Use strings, finite numbers, lists and dicts."
        ) from None
    names = meta.get("features")
    if names is not None and (not isinstance(names, list) or len(names) != hparams.features):
        raise FormatError(
            f"metadata 'features' lists {names!r}, but the model has {hparams.features} input features.",
            "List exactly one name per input feature.",
        )
    for key in ("model_name", "created_by", "target"):
        if key in meta and not isinstance(meta[key], str):
            raise FormatError(f"metadata '{key}' is {meta[key]!r}, not a string.", f"Make '{key}' a string.")
    return text.encode("utf-8")


def validate(blob: Blob) -> tuple[list[np.ndarray], list[np.ndarray], bytes]:
    """Check everything ``pack`` relies on; returns the arrays and the metadata bytes."""
    if not isinstance(blob.hparams, HParams):
        raise FormatError("blob.hparams is not an HParams.", "Build it with HParams(window=..., ...).")
    blob.hparams.validate()
    for what, items in (("tensors", blob.tensors), ("LUTs", blob.luts)):
        if len(items) > 0xFFFF:
            raise FormatError(
                f"the model has {len(items)} {what}; a blob holds at most 65535.", "Merge some."
            )
    seen: set[str] = set()
    for what, item in [("tensor", t) for t in blob.tensors] + [("LUT", lut) for lut in blob.luts]:
        _check_name(item.name, what)
        if item.name in seen:
            raise FormatError(
                f"the name '{item.name}' is used twice.", "Give every tensor and LUT its own name."
            )
        seen.add(item.name)
    tensors = [_check_item(t, "tensor") for t in blob.tensors]
    luts = [_check_item(lut, "LUT") for lut in blob.luts]
    return tensors, luts, _check_meta(blob.meta, blob.hparams)


# ------------------------------------------------------------------------------- pack / unpack


def pack(blob: Blob) -> bytes:
    """The blob's bytes; validates everything first, so an error leaves nothing half-built."""
    tensors, luts, meta = validate(blob)
    tables_end = TABLES_AT + TENSOR_ENTRY.sizeof() * len(tensors) + LUT_ENTRY.sizeof() * len(luts)
    offset, chunks, t_entries, l_entries = tables_end, list[bytes](), list[bytes](), list[bytes]()
    items: list[Tensor | Lut] = [*blob.tensors, *blob.luts]
    for item, arr in zip(items, [*tensors, *luts]):
        raw = pack_bits(arr, item.bits, bool(item.signed))
        entry = dict(
            id=0,
            bits=item.bits,
            flags=FLAG_SIGNED if item.signed else 0,
            offset=offset,
            length=len(raw),
            name=item.name.encode("ascii").ljust(NAME_LEN, b"\0"),
        )
        if isinstance(item, Tensor):
            entry.update(
                id=len(t_entries),
                ndim=arr.ndim,
                reserved=bytes(3),
                shape=list(arr.shape) + [0] * (MAX_DIMS - arr.ndim),
                zero_point=int(item.zero_point),
                multiplier=int(item.multiplier),
                shift=int(item.shift),
                count=arr.size,
            )
            t_entries.append(TENSOR_ENTRY.build(entry))
        else:
            entry.update(id=len(l_entries), entries=arr.size)
            l_entries.append(LUT_ENTRY.build(entry))
        chunks.append(raw.ljust(padded(len(raw)), b"\0"))
        offset += padded(len(raw))
    end = offset + padded(len(meta))
    if end > 0xFFFFFFFF:
        raise FormatError(f"the blob would be {end} bytes; the format's limit is 4 GiB.", "Shrink the model.")
    hp = blob.hparams
    model = MODEL.build(
        dict(
            hparams=list(hp.as_tuple()),
            reserved0=0,
            n_tensors=len(tensors),
            n_luts=len(luts),
            meta_offset=offset,
            meta_length=len(meta),
            reserved1=0,
        )
    )
    payload = b"".join([model, *t_entries, *l_entries, *chunks, meta.ljust(padded(len(meta)), b"\0")])
    header = HEADER.build(
        dict(
            magic=MAGIC,
            version=VERSION,
            header_size=HEADER_SIZE,
            abi=blob.abi,
            flags=0,
            payload_size=len(payload),
            sig_type=SIG_NONE,
            reserved0=0,
            sha256=hashlib.sha256(payload).digest(),
            signature=bytes(64),
            reserved1=bytes(8),
        )
    )
    return header + payload


def looks_like_blob(data: bytes) -> bool:
    """True when ``data`` starts with the blob magic (inspect dispatches on content)."""
    return data[:4] == MAGIC


def _fail(
    problem: str, fix: str = "The blob is damaged or was not written by qtdeploy: pack it again."
) -> None:
    raise FormatError(problem, fix)


def _check_header(data: bytes) -> Any:
    if len(data) < 4 or not looks_like_blob(data):
        _fail(
            f"not a qtdeploy blob: it starts with {data[:4].hex() or 'nothing'}, not {MAGIC.hex()}.",
            "Pass a .qtb file written by `qtdeploy pack` or `qtdeploy export`.",
        )
    if len(data) < HEADER_SIZE:
        _fail(
            f"the blob is truncated: {len(data)} bytes, shorter than its {HEADER_SIZE}-byte header.",
            "Copy or flash the whole file again.",
        )
    h = HEADER.parse(data)
    if h.version != VERSION:
        _fail(
            f"blob format version {h.version} is not supported (this qtdeploy reads version {VERSION}).",
            "Use the qtdeploy release that wrote it, or pack the model again with this one.",
        )
    if h.header_size != HEADER_SIZE:
        _fail(f"the header says it is {h.header_size} bytes; version 1 headers are {HEADER_SIZE}.")
    want = HEADER_SIZE + h.payload_size
    if len(data) < want:
        _fail(
            f"the blob is truncated: {len(data)} bytes, but its header says {want}.",
            "Copy or flash the whole file again.",
        )
    if len(data) > want:
        _fail(
            f"the blob has {len(data) - want} unexpected bytes after its {want}-byte end.",
            "Strip the trailing bytes (e.g. a flash dump's 0xFF fill) or pack it again.",
        )
    digest = hashlib.sha256(data[HEADER_SIZE:]).digest()
    if digest != h.sha256:
        _fail(
            f"SHA-256 mismatch: the header says {h.sha256.hex()}, the payload hashes to {digest.hex()}.",
            "The file is corrupt: copy or pack it again.",
        )
    if h.sig_type != SIG_NONE:
        _fail(
            f"signature type {h.sig_type} is not supported (version 1 knows only 0 = none).",
            "Use a qtdeploy release that verifies this signature type.",
        )
    if h.flags or h.reserved0 or any(h.signature) or any(h.reserved1) or h.payload_size % ALIGN:
        _fail(
            "the header has non-zero reserved fields, flags or signature bytes, or an unaligned payload size."
        )
    return h


def _name(raw: bytes, index: int, what: str) -> str:
    text, _, rest = raw.partition(b"\0")
    if any(rest):
        _fail(f"{what} #{index} has bytes after the NUL that ends its name.")
    try:
        return _check_name(text.decode("ascii"), f"{what} #{index}")
    except UnicodeDecodeError:
        _fail(f"{what} #{index} has a non-ASCII name {text!r}.")
    raise AssertionError  # unreachable: _fail raises


def _decode(data: bytes) -> tuple[Blob, Any, list[Any], list[Any]]:
    """Parse and fully check ``data``; returns the blob and the raw header and table entries."""
    h = _check_header(data)
    if h.payload_size < MODEL.sizeof():
        _fail(
            f"the payload is {h.payload_size} bytes, too short for the {MODEL.sizeof()}-byte model section."
        )
    m = MODEL.parse(data[HEADER_SIZE:])
    hp = HParams(*m.hparams)
    hp.validate()
    tables_end = TABLES_AT + TENSOR_ENTRY.sizeof() * m.n_tensors + LUT_ENTRY.sizeof() * m.n_luts
    if m.reserved0 or m.reserved1 or tables_end > len(data):
        _fail(
            f"the model section lists {m.n_tensors} tensors and {m.n_luts} LUTs, whose tables do not fit "
            f"in the {len(data)}-byte blob, or has non-zero reserved fields."
        )
    t_raw = cs.Array(m.n_tensors, TENSOR_ENTRY).parse(data[TABLES_AT:])
    l_raw = cs.Array(m.n_luts, LUT_ENTRY).parse(data[TABLES_AT + TENSOR_ENTRY.sizeof() * m.n_tensors :])
    regions = [(m.meta_offset, m.meta_length, "metadata")]
    items: list[Tensor | Lut] = []
    for what, entries in (("tensor", t_raw), ("LUT", l_raw)):
        for i, e in enumerate(entries):
            name = _name(e.name, i, what)
            label = f"{what} '{name}' (#{i})"
            check_bits(e.bits, label)
            count = e.count if what == "tensor" else e.entries
            if e.id != i or e.flags & ~FLAG_SIGNED or count < 1:
                _fail(
                    f"{label} has id {e.id}, flags {e.flags:#x} or {count} elements; expected id {i}, "
                    "flags 0 or 1, and at least one element."
                )
            if what == "tensor":
                shape = tuple(e.shape[: e.ndim])
                if (
                    e.ndim > MAX_DIMS
                    or any(e.reserved)
                    or any(e.shape[e.ndim :])
                    or math.prod(shape) != count
                ):
                    _fail(
                        f"{label} has shape {list(e.shape)} with ndim {e.ndim}, which does not give its "
                        f"count {count} (unused dims must be 0, used ones positive)."
                    )
            if e.length != packed_size(count, e.bits):
                _fail(
                    f"{label} says {e.length} bytes, but {count} values of {e.bits} bits take "
                    f"{packed_size(count, e.bits)}."
                )
            if e.offset % ALIGN or e.offset < tables_end or e.offset + e.length > len(data):
                _fail(
                    f"{label} points at bytes {e.offset}..{e.offset + e.length}, outside the data area "
                    f"{tables_end}..{len(data)} or not {ALIGN}-byte aligned."
                )
            regions.append((e.offset, e.length, label))
            raw = data[e.offset : e.offset + e.length]
            arr = unpack_bits(raw, e.bits, bool(e.flags & FLAG_SIGNED), count)
            if pack_bits(arr, e.bits, bool(e.flags & FLAG_SIGNED)) != raw:
                _fail(f"{label} has non-zero unused bits after its last element.")
            if what == "tensor":
                items.append(
                    Tensor(
                        name,
                        arr.reshape(shape),
                        e.bits,
                        bool(e.flags & FLAG_SIGNED),
                        e.zero_point,
                        e.multiplier,
                        e.shift,
                    )
                )
            else:
                items.append(Lut(name, arr, e.bits, bool(e.flags & FLAG_SIGNED)))
    _check_regions(data, regions, tables_end)
    meta = _decode_meta(data[m.meta_offset : m.meta_offset + m.meta_length])
    blob = Blob(
        hp, [x for x in items if isinstance(x, Tensor)], [x for x in items if isinstance(x, Lut)], meta
    )
    validate(blob)  # names, ranges, zero points, shifts, metadata: the same rules as pack
    if blob.abi != h.abi:
        _fail(f"the header's ABI id {h.abi:#010x} differs from {blob.abi:#010x}, derived from the model.")
    return blob, h, list(t_raw), list(l_raw)


def _check_regions(data: bytes, regions: list[tuple[int, int, str]], start: int) -> None:
    """Data regions must not overlap, and every byte between them must be zero padding."""
    pos, last = start, "the tables"
    for offset, length, label in sorted(regions):
        if offset < pos:
            _fail(f"{label} overlaps {last}.")
        if offset + length > len(data):
            _fail(f"{label} runs past the end of the blob ({offset + length} > {len(data)}).")
        if any(data[pos:offset]):
            _fail(f"non-zero bytes in the padding before {label} (offsets {pos}..{offset}).")
        pos, last = offset + length, label
    if any(data[pos:]):
        _fail(f"non-zero bytes in the padding after {last}.")


def _decode_meta(raw: bytes) -> dict[str, Any]:
    if not raw:
        return {}

    def no_constants(token: str) -> None:
        raise ValueError(f"{token} is not allowed")

    try:
        meta = json.loads(raw.decode("utf-8"), parse_constant=no_constants)
    except (UnicodeDecodeError, ValueError) as err:
        raise FormatError(f"the metadata is not valid UTF-8 JSON: {err}.", "Pack the model again.") from None
    if not isinstance(meta, dict):
        _fail(f"the metadata is a JSON {type(meta).__name__}, not an object.")
    return meta


def unpack(data: bytes) -> Blob:
    """Read a blob, checking magic, version, sizes, hash, tables, padding, metadata and ABI."""
    return _decode(bytes(data))[0]


def load(path: str | os.PathLike[str]) -> Blob:
    """Read and check a .qtb file."""
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise FormatError(f"cannot read {path}: {err.strerror}.", "Check the path.") from None
    return unpack(data)


def save(blob: Blob, path: str | os.PathLike[str]) -> bytes:
    """Pack and write atomically (temp file + rename): on any error nothing is written."""
    data = pack(blob)
    write_atomic(Path(path), data)
    return data


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` so readers see the old file or the whole new one, never a partial one."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        raise UsageError(
            f"cannot write {path}: {err.strerror}.", "Check that its directory exists and is writable."
        ) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ------------------------------------------------------------------------- inspect: describe/render


def describe(data: bytes, source: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Everything ``qtdeploy inspect`` shows, as JSON-ready data; a blob that fails a check
    (hash included) is refused with the reason rather than shown as if it were usable."""
    blob, h, t_raw, l_raw = _decode(bytes(data))
    return {
        "source": None if source is None else str(source),
        "format": "qtb",
        "version": h.version,
        "size": len(data),
        "abi": f"{blob.abi:#010x}",
        "abi_string": abi_mod.blob_abi_string(blob),
        "hparams": dict(
            zip(
                ("window", "features", "d_model", "heads", "layers", "ffn", "horizon"),
                blob.hparams.as_tuple(),
            )
        ),
        "tensors": [
            {
                "id": e.id,
                "name": t.name,
                "bits": t.bits,
                "signed": t.signed,
                "shape": list(t.data.shape),
                "zero_point": t.zero_point,
                "multiplier": t.multiplier,
                "shift": t.shift,
                "offset": e.offset,
                "length": e.length,
            }
            for t, e in zip(blob.tensors, t_raw)
        ],
        "luts": [
            {
                "id": e.id,
                "name": lut.name,
                "bits": lut.bits,
                "signed": lut.signed,
                "entries": e.entries,
                "offset": e.offset,
                "length": e.length,
            }
            for lut, e in zip(blob.luts, l_raw)
        ],
        "meta": blob.meta,
        "sha256": h.sha256.hex(),
        "verified": True,
        "signature": "none",
    }
