"""cocotb testbench of rtl/qtd_iprog.v under Verilator (its behavioural ICAPE2 stand-in)."""

from __future__ import annotations

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge


def _swap(word: int) -> int:
    """ICAPE2's bit order: each byte of the bitstream word bit-reversed."""
    return int.from_bytes(bytes(int(f"{b:08b}"[::-1], 2) for b in word.to_bytes(4, "big")), "big")


@cocotb.test()
async def iprog_sequence(dut):
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    dut.go.value = 0
    dut.addr.value = 0
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0
    await ClockCycles(dut.clk, 2)
    assert int(dut.busy.value) == 0 and int(dut.sim_iprog.value) == 0
    dut.addr.value = 0x00200000  # slot B's bitstream region on the enV5 (regmap example 6)
    dut.go.value = 1
    await RisingEdge(dut.clk)
    dut.go.value = 0
    words = []
    for _ in range(12):
        await RisingEdge(dut.clk)
        if int(dut.icap_csib.value) == 0:
            words.append(_swap(int(dut.icap_i.value)))
    assert words == [
        0xFFFFFFFF,
        0xAA995566,
        0x20000000,
        0x30020001,
        0x00200000,
        0x20000000,
        0x30008001,
        0x0000000F,
        0x20000000,
    ], [hex(w) for w in words]
    assert int(dut.busy.value) == 0
    assert int(dut.sim_wbstar.value) == 0x00200000 and int(dut.sim_iprog.value) == 1
