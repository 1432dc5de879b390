"""cocotb testbench of rtl/qtd_top.v: weights loaded through SPI as the MCU does, windows compared
with the golden vectors and the NumPy integer reference (qtdeploy.model.reference).

Environment (set by tests/rtl/test_rtl_sim.py): QTD_CASE (a protocol/vectors/model case dir),
QTD_RANDOM (extra random windows), QTD_SEED, QTD_RESULT (JSON file for measured cycles).
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles
from spi_master import SpiMaster

from qtdeploy import _protocol as P
from qtdeploy.formats import blob as fmt
from qtdeploy.model import reference
from qtdeploy.model.intmodel import from_blob
from qtdeploy.model.vectors import read_tensor
from qtdeploy.rtl.load import crc8, load_transactions, read, write


async def _reset(dut, sclk_hz: int = 62_500_000, phase_seed: int | None = 1) -> SpiMaster:
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    spi = SpiMaster(dut, sclk_hz=int(os.environ.get("QTD_SPI_HZ", sclk_hz)), phase_seed=phase_seed)
    dut.rst.value = 1
    await ClockCycles(dut.clk, 5)
    dut.rst.value = 0
    await ClockCycles(dut.clk, 5)
    return spi


async def _reg(spi: SpiMaster, addr: int) -> int:
    return struct.unpack("<I", (await spi.xfer(read(addr, 4)))[4:])[0]


async def _infer(dut, spi: SpiMaster, window: np.ndarray, out_len: int) -> tuple[np.ndarray, int]:
    data = bytes(int(v) & 0xFF for v in window.ravel())
    await spi.xfer(write(P.REGMAP_INPUT_BASE, data))
    for _ in range(2000):
        st = (await spi.xfer(b"\x00"))[0]
        assert st & 0x80, f"ALIVE missing: {st:#04x}"
        if st & 0x02:
            break
        await ClockCycles(dut.clk, 500)
    else:
        raise AssertionError("no DONE")
    assert not st & 0x04, f"ERROR set, code {await _reg(spi, P.REG_ERROR_CODE)}"
    y = np.frombuffer((await spi.xfer(read(P.REGMAP_OUTPUT_BASE, out_len)))[4:], dtype="<i4").astype(np.int64)
    cycles = await _reg(spi, P.REG_CYCLES)
    await spi.xfer(write(P.REG_STATUS, b"\x02"))
    return y, cycles


@cocotb.test()
async def golden_windows(dut):
    case = Path(os.environ["QTD_CASE"])
    blob = fmt.load(case / "model.qtb")
    im = from_blob(blob)
    spi = await _reset(dut)

    # probe (regmap example 1) and the register defaults
    miso = await spi.xfer(read(0, 16))
    assert miso[0] == 0x80
    ident, abi, version, features = struct.unpack("<IIII", miso[4:])
    assert ident == 0x41445451 and abi == blob.abi, (hex(ident), hex(abi))
    assert version & 0xFFFF == 0x0100 and features == 0x0B
    in_len, out_len = await _reg(spi, P.REG_INPUT_LEN), await _reg(spi, P.REG_OUTPUT_LEN)
    hp = blob.hparams
    assert (in_len, out_len) == (hp.window * hp.features, 4 * hp.horizon)

    # START without a model -> ERROR NO_MODEL; clear it
    await spi.xfer(write(P.REG_CTRL, b"\x01"))
    assert (await spi.xfer(b"\x00"))[0] == 0x84
    assert await _reg(spi, P.REG_ERROR_CODE) == 1
    await spi.xfer(write(P.REG_STATUS, b"\x04"))
    # unmapped address -> SPI_ERROR
    await spi.xfer(write(0x0070, b"\x00"))
    assert (await spi.xfer(b"\x00"))[0] & 0x20
    await spi.xfer(write(P.REG_STATUS, b"\x20"))

    # load the model the way the MCU does, and check SPI_LAST on the last transaction
    txs = load_transactions(blob)
    for tx in txs:
        await spi.xfer(tx)
    last = await _reg(spi, P.REG_SPI_LAST)
    assert last & 0xFF == crc8(txs[-1]) and last >> 16 == len(txs[-1]), hex(last)
    st = (await spi.xfer(b"\x00"))[0]
    assert st == 0x80, f"status {st:#04x} after loading, ERROR_CODE {await _reg(spi, P.REG_ERROR_CODE)}"
    await spi.xfer(write(P.REG_CTRL, bytes([0x0C])))  # MODEL_VALID | AUTO_START

    x = read_tensor(case / "x.txt")[1]
    y_gold = read_tensor(case / "y.txt")[1]
    windows = [x[i] for i in range(len(x))]
    expect = [y_gold[i] for i in range(len(x))]
    n_rand = int(os.environ.get("QTD_RANDOM", "0"))
    if n_rand:
        lo, hi = (int(v) for v in im.tensors["x.range"])
        rng = np.random.default_rng(int(os.environ.get("QTD_SEED", "1")))
        xr = rng.integers(lo, hi + 1, size=(n_rand, hp.window, hp.features))
        xr[0] = hi
        if n_rand > 1:
            xr[1] = lo
        yr = reference.forward(im, xr)
        windows += list(xr)
        expect += list(yr)
    cycles = []
    for i, (w, e) in enumerate(zip(windows, expect)):
        y, c = await _infer(dut, spi, np.asarray(w), out_len)
        cycles.append(c)
        assert np.array_equal(y, np.asarray(e).ravel()), f"window {i}: rtl {y} != reference {e}"
    assert await _reg(spi, P.REG_INFER_COUNT) == len(windows)
    dut._log.info("cycles per inference: %s", sorted(set(cycles)))
    if os.environ.get("QTD_RESULT"):
        Path(os.environ["QTD_RESULT"]).write_text(json.dumps({"cycles": cycles, "windows": len(windows)}))


@cocotb.test()
async def register_errors(dut):
    """ERROR codes of protocol/regmap.md that need no model: first error kept, W1C clears, RESET aborts.
    SPI here at engine clock / 8 with edges on the clock (the virtual board's --fpga rtl timing)."""
    spi = await _reset(dut, sclk_hz=12_500_000, phase_seed=None)

    async def code_then_clear() -> int:
        st = (await spi.xfer(b"\x00"))[0]
        code = await _reg(spi, P.REG_ERROR_CODE)
        await spi.xfer(write(P.REG_STATUS, b"\x04"))
        assert st & 0x04 and (await spi.xfer(b"\x00"))[0] & 0x04 == 0
        return code

    await spi.xfer(write(P.REG_WLOAD_TENSOR, struct.pack("<II", 60, 0)))
    await spi.xfer(write(P.REG_WLOAD_DATA, b"\x01"))
    assert await code_then_clear() == 2  # BAD_TENSOR
    await spi.xfer(write(P.REG_WLOAD_TENSOR, struct.pack("<II", 0, 5)))
    await spi.xfer(write(P.REG_WLOAD_DATA, b"\x01"))
    assert await code_then_clear() == 3  # TENSOR_RANGE (x.range is 1 byte)
    await spi.xfer(write(P.REG_LUT_SELECT, struct.pack("<II", 1, 0)))
    await spi.xfer(write(P.REG_LUT_DATA, b"\x01"))
    assert await code_then_clear() == 4  # BAD_LUT
    await spi.xfer(write(P.REG_MULTIBOOT_TRIGGER, b"IPRX"))
    assert await code_then_clear() == 9  # BAD_IPROG_KEY

    # a run with whatever the memories hold: BUSY, then overrun / START_BUSY / LOAD_BUSY, first kept
    await spi.xfer(write(P.REG_CTRL, b"\x05"))  # MODEL_VALID | START
    assert (await spi.xfer(b"\x00"))[0] & 0x01  # BUSY
    await spi.xfer(write(P.REGMAP_INPUT_BASE, b"\x00"))
    await spi.xfer(write(P.REG_CTRL, b"\x05"))
    await spi.xfer(write(P.REG_WLOAD_DATA, b"\x00"))
    st = (await spi.xfer(b"\x00"))[0]
    assert st & 0x10 and st & 0x04 and await _reg(spi, P.REG_ERROR_CODE) == 6
    await spi.xfer(write(P.REG_CTRL, b"\x02"))  # RESET
    st = (await spi.xfer(b"\x00"))[0]
    assert st & 0x07 == 0, hex(st)
    # coherent 32-bit read: bytes 1..3 come from the latch taken at byte 0
    miso = await spi.xfer(read(P.REG_ID, 4))
    assert miso[4:] == b"QTDA"


@cocotb.test()
async def spi_clock_crossing(dut):
    """The SCLK-domain slave at the enV5's 62.5 MHz and slower rates, each transaction at a random
    phase to the 100 MHz engine clock (and once with random pauses between bytes): register reads
    (with SPI_LAST's MISO CRC), read-back of writes, multi-byte STATUS, the zero bytes before read data."""
    blob = fmt.load(Path(os.environ["QTD_CASE"]) / "model.qtb")
    spi = await _reset(dut)
    rng = np.random.default_rng(5)
    for sclk_hz, seed, gaps in (
        (62_500_000, 11, False),
        (41_666_667, 12, False),
        (25_000_000, 13, False),
        (62_500_000, None, False),
        (62_500_000, 14, True),
    ):
        spi = SpiMaster(dut, sclk_hz=sclk_hz, phase_seed=seed, gaps=gaps)
        for _ in range(12):
            miso = await spi.xfer(read(P.REG_ID, 16))
            assert miso[:4] == b"\x80\x00\x00\x00", (sclk_hz, miso.hex())
            assert struct.unpack("<IIII", miso[4:])[:2] == (0x41445451, blob.abi), (sclk_hz, miso.hex())
            last = await _reg(spi, P.REG_SPI_LAST)
            assert (last >> 8) & 0xFF == crc8(miso[4:]) and last >> 16 == 20, (sclk_hz, hex(last))
            v = int(rng.integers(0, 256)) & 0x7F  # IRQ_ENABLE without the ALIVE bit (no IRQ line high)
            await spi.xfer(write(P.REG_IRQ_ENABLE, bytes([v])))
            assert await _reg(spi, P.REG_IRQ_ENABLE) == v, sclk_hz
            await spi.xfer(write(P.REG_IRQ_ENABLE, b"\x00"))
            n = int(rng.integers(2, 6))
            assert await spi.xfer(bytes(n)) == b"\x80" * n, sclk_hz
