"""The MCU engine's modelled CPU time (qtdeploy.energy.mcu_model) is a record of bench/mcu_kernel.py's
Cortex-M0+ count: re-count (12,32,4) in the unicorn emulator and compare, so a kernel change that
moves the count fails here instead of leaving a stale model behind."""

from __future__ import annotations

import json

from qtdeploy.energy import mcu_model
from qtdeploy.paths import repo_root


def test_every_paper_config_has_a_record():
    for case in ("w6_d64_b8", "w12_d64_b6", "w12_d32_b4"):
        cfg = json.loads((repo_root() / "protocol/vectors/model" / case / "index.json").read_text())["config"]
        cost = mcu_model.kernel_cost(cfg)
        assert cost is not None and cost["cycles"] > cost["instructions"] > 0, case
        assert mcu_model.load_cost(cfg)["seconds"] > 0
    assert mcu_model.kernel_cost({"window": 3}) is None  # an incomplete config: no model, no guess


def test_record_matches_a_live_count(m0_bench):
    mod, image, syms = m0_bench
    r = mod.measure("w12_d32_b4", image, syms)
    cfg = json.loads((repo_root() / "protocol/vectors/model/w12_d32_b4/index.json").read_text())["config"]
    assert (r["instructions"], r["cycles"]) == mcu_model.RECORDED[mcu_model.key(cfg)]
