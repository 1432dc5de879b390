"""`qtdeploy rtl report --ffn`: configs at FFN widths other than the paper cases' 4 x d_model.

The paper does not state its FFN width; the committed cases use 4 d, the ``w{W}_d{D}_f{F}_b{B}``
cases d_model. The ABI that config_for computes without a blob must equal every committed blob's."""

from __future__ import annotations

import json

import pytest

from qtdeploy.cli.main import main
from qtdeploy.formats import blob as fmt
from qtdeploy.paths import repo_root
from qtdeploy.rtl import config

VECTORS = repo_root() / "protocol" / "vectors" / "model"
CASES = sorted(p.name for p in VECTORS.iterdir() if (p / "model.qtb").is_file())


def _uniform_bits(b) -> int:
    (bits,) = {t.bits for t in b.tensors if t.name.endswith(".weight")}
    return bits


@pytest.mark.parametrize("case", CASES)
def test_computed_abi_and_case_name_match_the_blob(case):
    b = fmt.load(VECTORS / case / "model.qtb")
    hp, bits = b.hparams, _uniform_bits(b)
    computed = config.computed_config(
        hp.window, hp.d_model, bits, features=hp.features, horizon=hp.horizon, ffn=hp.ffn
    )
    assert computed == config.from_blob(b)
    assert config.vectors_case(hp.window, hp.d_model, bits, hp.ffn).name == case
    assert config.config_for(hp.window, hp.d_model, bits, ffn=hp.ffn) == computed


def test_ffn_cases_present():
    assert {"w6_d64_f64_b8", "w12_d64_f64_b6"} <= set(CASES)


def test_default_ffn_is_four_d_model():
    assert config.config_for(6, 64, 8) == config.config_for(6, 64, 8, ffn=256)
    assert config.vectors_case(6, 64, 8, 256) == config.vectors_case(6, 64, 8)
    assert config.config_for(6, 64, 8, ffn=64).ffn == 64
    # no blob for this width: the shape and ABI are computed
    c = config.config_for(12, 64, 6, ffn=128)
    assert c.ffn == 128 and c.abi not in (
        config.config_for(12, 64, 6).abi,
        config.config_for(12, 64, 6, ffn=64).abi,
    )


def test_report_cli_takes_ffn(capsys):
    assert (
        main(["rtl", "report", "--config", "6,64,8", "--ffn", "64", "--no-synth", "--no-sim", "--json"]) == 0
    )
    r = json.loads(capsys.readouterr().out)
    assert r["rtl"]["ffn"] == 64 and r["abi"] == f"{config.config_for(6, 64, 8, ffn=64).abi:#010x}"
    assert r["memory"]["total_bits"] == 263_848 and r["memory"]["bound_fits_bram"]
    assert main(["rtl", "report", "--config", "6,64,8", "--ffn", "64", "--no-synth", "--no-sim"]) == 0
    assert "d_model 64, ffn 64, 8 bit" in capsys.readouterr().out
    assert main(["rtl", "report", "--config", "6,64,8", "--no-synth", "--no-sim", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["rtl"]["ffn"] == 256 and r["memory"]["total_bits"] == 483_496


def test_report_refuses_a_zero_ffn():
    assert main(["rtl", "report", "--config", "6,64,8", "--ffn", "0", "--no-synth", "--no-sim"]) != 0


def test_lutram_option_parses_and_reaches_the_parameters():
    assert config.parse_lutram(None) == config.parse_lutram("") == 0
    assert config.parse_lutram("x") == 1 and config.parse_lutram("shift, mult") == 0b11000
    assert config.parse_lutram(",".join(config.LUTRAM_MEMS)) == 63
    with pytest.raises(Exception, match="not one of"):
        config.parse_lutram("weights")
    plain = config.config_for(6, 64, 8, ffn=64)
    lut = config.config_for(6, 64, 8, ffn=64, lutram=1)
    # nothing changes for configs that do not ask: same parameters, cache keys and report fields
    assert "LUTRAM_MEMS" not in plain.parameters() and "lutram" not in plain.to_dict()
    assert lut.parameters()["LUTRAM_MEMS"] == 1 and lut.to_dict()["lutram"] == ["x"]
    assert lut.key == plain.key + "_r01" and lut.abi == plain.abi


def test_vivado_passes_lutram_to_the_board_top(tmp_path):
    qtb = VECTORS / "w6_d64_f64_b8" / "model.qtb"
    assert (
        main(["rtl", "vivado", "--blob", str(qtb), "--lanes", "8", "--lutram", "x", "--out", str(tmp_path)])
        == 0
    )
    tcl = (tmp_path / "build.tcl").read_text()
    assert " LANES=8 " in tcl and " LUTRAM_MEMS=1 " in tcl
    abi = config.config_for(6, 64, 8, ffn=64).abi
    assert (
        main(
            [
                "rtl",
                "vivado",
                "--config",
                "6,64,8",
                "--ffn",
                "64",
                "--lanes",
                "8",
                "--lutram",
                "x",
                "--out",
                str(tmp_path / "c"),
            ]
        )
        == 0
    )
    assert (tmp_path / "c" / "build.tcl").read_text() == tcl.replace(str(tmp_path), str(tmp_path / "c"))
    assert f"USR_ACCESS 0x{abi:08X}" in (tmp_path / "c" / "env5.xdc").read_text()
    assert "parameter integer LUTRAM_MEMS" in (config.rtl_dir() / "qtd_board.v").read_text()


@pytest.mark.slow
def test_w6_d64_f64_b8_fits_with_the_x_buffer_in_lutram(tmp_path, capsys):
    """The (6,64,8) paper config at ffn = d_model: 8 lanes (same cycles as 9: ceil(64/8) = ceil(64/9)),
    the X activation buffer in distributed RAM; Yosys counts inside the XC7S15, simulated bit-exact."""
    assert (
        main(
            ["rtl", "report", "--config", "6,64,8", "--ffn", "64", "--lanes", "8", "--lutram", "x", "--json"]
        )
        == 0
    )
    r = json.loads(capsys.readouterr().out)
    assert r["fits"], r["resources"]
    assert r["cycles"] == 20_084 and r["speedup_vs_paper"] > 10
