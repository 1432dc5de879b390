"""A bit-banged SPI mode-1 master for the cocotb testbenches (MSB first, CS active low).

Times are in picoseconds so that SCLK runs at the enV5's rate (62.5 MHz: 8 ns half periods) against
the 10 ns engine clock; ``phase_seed`` starts every transaction at a random sub-cycle offset to the
engine clock (the two clocks are unrelated on the board), so the clock-domain crossing of
rtl/qtd_spi_slave.v is exercised at every relative phase.
"""

from __future__ import annotations

import random

from cocotb.triggers import ClockCycles, Timer

CLK_PS = 10_000


class SpiMaster:
    def __init__(
        self, dut, sclk_hz: int = 62_500_000, phase_seed: int | None = 1, gaps: bool = False
    ) -> None:
        self.dut = dut
        self.half_ps = round(1e12 / sclk_hz / 2)
        self.rng = random.Random(phase_seed) if phase_seed is not None else None
        self.gaps = gaps  # SCLK held low for a random 0-50 ns between bytes (software-paced masters)
        dut.spi_cs_n.value = 1
        dut.spi_sclk.value = 0
        dut.spi_mosi.value = 0

    async def xfer(self, mosi: bytes) -> bytes:
        """One transaction (one CS-low period, SCLK free-running through it); returns the MISO bytes."""
        dut, half = self.dut, self.half_ps
        if self.rng is not None:
            await Timer(self.rng.randrange(1, CLK_PS), "ps")
        dut.spi_cs_n.value = 0
        await Timer(half, "ps")
        miso = bytearray()
        for byte in mosi:
            if self.gaps and self.rng is not None and miso:
                await Timer(self.rng.randrange(1, 5 * CLK_PS), "ps")
            rx = 0
            for bit in range(7, -1, -1):
                dut.spi_sclk.value = 1
                dut.spi_mosi.value = (byte >> bit) & 1
                await Timer(half, "ps")
                rx = (rx << 1) | int(dut.spi_miso.value)
                dut.spi_sclk.value = 0
                await Timer(half, "ps")
            miso.append(rx)
        await Timer(half, "ps")
        dut.spi_cs_n.value = 1
        await ClockCycles(dut.clk, 12)  # CS high >= 100 ns between transactions (protocol/regmap.md)
        return bytes(miso)
