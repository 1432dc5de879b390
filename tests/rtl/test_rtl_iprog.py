"""rtl/qtd_iprog.v (MultiBoot IPROG through ICAPE2) in Verilator, against UG470 Table 7-1."""

from __future__ import annotations

import sys

from qtdeploy.paths import repo_root
from qtdeploy.rtl import config, sim


def test_iprog_writes_ug470_sequence(tmp_path):
    from cocotb_tools.runner import get_results, get_runner

    sim._env_with_verilator()
    src = config.rtl_dir() / "qtd_iprog.v"
    build_dir = sim.cache_dir() / "sim" / f"qtd_iprog-{config.source_hash()}"
    runner = get_runner("verilator")
    runner.build(sources=[str(src)], hdl_toplevel="qtd_iprog", build_dir=str(build_dir), timescale=("1ns", "1ps"),
                 build_args=["-Wno-fatal"], always=False, log_file=str(build_dir / "build.log"))
    tests_dir = str(repo_root() / "tests" / "rtl")
    if tests_dir not in sys.path:
        sys.path.insert(0, tests_dir)
    xml = runner.test(test_module="tb_qtd_iprog", hdl_toplevel="qtd_iprog", build_dir=str(build_dir),
                      test_dir=str(tmp_path), results_xml=str(tmp_path / "results.xml"), log_file=str(tmp_path / "sim.log"))
    _, failed = get_results(xml)
    assert failed == 0, (tmp_path / "sim.log").read_text()[-3000:]
