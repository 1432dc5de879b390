"""Golden vectors: the committed cases reproduce, and the text format round-trips."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from qtdeploy.model import reference
from qtdeploy.model.evaluate import quantised_inputs
from qtdeploy.model.intmodel import load
from qtdeploy.model.vectors import (
    check_host_vectors,
    check_vectors,
    read_tensor,
    write_tensor,
    write_vectors,
)
from qtdeploy.paths import protocol_dir

CASES = sorted(p.parent for p in (protocol_dir() / "vectors" / "model").glob("*/index.json"))
EXPECTED = {"w6_d64_b8", "w12_d64_b6", "w12_d32_b4", "w12_d32_b2", "w12_d32_b5"}
#: cases that pin the host scaling too: model/ cases exported with a host.json, and host/ cases
#: (shapes the engines' shape-named cases do not cover, e.g. horizon 3)
HOST_DIR = protocol_dir() / "vectors" / "host"
HOST_CASES = [c for c in CASES if (c / "host.json").is_file()] + sorted(
    p.parent for p in HOST_DIR.glob("*/host.json")
)


def test_all_committed_cases_are_there() -> None:
    assert EXPECTED <= {c.name for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_reference_reproduces_committed_vectors(case: Path) -> None:
    bad = check_vectors(case)
    assert not any(bad.values()), {k: v for k, v in bad.items() if v}
    index = json.loads((case / "index.json").read_text())
    assert [t["name"] for t in index["tensors"]] == reference.vector_names(index["config"]["layers"])


def test_window_relative_cases_carry_host_vectors() -> None:
    named = {
        "w12_d32_b4",
        "w12_d32_b8_h3",
        "w12_d32_b8_rms",
        "w12_d32_b8_season_h3",
        "w12_d32_b8_season12_h3",
        "w12_d32_b8_season24_h3",
        "w12_d32_b4_seasondiff24_h3",
    }
    assert named <= {c.name for c in HOST_CASES}
    schemes = {c.name: json.loads((c / "host.json").read_text())["scheme"] for c in HOST_CASES}
    assert schemes["w12_d32_b8_rms"] == "diff-rms"  # per-window scale: windows calm and lively
    own_season = ("w12_d32_b8_season_h3", "w12_d32_b8_season12_h3", "w12_d32_b8_season24_h3")
    # seasonal naive per step: at horizon 3 and period 4, three different anchors per window; a
    # blob from before the lookback (its inputs read no context)
    assert schemes["w12_d32_b8_season_h3"] == "season"
    lookback = {n: load(HOST_DIR / n / "model.qtb").meta["norm"].get("lookback") for n in own_season}
    assert lookback == {
        "w12_d32_b8_season_h3": None,
        "w12_d32_b8_season12_h3": 12,
        "w12_d32_b8_season24_h3": 24,
    }
    # period 12 at window 12: every input row reads the period before the window (context 24 rows)
    season12 = json.loads((HOST_DIR / "w12_d32_b8_season12_h3" / "host.json").read_text())
    assert (season12["scheme"], len(season12["raw"][0])) == ("season", 24)
    # period 24 at window 12 (session 26): the context is 36 rows, and seasonal naive reads rows
    # before the window: each step's forecast is that row plus the model's deviation
    season24 = json.loads((HOST_DIR / "w12_d32_b8_season24_h3" / "host.json").read_text())
    assert (season24["scheme"], len(season24["raw"][0])) == ("season", 36)
    # "season-diff" (session 27) at period 24, 4 bits: each row's change minus the one a period
    # before needs 37 readings; the forecast is the last reading plus the change a season before
    sdiff = json.loads((HOST_DIR / "w12_d32_b4_seasondiff24_h3" / "host.json").read_text())
    assert (sdiff["scheme"], len(sdiff["raw"][0])) == ("season-diff", 37)
    own = {"w12_d32_b8_rms", "w12_d32_b4_seasondiff24_h3", *own_season}
    assert {s for n, s in schemes.items() if n not in own} == {"last"}
    for case in HOST_CASES:
        assert not any(check_vectors(case).values())  # the integer part too


@pytest.mark.parametrize("case", HOST_CASES, ids=lambda p: p.name)
def test_host_scaling_reproduces_committed_vectors(case: Path) -> None:
    # raw sensor windows -> x.txt exactly, y.txt -> the forecasts in the target's units
    got = check_host_vectors(case)
    assert got["x_mismatch"] == 0 and got["forecast_rel"] < 1e-9, got


def test_host_vectors_catch_a_wrong_anchor(tmp_path: Path) -> None:
    import shutil

    case = tmp_path / "case"
    shutil.copytree(HOST_CASES[0], case)
    doc = json.loads((case / "host.json").read_text())
    doc["forecast"] = [[v + 0.5 for v in row] for row in doc["forecast"]]  # anchored on the wrong level
    (case / "host.json").write_text(json.dumps(doc))
    assert check_host_vectors(case)["forecast_rel"] > 1e-9


def test_text_format_round_trips(tmp_path: Path) -> None:
    a = np.arange(-30, 30).reshape(2, 5, 6)
    write_tensor(tmp_path / "t.txt", "l0.q", a)
    assert (tmp_path / "t.txt").read_text().startswith("# l0.q int8 2,5,6\n-30 -29")
    name, b = read_tensor(tmp_path / "t.txt")
    assert name == "l0.q" and np.array_equal(a, b)


def test_written_vectors_check_clean(tmp_path: Path, trained, tiny_series) -> None:
    from qtdeploy.model import data as D

    res, im = trained
    x = D.make_splits(tiny_series, im.config.window, 1, res.norm)["test"]["x"][:3]
    write_vectors(im, quantised_inputs(im, x), tmp_path)
    assert not any(check_vectors(tmp_path).values())
    # a flipped value is caught
    path = tmp_path / "l0.ctx.txt"
    lines = path.read_text().splitlines()
    first = lines[1].split()
    first[0] = str(int(first[0]) + 1)
    path.write_text("\n".join([lines[0], " ".join(first), *lines[2:]]) + "\n")
    assert check_vectors(tmp_path)["l0.ctx"] == 1
