"""The virtual board's power model has one copy, the board file's (rails' sim_ua, [power.sim]):
protocol/power.md §3 shows it (checked here, cell by cell), firmware/tools/board_header.py compiles
it into power_model.c (tests/firmware/test_pac193x.py, tests/e2e/test_power.py measure the result),
and qtdeploy.energy.power_model predicts from it. A bad model in a board file is refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qtdeploy.boards import SIM_STATES, load_board
from qtdeploy.energy import power_model
from qtdeploy.errors import BoardFileError
from qtdeploy.paths import repo_root

ENV5 = repo_root() / "boards" / "env5.toml"


def _doc_table() -> dict[str, list[str]]:
    text = (repo_root() / "protocol" / "power.md").read_text()
    section = text[text.index("## 3.") : text.index("## 4.")]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 7 and not set(cells[0]) <= set("-") and cells[0] != "rail (V)":
            rows[cells[0]] = cells[1:]
    return rows


def test_power_md_table_is_the_board_file_s():
    board = load_board("env5")
    rows = _doc_table()
    modelled = [r for r in board.rails if r.sim_ua is not None]
    assert len(modelled) == 7
    for rail in modelled:
        key = f"{rail.name} ({rail.nominal_mv / 1000:.1f})"
        assert key in rows, (key, list(rows))
        ma = [float(re.sub(r"[^\d.]", "", c)) for c in rows[key][: len(SIM_STATES)]]
        assert ma == [ua / 1000 for ua in rail.sim_ua], rail.name
    fpga = [r.name for r in board.rails if r.domain == "fpga"]
    total = [float(re.sub(r"[^\d.]", "", c)) for c in rows["FPGA total"][: len(SIM_STATES)]]
    assert total == [
        round(sum(power_model.power_uw(s, board)[r] for r in fpga) / 1000, 1) for s in SIM_STATES
    ]


def test_upstream_rail_is_the_others_through_the_regulators():
    board = load_board("virtual")
    for state in SIM_STATES:
        p = power_model.power_uw(state, board)
        down = sum(v for k, v in p.items() if k != "usb_raw")
        assert p["usb_raw"] == pytest.approx(down / 0.85, rel=1e-3), state
    assert set(power_model.sources(board)) == {r.name for r in board.rails}
    assert "paper" in power_model.sources(board)["fpga_vccint"]


def _variant(tmp_path: Path, old: str, new: str) -> Path:
    text = ENV5.read_text()
    assert old in text, old
    path = tmp_path / "board.toml"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    "old, new, says",
    [
        (
            "upstream = true\n",
            "upstream = true\nsim_ua = { idle = 1, configuring = 1, loading = 1, "
            "inferring = 1, mcu_inferring = 1 }\n",
            "derived",
        ),
        (
            "sim_ua = { idle = 2000, configuring = 2000, loading = 2000, inferring = 2000, mcu_inferring = 2000 }\n",
            "",
            "has no sim_ua",
        ),
        ("mcu_inferring = 2000 }", "mcu_infering = 2000 }", "missing key"),
        ("idle = 18000,", "idle = -1,", "outside"),
        ("[power.sim]\nregulator_efficiency_pct = 85\n", "", "no [power.sim]"),
        ("regulator_efficiency_pct = 85", "regulator_efficiency_pct = 185", "1..100"),
        ('sim_source = "assumption (radio off: 0)"\n', "", "no sim_source"),
    ],
)
def test_a_bad_power_model_is_refused(tmp_path, old, new, says):
    with pytest.raises(BoardFileError) as err:
        load_board(_variant(tmp_path, old, new))
    assert says in str(err.value) + err.value.fix, str(err.value)


def test_a_board_without_a_model_cannot_predict(tmp_path):
    text = ENV5.read_text()
    text = re.sub(r"\[power\.sim\]\nregulator_efficiency_pct = 85\n", "", text)
    text = re.sub(r"sim_ua = \{[^}]*\}\n|sim_source = \"[^\"]*\"\n", "", text)
    path = tmp_path / "plain.toml"
    path.write_text(text)
    board = load_board(path)
    assert board.power_sim is None and all(r.sim_ua is None for r in board.rails)
    with pytest.raises(BoardFileError, match="no power model"):
        power_model.power_uw("idle", board)
