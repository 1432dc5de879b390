"""`qtdeploy pack` sources: a directory of .npy files (or an .npz) plus a TOML/JSON description.

Separate from blob.py because it is about reading a user's files and explaining their
mistakes; the blob format itself does not depend on it. The description format is in
protocol/blob.md.
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any

import numpy as np

from qtdeploy.errors import FormatError, UsageError
from qtdeploy.formats.abi import HParams
from qtdeploy.formats.blob import Blob, Lut, Tensor, save

DESC_NAMES = ("model.toml", "model.json")
ITEM_KEYS = {
    "tensor": {"name", "file", "bits", "signed", "zero_point", "multiplier", "shift"},
    "lut": {"name", "file", "bits", "signed"},
}
DEFAULT_KEYS = ITEM_KEYS["tensor"] - {"name", "file"}
HPARAM_KEYS = ("window", "features", "d_model", "heads", "layers", "ffn", "horizon")


def _keys(obj: object, allowed: set[str] | tuple[str, ...], what: str, desc: Path) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise FormatError(
            f"{desc}: {what} is not a table.", "See protocol/blob.md, 'Description for qtdeploy pack'."
        )
    unknown = sorted(set(obj) - set(allowed))
    if unknown:
        raise FormatError(
            f"{desc}: {what} has unknown key(s) {', '.join(unknown)}.",
            f"Use only {', '.join(sorted(allowed))} (protocol/blob.md).",
        )
    return obj


def _read_desc(desc: Path) -> dict[str, Any]:
    try:
        text = desc.read_text(encoding="utf-8")
        spec = (
            tomllib.loads(text)
            if desc.suffix == ".toml"
            else json.loads(text)
            if desc.suffix == ".json"
            else None
        )
    except OSError as err:
        raise FormatError(f"cannot read the description {desc}: {err.strerror}.", "Check the path.") from None
    except (UnicodeDecodeError, ValueError) as err:  # TOMLDecodeError and JSONDecodeError are ValueErrors
        raise FormatError(
            f"{desc} is not valid {desc.suffix[1:].upper()}: {err}.", "Fix the syntax."
        ) from None
    if spec is None:
        raise FormatError(
            f"{desc} is neither .toml nor .json.", "Name the description model.toml or model.json."
        )
    return _keys(spec, ("model", "defaults", "tensor", "lut", "meta"), "the description", desc)


class _Arrays:
    """The arrays of a source: ``.npy`` files of a directory or the members of an ``.npz``."""

    def __init__(self, src: Path) -> None:
        self.src, self.used = src, set[str]()
        try:
            self.npz = np.load(src, allow_pickle=False) if src.is_file() else None
        except (OSError, ValueError) as err:
            raise FormatError(f"cannot read {src} as .npz: {err}.", "Write it with numpy.savez.") from None
        self.available = set(self.npz.files) if self.npz is not None else {p.name for p in src.glob("*.npy")}

    def get(self, name: str, file: str | None, what: str) -> np.ndarray:
        key = file or (name if self.npz is not None else f"{name}.npy")
        if key not in self.available:
            raise FormatError(
                f"{what} '{name}': {self.src} has no array '{key}'.",
                "Export it there, or point 'file' at the right one in the description.",
            )
        self.used.add(key)
        try:
            return self.npz[key] if self.npz is not None else np.load(self.src / key, allow_pickle=False)
        except (OSError, ValueError) as err:
            raise FormatError(
                f"cannot read {what} '{name}' from {key}: {err}.", "Save it with numpy.save."
            ) from None


def load_source(source: str | os.PathLike[str], desc: str | os.PathLike[str] | None = None) -> Blob:
    """A :class:`Blob` from a directory of ``.npy`` files or an ``.npz``, plus its description."""
    src = Path(source)
    if src.is_dir():
        found = [src / n for n in DESC_NAMES if (src / n).is_file()]
        if desc is None and not found:
            raise FormatError(
                f"{src} has no model.toml or model.json.", "Add one (protocol/blob.md) or pass --desc."
            )
        desc_path = Path(desc) if desc is not None else found[0]
    elif src.is_file() and src.suffix == ".npz":
        if desc is None:
            raise UsageError(f"{src} is an .npz: its description must be given.", "Pass --desc model.toml.")
        desc_path = Path(desc)
    else:
        raise FormatError(
            f"{src} is neither a directory nor an .npz file.",
            "Pass a directory with .npy files and model.toml, or an .npz with --desc.",
        )
    spec = _read_desc(desc_path)
    model = _keys(spec.get("model"), HPARAM_KEYS, "[model]", desc_path)
    missing = [k for k in HPARAM_KEYS if k not in model]
    if missing:
        raise FormatError(
            f"{desc_path}: [model] lacks {', '.join(missing)}.", "Give all seven hyper-parameters."
        )
    hparams = HParams(**model)
    defaults = _keys(spec.get("defaults", {}), DEFAULT_KEYS, "[defaults]", desc_path)
    arrays = _Arrays(src)
    items: dict[str, list[Any]] = {"tensor": [], "lut": []}
    for kind, cls in (("tensor", Tensor), ("lut", Lut)):
        entries = spec.get(kind, [])
        if not isinstance(entries, list):
            raise FormatError(
                f"{desc_path}: '{kind}' is not a list of tables.", f"Write [[{kind}]] sections."
            )
        for i, raw in enumerate(entries):
            entry = {
                **(defaults if kind == "tensor" else {}),
                **_keys(raw, ITEM_KEYS[kind], f"{kind} #{i}", desc_path),
            }
            absent = [k for k in ("name", "bits", "signed") if k not in entry]
            if absent:
                raise FormatError(
                    f"{desc_path}: {kind} #{i} ({entry.get('name', 'unnamed')}) lacks {', '.join(absent)}.",
                    "Set them on the entry (or in [defaults] for tensors).",
                )
            if any(entry["name"] == x.name for x in items["tensor"] + items["lut"]):
                raise FormatError(
                    f"{desc_path}: the name '{entry['name']}' is used twice.",
                    "Give every tensor and LUT its own name.",
                )
            file = entry.pop("file", None)
            data = arrays.get(str(entry["name"]), file, kind)
            items[kind].append(cls(data=data, **entry))
    unused = sorted(arrays.available - arrays.used)
    if unused:
        raise FormatError(
            f"{src} has arrays the description does not mention: {', '.join(unused)}.",
            "Describe them in the description, or remove them from the source.",
        )
    meta = _keys(spec.get("meta", {}), set(spec.get("meta", {})), "[meta]", desc_path)
    from qtdeploy import __version__

    meta = {"created_by": f"qtdeploy {__version__}", **meta}
    return Blob(hparams, items["tensor"], items["lut"], meta)


def pack_source(
    source: str | os.PathLike[str], out: str | os.PathLike[str], desc: str | os.PathLike[str] | None = None
) -> bytes:
    """``qtdeploy pack``: read the source, validate, write ``out`` atomically; returns the bytes."""
    return save(load_source(source, desc), out)
