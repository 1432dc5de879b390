"""The accelerator ABI id: one u32 that says whether a blob fits a bitstream.

A bitstream is built for one model shape and one set of tensor widths; it reports its ABI id
from the FPGA's USR_ACCESS register, and a blob carries the id it needs in its header. Equal ids
mean "this blob's weights load into this bitstream"; the board refuses a mismatch (ABI_MISMATCH).

The id is the first 4 bytes (big-endian) of the SHA-256 of a canonical ASCII string, so any tool
can reproduce it — Python here, the RTL build (Tcl/Make: ``printf %s "$S" | sha256sum | cut
-c1-8``) and the firmware — without linking qtdeploy. The string (protocol/blob.md, "ABI id")::

    qtdeploy-abi/1|window=12|features=1|d_model=32|heads=1|layers=1|ffn=128|horizon=1|tensors=4s,32s,8u|luts=16u

``tensors`` lists each tensor's width and signedness (``s``/``u``) in table order, ``luts`` the
same for the LUT table (empty after ``=`` when there are none). Order matters because the device
addresses tensors by table index. Names, shapes and values do not enter: shapes follow from the
hyper-parameters, and new weights of the same widths must load into the same bitstream.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields
from typing import TYPE_CHECKING

from qtdeploy.errors import FormatError
from qtdeploy.formats.packing import check_bits

if TYPE_CHECKING:
    from qtdeploy.formats.blob import Blob

ABI_VERSION = 1
# What an FPGA reports when its bitstream sets no USR_ACCESS value; never a real ABI id.
RESERVED_IDS = {0x00000000: 0x00000001, 0xFFFFFFFF: 0xFFFFFFFE}
HPARAM_LIMIT = 0xFFFF  # each hyper-parameter is a u16 in the blob


@dataclass(frozen=True)
class HParams:
    """The model's shape: what a bitstream is built for (all counts, each 1..65535)."""

    window: int
    features: int
    d_model: int
    heads: int
    layers: int
    ffn: int
    horizon: int

    def validate(self) -> None:
        """Refuse a shape no accelerator can have, before it is hashed or written."""
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= HPARAM_LIMIT:
                raise FormatError(
                    f"hyper-parameter {f.name} = {value!r} is not an integer in 1..{HPARAM_LIMIT}.",
                    f"Set {f.name} to a positive integer in the model description.",
                )
        if self.d_model % self.heads:
            raise FormatError(
                f"d_model = {self.d_model} is not divisible by heads = {self.heads}.",
                "Choose heads that divide d_model (each head gets d_model / heads channels).",
            )

    def as_tuple(self) -> tuple[int, ...]:
        return astuple(self)


Width = tuple[int, bool]  # (bits, signed)


def _widths(widths: Sequence[Width], what: str) -> str:
    parts = []
    for i, item in enumerate(widths):
        try:
            bits, signed = item
        except (TypeError, ValueError):
            raise FormatError(
                f"{what} width #{i} is {item!r}, not a (bits, signed) pair.",
                "Pass e.g. (4, True) for a signed 4-bit tensor.",
            ) from None
        check_bits(bits, f"{what} #{i}")
        parts.append(f"{int(bits)}{'s' if signed else 'u'}")
    return ",".join(parts)


def abi_string(hparams: HParams, tensor_bits: Sequence[Width], lut_bits: Sequence[Width] = ()) -> str:
    """The canonical ASCII string the ABI id hashes; print it to debug a mismatch."""
    hparams.validate()
    shape = "|".join(f"{f.name}={getattr(hparams, f.name)}" for f in fields(hparams))
    return (
        f"qtdeploy-abi/{ABI_VERSION}|{shape}"
        f"|tensors={_widths(tensor_bits, 'tensor')}|luts={_widths(lut_bits, 'LUT')}"
    )


def abi_id(hparams: HParams, tensor_bits: Sequence[Width], lut_bits: Sequence[Width] = ()) -> int:
    """The u32 ABI id of a model shape and its (bits, signed) widths in table order."""
    digest = hashlib.sha256(abi_string(hparams, tensor_bits, lut_bits).encode("ascii")).digest()
    value = int.from_bytes(digest[:4], "big")
    return RESERVED_IDS.get(value, value)


def blob_abi_string(blob: Blob) -> str:
    """:func:`abi_string` of a blob's hyper-parameters and tables."""
    return abi_string(
        blob.hparams,
        [(t.bits, t.signed) for t in blob.tensors],
        [(lut.bits, lut.signed) for lut in blob.luts],
    )


def blob_abi(blob: Blob) -> int:
    """:func:`abi_id` of a blob: what its header carries and the bitstream must report."""
    return abi_id(
        blob.hparams,
        [(t.bits, t.signed) for t in blob.tensors],
        [(lut.bits, lut.signed) for lut in blob.luts],
    )
