"""The memory lower bound (qtdeploy.rtl.memory) against the blobs' own tensor tables."""

from __future__ import annotations

import pytest

from qtdeploy.formats import blob as fmt
from qtdeploy.rtl import config, memory

# (W, D, B) at ffn = 4 d, or (W, D, B, ffn)
CASES = [(12, 32, 4), (6, 64, 8), (12, 64, 6), (12, 32, 2), (12, 32, 5), (6, 64, 8, 64), (12, 64, 6, 64)]


@pytest.mark.parametrize("wdb", CASES, ids=lambda c: config.vectors_case(*c).name)
def test_content_bits_match_the_blob(wdb):
    blob = fmt.load(config.vectors_case(*wdb) / "model.qtb")
    bits = memory.content_bits(config.from_blob(blob))
    size = {t.name: t.data.size * t.bits for t in blob.tensors}
    assert bits["weights"] == sum(v for k, v in size.items() if k.endswith(".weight"))
    assert bits["in_bias"] == size["in.bias"]
    linears = ["in"] + [f"l0.{n}" for n in ("q", "k", "v", "o", "ffn1", "ffn2")] + ["head"]
    per_channel = [
        f"{n}.{p}"
        for n in linears
        for p in ("bias", "mult", "shift")
        if f"{n}.{p}" in size and f"{n}.{p}" != "in.bias"
    ]
    assert bits["per_channel"] == sum(size[k] for k in per_channel)


def test_paper_d64_configs_exceed_the_block_ram_at_any_packing():
    # why (6,64,8) and (12,64,6) do not fit the XC7S15 with run-time-loaded weights (rtl/README.md)
    b8 = memory.budget(config.config_for(6, 64, 8))
    b6 = memory.budget(config.config_for(12, 64, 6))
    b4 = memory.budget(config.config_for(12, 32, 4))
    assert b8["weights_share_of_bram"] > 1.0 and not b8["bound_fits_bram"]
    assert b6["weights_share_of_bram"] < 1.0 and not b6["bound_fits_bram"]
    assert b4["bound_fits_bram"] and b4["total_share_of_bram"] < 0.3


def test_d64_configs_at_ffn_d_model_fit_the_block_ram_bound():
    # the paper leaves the FFN width open; at ffn = d_model the contents are 72 % / 65 % (rtl/README.md)
    b8 = memory.budget(config.config_for(6, 64, 8, ffn=64))
    b6 = memory.budget(config.config_for(12, 64, 6, ffn=64))
    assert b8["total_bits"] == 263_848 and b6["total_bits"] == 238_752
    assert b8["bound_fits_bram"] and b6["bound_fits_bram"]
    assert memory.budget(config.config_for(6, 64, 8, ffn=128))["total_share_of_bram"] < 0.92
