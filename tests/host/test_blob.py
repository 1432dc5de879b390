"""Whole blobs: round trips, the ABI id, atomic save, and pack/inspect through the CLI."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qtdeploy.cli.main import main
from qtdeploy.errors import FormatError
from qtdeploy.formats import blob as fmt
from qtdeploy.formats.abi import HParams, abi_id, abi_string
from qtdeploy.formats.packing import value_range

WIDTHS = (2, 4, 6, 8, 16, 32)


def load_generator(root: Path):
    from support.scripts import load_script

    return load_script(root / "examples" / "demo-model" / "generate.py", "demo_generate")


@st.composite
def items(draw: st.DrawFn, index: int, lut: bool) -> fmt.Tensor | fmt.Lut:
    bits, signed = draw(st.sampled_from(WIDTHS)), draw(st.booleans())
    lo, hi = value_range(bits, signed)
    shape = (draw(st.integers(1, 40)),) if lut else tuple(draw(st.lists(st.integers(1, 5), max_size=4)))
    size = int(np.prod(shape))
    data = np.array(
        draw(st.lists(st.integers(lo, hi), min_size=size, max_size=size)), dtype=np.int64
    ).reshape(shape)
    name = (
        f"{'lut' if lut else 'l0.t'}{index}.{draw(st.sampled_from(['weight', 'bias', 'mult', 'shift', 'x']))}"
    )
    if lut:
        return fmt.Lut(name, data, bits, signed)
    zp = draw(st.integers(max(lo, -(2**31)), min(hi, 2**31 - 1)))  # the zero-point field is int32
    return fmt.Tensor(
        name,
        data,
        bits,
        signed,
        zero_point=zp,
        multiplier=draw(st.integers(-(2**31), 2**31 - 1)),
        shift=draw(st.integers(-32, 63)),
    )


@st.composite
def blobs(draw: st.DrawFn) -> fmt.Blob:
    heads = draw(st.integers(1, 4))
    hp = HParams(
        window=draw(st.integers(1, 64)),
        features=draw(st.integers(1, 3)),
        d_model=heads * draw(st.integers(1, 16)),
        heads=heads,
        layers=draw(st.integers(1, 4)),
        ffn=draw(st.integers(1, 65535)),
        horizon=draw(st.integers(1, 24)),
    )
    tensors = [draw(items(i, False)) for i in range(draw(st.integers(0, 6)))]
    luts = [draw(items(i, True)) for i in range(draw(st.integers(0, 3)))]
    scalar = st.one_of(
        st.integers(-(2**53), 2**53), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8)
    )
    meta = draw(
        st.dictionaries(st.text(max_size=8), st.one_of(scalar, st.lists(scalar, max_size=3)), max_size=4)
    )
    return fmt.Blob(hp, tensors, luts, meta)


def assert_same(a: fmt.Blob, b: fmt.Blob) -> None:
    assert a.hparams == b.hparams and a.meta == b.meta and a.abi == b.abi
    assert len(a.tensors) == len(b.tensors) and len(a.luts) == len(b.luts)
    for x, y in zip([*a.tensors, *a.luts], [*b.tensors, *b.luts]):
        assert (x.name, x.bits, x.signed) == (y.name, y.bits, y.signed)
        assert np.asarray(x.data).shape == y.data.shape and np.array_equal(x.data, y.data)
        if isinstance(x, fmt.Tensor):
            assert (x.zero_point, x.multiplier, x.shift) == (y.zero_point, y.multiplier, y.shift)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blobs())
def test_blob_round_trip(blob: fmt.Blob) -> None:
    data = fmt.pack(blob)
    assert len(data) % 4 == 0 and fmt.looks_like_blob(data)
    back = fmt.unpack(data)
    assert_same(blob, back)
    assert fmt.pack(back) == data  # one model, one encoding
    assert hashlib.sha256(data[128:]).digest() == data[0x18:0x38]


def test_abi_matches_the_spec_and_sha256sum() -> None:
    hp = HParams(12, 1, 32, 1, 1, 128, 1)
    widths = [(4, True), (32, True), (32, True), (8, False)]
    text = abi_string(hp, widths, [(16, False)])
    assert text == (
        "qtdeploy-abi/1|window=12|features=1|d_model=32|heads=1|layers=1|ffn=128|horizon=1"
        "|tensors=4s,32s,32s,8u|luts=16u"
    )
    assert (
        abi_id(hp, widths, [(16, False)])
        == int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)
        == 0x74F61C3B
    )


def test_abi_depends_on_shape_widths_and_order_not_values() -> None:
    hp = HParams(12, 1, 32, 1, 1, 128, 1)
    base = abi_id(hp, [(4, True), (32, True)])
    assert abi_id(HParams(12, 1, 32, 1, 2, 128, 1), [(4, True), (32, True)]) != base
    assert abi_id(hp, [(6, True), (32, True)]) != base
    assert abi_id(hp, [(4, False), (32, True)]) != base
    assert abi_id(hp, [(32, True), (4, True)]) != base
    one = fmt.Blob(hp, [fmt.Tensor("w", np.array([1, 2]), 4, True)])
    two = fmt.Blob(hp, [fmt.Tensor("other", np.array([[-3]]), 4, True, multiplier=7)])
    assert one.abi == two.abi


def test_save_is_atomic_and_load_reads_back(tmp_path: Path) -> None:
    hp = HParams(4, 1, 8, 2, 1, 16, 1)
    good = fmt.Blob(hp, [fmt.Tensor("w", np.arange(-2, 2), 3, True)], meta={"model_name": "m"})
    out = tmp_path / "m.qtb"
    data = fmt.save(good, out)
    assert out.read_bytes() == data and fmt.load(out).meta == {"model_name": "m"}
    bad = fmt.Blob(hp, [fmt.Tensor("w", np.array([9]), 3, True)])
    with pytest.raises(FormatError, match="outside the signed 3-bit range"):
        fmt.save(bad, out)
    assert out.read_bytes() == data  # the old file is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.qtb"]  # no temp file left


@pytest.mark.parametrize("bits", [2, 4, 6, 8])
def test_pack_and_inspect_json_round_trip_through_the_cli(
    bits: int, root: Path, tmp_path: Path, capsys
) -> None:
    source = load_generator(root).write_demo(tmp_path / "demo", bits)
    out = tmp_path / f"demo{bits}.qtb"
    assert main(["pack", str(source), "--out", str(out), "--json"]) == 0
    packed = json.loads(capsys.readouterr().out)
    assert main(["inspect", str(out), "--json"]) == 0
    inspected = json.loads(capsys.readouterr().out)
    assert packed == inspected and inspected["verified"] is True
    assert inspected["hparams"] == {
        "window": 12,
        "features": 1,
        "d_model": 32,
        "heads": 1,
        "layers": 1,
        "ffn": 128,
        "horizon": 1,
    }
    weights = [t for t in inspected["tensors"] if t["name"].endswith(".weight")]
    assert weights and all(t["bits"] == bits and t["signed"] for t in weights)
    blob = fmt.load(out)
    for t in [*blob.tensors, *blob.luts]:
        assert np.array_equal(np.load(source / f"{t.name}.npy"), t.data), t.name
    assert blob.meta["created_by"].startswith("qtdeploy ") and blob.meta["features"] == ["load_kw"]


def test_committed_demo_packs_at_4_bits_and_renders(root: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "demo.qtb"
    assert main(["pack", str(root / "examples" / "demo-model"), "--out", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert main(["inspect", str(out)]) == 0
    text = capsys.readouterr().out
    for needle in ("ABI", "l0.q.weight", "l0.exp_lut", "verified", "load_kw"):
        assert needle in text


def test_npz_source_with_desc(root: Path, tmp_path: Path, capsys) -> None:
    source = load_generator(root).write_demo(tmp_path / "demo", 4)
    npz = tmp_path / "weights.npz"
    np.savez(npz, **{p.stem: np.load(p) for p in source.glob("*.npy")})
    out = tmp_path / "npz.qtb"
    assert main(["pack", str(npz), "--desc", str(source / "model.toml"), "--out", str(out)]) == 0
    direct = tmp_path / "dir.qtb"
    assert main(["pack", str(source), "--out", str(direct)]) == 0
    assert out.read_bytes() == direct.read_bytes()


def test_zero_point_outside_int32_is_refused_not_crashed() -> None:
    """Found by the round-trip property: an unsigned 32-bit tensor allows zero points the int32 field cannot hold."""
    t = fmt.Tensor("l0.t0.weight", np.array([0]), 32, False, zero_point=2**31)
    blob = fmt.Blob(fmt.HParams(1, 1, 1, 1, 1, 1, 1), [t], [], {})
    with pytest.raises(FormatError, match="zero_point"):
        fmt.pack(blob)
