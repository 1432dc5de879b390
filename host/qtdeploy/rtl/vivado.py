"""`qtdeploy rtl vivado`: a Vivado project script (TCL) and constraints (XDC) for the real bitstream.

No Vivado runs here; the files are generated and checked for completeness (tests/rtl). The ABI
goes in twice from one number: the `ABI` generic of qtd_board and BITSTREAM.CONFIG.USR_ACCESS.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from qtdeploy.boards import Board, load_board
from qtdeploy.rtl.config import RtlConfig, source_paths

BOARD_SOURCES = ("qtd_board.v",)
PORTS = ("clk", "spi_sclk", "spi_cs_n", "spi_mosi", "spi_miso", "irq")


def _config_lines(board: Board) -> list[str]:
    """How the FPGA boots on this board: the bitstream options must match the board's wiring."""
    fpga = board.fpga
    lines = [
        f"set_property BITSTREAM.CONFIG.SPI_BUSWIDTH {fpga.config_bus_width} [current_design]",
        # CONFIGRATE is in MHz (UG908 "Configuration Rate"): the board file's config clock
        f"set_property BITSTREAM.CONFIG.CONFIGRATE {fpga.config_clock_hz // 1_000_000} [current_design]",
        "set_property BITSTREAM.GENERAL.COMPRESS %s [current_design]"
        % ("TRUE" if fpga.bitstream_compressed else "FALSE"),
    ]
    if fpga.config_bus_width > 1:
        lines.append(f"set_property CONFIG_MODE SPIx{fpga.config_bus_width} [current_design]")
    if fpga.config_voltage_mv is not None:
        lines.append(f"set_property CONFIG_VOLTAGE {fpga.config_voltage_mv / 1000:.1f} [current_design]")
    if fpga.cfgbvs is not None:
        lines.append(f"set_property CFGBVS {fpga.cfgbvs} [current_design]")
    return lines


def xdc_text(cfg: RtlConfig, board: Board) -> tuple[str, list[str]]:
    """Constraints for the board top; package pins from the board file (returns ports it lacks).

    A board file without [fpga.package_pins] (a virtual board) still gets a project whose pins are
    commented out, so that the project can be opened; `missing_pins` says which.
    """
    pins = board.fpga.package_pins
    missing = [p for p in PORTS if p not in pins]
    sclk_ns = 1e9 / board.fpga_spi.max_hz
    clk = pins.get("clk")
    clk_ns = clk.clock_period_ns if clk is not None and clk.clock_period_ns else 10.0
    lines = [
        f"# qtdeploy rtl vivado: {board.id} ({board.fpga.part}), config {cfg.key}",
        f"create_clock -name clk -period {clk_ns:.3f} [get_ports clk]",
        "set_property BITSTREAM.CONFIG.USR_ACCESS 0x%08X [current_design]" % cfg.abi,
        *_config_lines(board),
        "# SPI: shift registers in the SCLK domain (both edges), bytes cross to clk through",
        "# synchronisers (rtl/qtd_spi_slave.v); the multi-bit crossings (rx_hold, tx_buf*) are stable for",
        "# >= 4 cycles when sampled, by the slave's protocol, st_q bits are single-bit flags: asynchronous groups",
        f"create_clock -name spi_sclk -period {sclk_ns:.3f} [get_ports spi_sclk]   ;# fpga_spi.max_hz",
        "set_clock_groups -asynchronous -group [get_clocks clk] -group [get_clocks spi_sclk]",
        "set_false_path -from [get_ports {spi_cs_n}]",
        "# mode 1: MOSI launched by the MCU at the rising edge, sampled here at the falling edge; MISO",
        "# launched here at the rising edge, sampled by the MCU at the falling edge. 2 ns for MCU + board",
        "# is an assumption (not measured on an enV5): adjust after bring-up",
        "set_input_delay -clock spi_sclk -max 2.000 [get_ports spi_mosi]",
        "set_output_delay -clock spi_sclk -clock_fall -max 2.000 [get_ports spi_miso]",
        "set_false_path -to [get_ports {irq}]",
    ]
    for port in PORTS:
        pp = pins.get(port)
        if pp is None:
            lines.append(
                f"# set_property PACKAGE_PIN <pin> [get_ports {port}]   ;# not in boards/{board.id}.toml"
            )
            lines.append(f"set_property IOSTANDARD LVCMOS33 [get_ports {port}]")
            continue
        lines.append(
            f"set_property -dict {{PACKAGE_PIN {pp.pin} IOSTANDARD {pp.iostandard}}} [get_ports {port}]"
        )
        if not pp.clock_dedicated_route:
            lines.append(
                f"set_property CLOCK_DEDICATED_ROUTE FALSE [get_nets -of_objects [get_ports {port}]]"
            )
    return "\n".join(lines) + "\n", missing


def tcl_text(cfg: RtlConfig, board: Board, sources: list[str], xdc: str) -> str:
    generics = " ".join(f"{k}={v}" for k, v in cfg.parameters().items() if k != "ABI")
    generics += f" ABI=32'h{cfg.abi:08X}"
    adds = "\n".join(f"add_files -norecurse [file join $here rtl {s}]" for s in sources)
    return f"""# Vivado batch build of the qtdeploy accelerator: vivado -mode batch -source build.tcl
# board {board.id}, part {board.fpga.part}, config {cfg.key}
set here [file dirname [file normalize [info script]]]
create_project -force qtd_accel [file join $here project] -part {board.fpga.part}
{adds}
add_files -fileset constrs_1 -norecurse [file join $here {xdc}]
set_property top qtd_board [current_fileset]
set_property generic {{{generics}}} [current_fileset]
launch_runs synth_1 -jobs 4
wait_on_run synth_1
launch_runs impl_1 -to_step write_bitstream -jobs 4
wait_on_run impl_1
open_run impl_1
report_utilization -file [file join $here utilization.rpt]
report_timing_summary -file [file join $here timing.rpt]
report_power -file [file join $here power.rpt]
write_bitstream -force [file join $here qtd_accel.bit]
write_cfgmem -force -format bin -interface spix{board.fpga.config_bus_width} -loadbit "up 0x0 [file join $here qtd_accel.bit]" [file join $here qtd_accel.bin]
"""


def write_project(cfg: RtlConfig, board_name: str, out: Path) -> dict:
    board = load_board(board_name)
    out = Path(out)
    (out / "rtl").mkdir(parents=True, exist_ok=True)
    srcs = [*source_paths(), *(source_paths()[0].parent / s for s in BOARD_SOURCES)]
    for p in srcs:
        shutil.copyfile(p, out / "rtl" / p.name)
    xdc, missing = xdc_text(cfg, board)
    (out / f"{board.id}.xdc").write_text(xdc)
    (out / "build.tcl").write_text(tcl_text(cfg, board, [p.name for p in srcs], f"{board.id}.xdc"))
    return {
        "out": str(out),
        "tcl": str(out / "build.tcl"),
        "xdc": str(out / f"{board.id}.xdc"),
        "sources": [p.name for p in srcs],
        "abi": f"{cfg.abi:#010x}",
        "part": board.fpga.part,
        "missing_pins": missing,
    }
