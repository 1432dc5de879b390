"""rtl/qtd_iprog.v (MultiBoot IPROG through ICAPE2) in Verilator, against UG470 Table 7-1."""

from __future__ import annotations

import pytest

from qtdeploy.rtl import config, sim


def test_iprog_writes_ug470_sequence(tmp_path):
    from cocotb_tools.runner import get_results, get_runner

    sim._env_with_verilator()
    src = config.rtl_dir() / "qtd_iprog.v"
    build_dir = (
        sim.cache_dir() / "sim" / f"qtd_iprog-{config.source_hash()}-{sim._install_key()}"
    )  # see rtl.sim.build
    runner = get_runner("verilator")
    runner.build(
        sources=[str(src)],
        hdl_toplevel="qtd_iprog",
        build_dir=str(build_dir),
        timescale=("1ns", "1ps"),
        build_args=["-Wno-fatal"],
        always=False,
        log_file=str(build_dir / "build.log"),
    )
    xml = runner.test(
        test_module="tb_qtd_iprog",
        hdl_toplevel="qtd_iprog",
        build_dir=str(build_dir),
        test_dir=str(tmp_path),
        results_xml=str(tmp_path / "results.xml"),
        log_file=str(tmp_path / "sim.log"),
    )
    _, failed = get_results(xml)
    assert failed == 0, (tmp_path / "sim.log").read_text()[-3000:]


@pytest.mark.slow
def test_yosys_maps_the_icape2_primitive(tmp_path):
    """Outside Verilator the sequencer instantiates the real ICAPE2 (Yosys keeps it as a cell)."""
    import shutil
    import subprocess

    from qtdeploy.rtl import synth

    shutil.copyfile(config.rtl_dir() / "qtd_iprog.v", tmp_path / "qtd_iprog.v")
    (tmp_path / "ip.ys").write_text(
        "read_verilog -lib +/xilinx/cells_xtra.v\nread_verilog qtd_iprog.v\n"
        "synth_xilinx -family xc7 -top qtd_iprog\ntee -o stat.txt stat\n"
    )
    proc = subprocess.run(
        [*synth.yosys_bin(), "-q", "-s", "ip.ys"], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    stat = (tmp_path / "stat.txt").read_text()
    assert "ICAPE2" in stat and "FDRE" in stat, stat
