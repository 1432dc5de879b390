"""`qtdeploy energy plan` (issue 15): configured-and-idle vs power-gated FPGA per forecast period,
checked against the arithmetic done by hand from the board file's facts."""

from __future__ import annotations

import json

import pytest

from qtdeploy.boards import load_board
from qtdeploy.cli.main import main
from qtdeploy.energy import power_model
from qtdeploy.energy.plan import parse_period, plan
from qtdeploy.errors import BoardFileError, CompatibilityError, UsageError

FPGA = ("fpga_vccio", "fpga_vccaux", "fpga_vccint", "fpga_vccbram")


def test_env5_fpga_power_facts_are_the_power_model_s():
    """The board file's [fpga.power] names the power model as its source: they must agree."""
    fp = load_board("env5").fpga.power
    for state, uw in (("idle", fp.idle_uw), ("configuring", fp.configuring_uw), ("loading", fp.loading_uw)):
        assert sum(power_model.power_uw(state)[r] for r in FPGA) == uw, state
    assert "power model" in fp.source


def test_one_forecast_a_minute():
    bf = load_board("env5")
    r = plan(bf, 60.0, load_us=29_400, inference_uj=5.2)
    t_cfg = 538_844 * 8 / (4 * 50e6)  # s, UG470 length at the configuration clock x bus width (SPI x4)
    switch_uj = 25_300 * 0.050 + 62_400 * t_cfg + 57_000 * 0.0294  # uW x s
    assert r["power_gated"]["switch_uj"] == pytest.approx(switch_uj, rel=1e-4)
    assert r["configured"]["energy_per_forecast_uj"] == pytest.approx(25_300 * 60 + 5.2)
    assert r["power_gated"]["energy_per_forecast_uj"] == pytest.approx(switch_uj + 5.2, rel=1e-4)
    assert r["configured"]["average_mw"] == pytest.approx(25.3, rel=1e-3)
    assert r["winner"] == "power_gated"
    assert r["crossover_s"] == pytest.approx(switch_uj / 25_300, rel=1e-4)
    # just below the crossover the configured FPGA wins, just above power-gating does
    below = plan(bf, r["crossover_s"] * 0.99, load_us=29_400, inference_uj=5.2)
    above = plan(bf, r["crossover_s"] * 1.01, load_us=29_400, inference_uj=5.2)
    assert (below["winner"], above["winner"]) == ("configured", "power_gated")


def test_a_measured_idle_power_replaces_the_board_file_s():
    r = plan(load_board("env5"), 3600.0, idle_uw=30_000, idle_source="measured by `energy bench`")
    assert r["inputs"]["idle_mw"] == 30.0 and "measured" in r["inputs"]["idle_source"]
    assert r["configured"]["energy_per_forecast_uj"] == pytest.approx(30_000 * 3600)


def test_a_period_shorter_than_one_configuration_is_refused():
    with pytest.raises(UsageError, match="not longer than one power-up"):
        plan(load_board("env5"), 0.05)  # power-up (50 ms) + configuration (~22 ms) take longer
    for bad in ("soon", "-5s", "0"):
        with pytest.raises(UsageError):
            parse_period(bad)
    assert parse_period("250ms") == 0.25 and parse_period("1h") == 3600 and parse_period("2") == 2


def test_a_board_file_without_fpga_power_is_refused(tmp_path):
    path = tmp_path / "nopower.toml"
    path.write_text('extends = "env5"\nid = "nopower"\nunset = ["fpga.power"]\n')
    with pytest.raises(CompatibilityError, match=r"\[fpga.power\]"):
        plan(load_board(path), 60.0)


def test_rail_domain_is_checked(tmp_path):
    path = tmp_path / "baddomain.toml"
    body = (
        'extends = "env5"\nid = "bd"\n[[power.monitors]]\nname = "m"\npart = "PAC1934"\ni2c_address = 0x10\n'
    )
    body += '[[power.rails]]\nname = "r"\nmonitor = "m"\nchannel = 1\nnominal_mv = 3300\nshunt_milliohm = 820\ndomain = "gpu"\n'
    path.write_text(body)
    with pytest.raises(BoardFileError, match="domain"):
        load_board(path)
    assert [r.name for r in load_board("virtual").rails if r.domain == "fpga"] == list(FPGA)


def test_cli_plan(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("QTDEPLOY_CACHE", str(tmp_path))  # no cached bench: the board file's figures
    assert main(["energy", "plan", "--period", "60s", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["board"] == "env5" and r["winner"] == "power_gated" and r["origin"] == "modelled"
    assert main(["energy", "plan", "--period", "50ms"]) == 2
    assert "71.6 ms" in capsys.readouterr().err
