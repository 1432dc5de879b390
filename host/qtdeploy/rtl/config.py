"""Verilog parameters of rtl/qtd_top.v for a model, and the RTL source list.

The bitstream is specialised to a model's shape and widths (its ABI); weights load at run time.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path

from qtdeploy.errors import CompatibilityError
from qtdeploy.paths import repo_root

SOURCES = ("qtd_top.v", "qtd_spi_slave.v", "qtd_loader.v", "qtd_engine.v", "qtd_ram.v", "qtd_iprog.v")
TOP = "qtd_top"
N_TENSORS_L1 = 54
BRAM_WORD_BITS = 72  # a RAMB36 at its widest (512 x 72): LANES * WB fills it
# qtd_engine's LUTRAM_MEMS bits: memories that can be forced into distributed RAM (LUTs) to free
# block RAM: the X and Y activation buffers, the per-channel bias / multiplier / shift, in.bias
LUTRAM_MEMS = ("x", "y", "bias", "mult", "shift", "inbias")


def rtl_dir() -> Path:
    return repo_root() / "rtl"


def source_paths() -> list[Path]:
    return [rtl_dir() / name for name in SOURCES]


def source_hash() -> str:
    h = hashlib.sha256()
    for p in source_paths():
        h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:16]


def default_lanes(weight_bits: int) -> int:
    """LANES * WB = 72: one RAMB36 word per cycle feeds every lane."""
    return max(1, min(36, BRAM_WORD_BITS // weight_bits))


@dataclass(frozen=True)
class RtlConfig:
    window: int
    features: int
    d_model: int
    ffn: int
    horizon: int
    weight_bits: int
    act_bits: int
    lanes: int
    abi: int
    lutram: int = 0  # LUTRAM_MEMS mask (0: the tools place every memory by size)

    @property
    def key(self) -> str:
        return (
            f"w{self.window}_m{self.features}_d{self.d_model}_f{self.ffn}_h{self.horizon}"
            f"_wb{self.weight_bits}_ab{self.act_bits}_l{self.lanes}_{self.abi:08x}"
            + (f"_r{self.lutram:02x}" if self.lutram else "")
        )

    def weight_words(self) -> int:
        lanes = self.lanes
        g = lambda k: -(-k // lanes)  # noqa: E731
        d, f = self.d_model, self.ffn
        return d * g(self.features) + 4 * d * g(d) + f * g(d) + d * g(f) + self.horizon * g(d)

    def parameters(self) -> dict[str, int | str]:
        waw = max(2, (self.weight_words() - 1).bit_length())
        p: dict[str, int | str] = {
            "T": self.window,
            "M": self.features,
            "D": self.d_model,
            "F": self.ffn,
            "H": self.horizon,
            "WB": self.weight_bits,
            "AB": self.act_bits,
            "LANES": self.lanes,
            "WAW": waw,
            "ABI": f"32'h{self.abi:08X}",
        }
        if self.lutram:
            p["LUTRAM_MEMS"] = self.lutram
        return p

    def to_dict(self) -> dict:
        d = asdict(self)
        if not self.lutram:
            del d["lutram"]
        else:
            d["lutram"] = lutram_names(self.lutram)
        return d


def parse_lutram(text: str | None) -> int:
    """'x,shift' -> the LUTRAM_MEMS mask; None or '' -> 0."""
    mask = 0
    for name in filter(None, (v.strip() for v in (text or "").split(","))):
        if name not in LUTRAM_MEMS:
            raise CompatibilityError(
                f"--lutram {name!r} is not one of the engine's memories.",
                f"Choose from {', '.join(LUTRAM_MEMS)}.",
            )
        mask |= 1 << LUTRAM_MEMS.index(name)
    return mask


def lutram_names(mask: int) -> list[str]:
    return [n for i, n in enumerate(LUTRAM_MEMS) if mask >> i & 1]


def from_blob(blob, lanes: int | None = None, lutram: int = 0) -> RtlConfig:
    """The parameters a blob needs; refuses what this RTL version does not build."""
    hp = blob.hparams
    if hp.layers != 1 or hp.heads != 1:
        raise CompatibilityError(
            f"the RTL builds layers=1, heads=1 models; this one has layers={hp.layers}, heads={hp.heads}.",
            "Export a one-layer, one-head model, or use the MCU engine.",
        )
    if len(blob.tensors) != N_TENSORS_L1:
        raise CompatibilityError(
            f"expected {N_TENSORS_L1} tensors in blob order, found {len(blob.tensors)}.",
            "Export the model with `qtdeploy export`.",
        )
    wbits = {t.bits for t in blob.tensors if t.name.endswith(".weight")}
    abits = {t.bits for t in blob.tensors if t.name.endswith(".range")}
    if len(wbits) != 1 or len(abits) != 1:
        raise CompatibilityError(
            f"mixed widths (weights {sorted(wbits)}, activations {sorted(abits)}) are not "
            "built by this RTL version.",
            "Use one width for weights and one for activations.",
        )
    wb, ab = wbits.pop(), abits.pop()
    return RtlConfig(
        window=hp.window,
        features=hp.features,
        d_model=hp.d_model,
        ffn=hp.ffn,
        horizon=hp.horizon,
        weight_bits=wb,
        act_bits=ab,
        lanes=lanes or default_lanes(wb),
        abi=int(blob.abi),
        lutram=lutram,
    )


def parse_config(text: str) -> tuple[int, int, int]:
    """'W,D,B' -> (window, d_model, bits)."""
    try:
        w, d, b = (int(v) for v in text.split(","))
    except ValueError:
        raise CompatibilityError(f"--config {text!r} is not W,D,B.", "Pass e.g. --config 12,32,4.") from None
    return w, d, b


def vectors_case(window: int, d_model: int, bits: int, ffn: int | None = None) -> Path:
    """The golden-vector case of a shape: ``w{W}_d{D}_b{B}`` at ffn = 4 d (the committed paper cases),
    ``w{W}_d{D}_f{F}_b{B}`` at any other FFN width."""
    name = (
        f"w{window}_d{d_model}_b{bits}"
        if ffn is None or ffn == 4 * d_model
        else f"w{window}_d{d_model}_f{ffn}_b{bits}"
    )
    return repo_root() / "protocol" / "vectors" / "model" / name


def config_for(
    window: int,
    d_model: int,
    bits: int,
    features: int = 4,
    horizon: int = 1,
    lanes: int | None = None,
    ffn: int | None = None,
    lutram: int = 0,
) -> RtlConfig:
    """The RTL config of a committed vector case if there is one, else of the paper's shape
    (4 features, ffn = 4 d unless ``ffn`` says otherwise, horizon 1) with the ABI computed from the
    blob layout."""
    ffn = 4 * d_model if ffn is None else ffn
    if ffn < 1:
        raise CompatibilityError(f"ffn {ffn} is not a width.", "Pass --ffn 1 or more (default 4 x d_model).")
    case = vectors_case(window, d_model, bits, ffn)
    if (case / "model.qtb").is_file():
        from qtdeploy.formats import blob as fmt

        return from_blob(fmt.load(case / "model.qtb"), lanes, lutram)
    return computed_config(
        window, d_model, bits, features=features, horizon=horizon, lanes=lanes, ffn=ffn, lutram=lutram
    )


def computed_config(
    window: int,
    d_model: int,
    bits: int,
    features: int = 4,
    horizon: int = 1,
    lanes: int | None = None,
    ffn: int | None = None,
    lutram: int = 0,
) -> RtlConfig:
    """The config of a uniform-width one-layer model of that shape, the ABI computed from the blob
    layout (no blob needed; tests check it against every committed case's blob)."""
    from qtdeploy.formats.abi import abi_id
    from qtdeploy.formats.blob import HParams

    ffn = 4 * d_model if ffn is None else ffn
    hp = HParams(
        window=window, features=features, d_model=d_model, heads=1, layers=1, ffn=ffn, horizon=horizon
    )
    r, w, i32, u8 = (bits, True), (bits, True), (32, True), (8, False)
    rng = [r] * 14
    rng[6] = rng[10] = (bits, False)
    lin = [w, i32, i32, u8]
    tensors = (
        rng
        + [w, i32, i32, u8]
        + lin * 3
        + [i32, u8, i32, u8]
        + lin
        + [i32, u8]
        + lin * 2
        + [i32, u8, i32, u8, w, i32]
    )
    abi = abi_id(hp, tensor_bits=tensors, lut_bits=[(16, False)])
    return RtlConfig(
        window=window,
        features=features,
        d_model=d_model,
        ffn=ffn,
        horizon=horizon,
        weight_bits=bits,
        act_bits=bits,
        lanes=lanes or default_lanes(bits),
        abi=abi,
        lutram=lutram,
    )
