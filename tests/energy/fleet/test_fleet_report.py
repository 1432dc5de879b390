"""`energy report --from`: per board and fleet figures equal the directory reports they add up,
filters by board and time, and text, --json and --png outputs."""

from __future__ import annotations

import json

import pytest

from qtdeploy.cli.main import main
from qtdeploy.energy.report import report
from support.fleet_helpers import make_log

pytestmark = pytest.mark.timeout(180)
DAY = 86400.0


@pytest.fixture(scope="module")
def fleet(tmp_path_factory, pg_server):
    """Three logs of two boards, pushed: node-a has two (days apart), node-b one with a gap."""
    root = tmp_path_factory.mktemp("fleet")
    url = pg_server.create_database("fleet_report")
    logs = {
        "a1": ("node-a", make_log(root / "a1", seconds=40, start=1_800_000_000.0)),
        "a2": ("node-a", make_log(root / "a2", seconds=40, start=1_800_000_000.0 + 3 * DAY)),
        "b1": (
            "node-b",
            make_log(root / "b1", seconds=40, start=1_800_000_000.0 + DAY, lose_at=(700,), down_s=2),
        ),
    }
    for name, (board, _) in logs.items():
        assert main(["energy", "push", str(root / name), "--to", url, "--board", board, "--json"]) == 0
    return url, root, logs


def test_per_board_and_fleet_figures_add_up_the_directory_reports(fleet, capsys):
    url, root, logs = fleet
    capsys.readouterr()
    assert main(["energy", "report", "--from", url, "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    local = {name: report(root / name) for name in logs}
    assert r["origin"] == "simulated" and set(r["boards"]) == {"node-a", "node-b"}
    a, b, f = r["boards"]["node-a"], r["boards"]["node-b"], r["fleet"]
    for rail in local["a1"]["rails"]:
        want_a = local["a1"]["rails"][rail]["energy_mj"] + local["a2"]["rails"][rail]["energy_mj"]
        assert a["rails_energy_mj"][rail] == pytest.approx(want_a, rel=1e-9)
        assert f["rails_energy_mj"][rail] == pytest.approx(
            want_a + local["b1"]["rails"][rail]["energy_mj"], rel=1e-9
        )
    assert b["gaps"] == {k: local["b1"]["gaps"][k] for k in ("count", "seconds")} and b["gaps"]["count"] == 1
    assert a["samples"] == len(logs["a1"][1].samples) + len(logs["a2"][1].samples)
    n_inf = sum(local[n]["inferences"]["count"] for n in logs)
    assert f["inferences"]["count"] == n_inf > 0 and f["logs"] == 3 and f["boards"] == 2
    assert sum(p["count"] for p in f["inferences"]["over_time"]) == n_inf
    assert r["bucket_s"] == DAY, "three days of logs: daily buckets"
    assert len(a["inferences"]["over_time"]) == 2, "node-a logged on two days"


def test_board_and_since_filters(fleet, capsys):
    url, root, logs = fleet
    capsys.readouterr()
    assert main(["energy", "report", "--from", url, "--board", "node-b", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert list(r["boards"]) == ["node-b"] and r["fleet"]["samples"] == len(logs["b1"][1].samples)
    assert main(["energy", "report", "--from", url, "--since", "2027-01-17T12:00", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)  # 2027-01-17T12:00Z is between b1 (day 1) and a2 (day 3)
    assert r["fleet"]["samples"] == len(logs["a2"][1].samples)
    assert (
        main(["energy", "report", "--from", url, "--since", "36500d", "--json"]) == 0
    )  # a duration back from now
    assert json.loads(capsys.readouterr().out)["fleet"]["samples"] == sum(
        len(d.samples) for _, d in logs.values()
    )
    assert main(["energy", "report", "--from", url, "--board", "nobody"]) == 8
    assert "node-a, node-b" in capsys.readouterr().err


def test_text_and_png(fleet, tmp_path, capsys):
    url, _, _ = fleet
    capsys.readouterr()
    png = tmp_path / "fleet.png"
    assert main(["energy", "report", "--from", url, "--png", str(png)]) == 0
    out = capsys.readouterr().out
    assert "SIMULATED fleet energy" in out and "node-a" in out and "node-b" in out and "fleet" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
