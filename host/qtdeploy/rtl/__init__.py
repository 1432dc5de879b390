"""The FPGA accelerator's host side: Verilog parameters from a blob, the SPI load sequence,
simulation (cocotb + Verilator), Yosys resource reports, the energy model, Vivado projects."""
