"""A bit-banged SPI mode-1 master for the cocotb testbenches (MSB first, CS active low)."""

from __future__ import annotations

from cocotb.triggers import ClockCycles, Timer


class SpiMaster:
    def __init__(self, dut, half_ns: int = 40) -> None:
        self.dut = dut
        self.half = half_ns
        dut.spi_cs_n.value = 1
        dut.spi_sclk.value = 0
        dut.spi_mosi.value = 0

    async def xfer(self, mosi: bytes) -> bytes:
        """One transaction (one CS-low period); returns the MISO bytes."""
        dut = self.dut
        dut.spi_cs_n.value = 0
        await Timer(self.half * 2, "ns")
        miso = bytearray()
        for byte in mosi:
            rx = 0
            for bit in range(7, -1, -1):
                dut.spi_sclk.value = 1
                dut.spi_mosi.value = (byte >> bit) & 1
                await Timer(self.half, "ns")
                rx = (rx << 1) | int(dut.spi_miso.value)
                dut.spi_sclk.value = 0
                await Timer(self.half, "ns")
            miso.append(rx)
        await Timer(self.half, "ns")
        dut.spi_cs_n.value = 1
        await ClockCycles(dut.clk, 12)
        return bytes(miso)
