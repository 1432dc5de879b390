"""The virtual board's accelerator C model (firmware/hal/posix/accel_model.c) driven at the SPI
byte level with the same transactions as the RTL's cocotb bench (qtdeploy.rtl.load): the regmap.md
worked examples, loading a golden-vector model, BUSY for the RTL's cycles, bit-exact outputs, the
ERROR codes, and a deliberately wrong load that must give wrong answers (the model computes from
what was written into it, so it can catch a driver's mistake)."""

from __future__ import annotations

import ctypes
import json
import shutil
import struct
import subprocess

import numpy as np
import pytest

from qtdeploy import _protocol as P
from qtdeploy.formats import blob as fmt
from qtdeploy.model import reference
from qtdeploy.model.intmodel import from_blob
from qtdeploy.model.vectors import read_tensor
from qtdeploy.paths import repo_root
from qtdeploy.rtl.load import crc8, load_transactions, read, write
from qtdeploy.sim.design import sim_design

FW = repo_root() / "firmware"
CASE = repo_root() / "protocol" / "vectors" / "model" / "w12_d32_b4"
CYCLES = json.loads((repo_root() / "tests" / "firmware" / "rtl_cycles.json").read_text())["cases"][
    "w12_d32_b4"
]
STUB = "#include <stdint.h>\nuint64_t g_now;\nuint64_t hal_time_us(void) { return g_now; }\n"


class Accel:
    """ctypes handle on the model, with a settable virtual clock (µs)."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        self.lib = lib
        self.now = ctypes.c_uint64.in_dll(lib, "g_now")

    def configure(self, design: str | None, abi: int) -> str:
        err = ctypes.create_string_buffer(160)
        raw = design.encode() if design else None
        ok = self.lib.accel_model_configure(raw, len(raw) if raw else 0, abi, err, len(err))
        return "" if ok else err.value.decode()

    def xfer(self, mosi: bytes) -> bytes:
        out = ctypes.create_string_buffer(len(mosi))
        self.lib.accel_model_spi(mosi, out, len(mosi))
        return out.raw

    def reg(self, addr: int) -> int:
        return struct.unpack("<I", self.xfer(read(addr, 4))[4:])[0]

    def st(self) -> int:
        return self.xfer(b"\x00")[0]


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    if shutil.which("cc") is None:
        pytest.skip("no C compiler")
    d = tmp_path_factory.mktemp("accel")
    (d / "stub.c").write_text(STUB)
    so = d / "libaccel.so"
    srcs = [
        FW / "hal/posix/accel_model.c",
        FW / "hal/posix/accel_design.c",
        FW / "hal/posix/accel_cycles.c",
        FW / "core/sha256.c",
        d / "stub.c",
    ]
    subprocess.run(
        [
            "cc",
            "-std=c11",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-O1",
            "-g",
            "-shared",
            "-fPIC",
            f"-I{FW / 'include'}",
            f"-I{FW / 'hal'}",
            f"-I{FW / 'hal/posix'}",
            "-o",
            str(so),
            *map(str, srcs),
        ],
        check=True,
    )
    lib = ctypes.CDLL(str(so))
    lib.accel_model_configure.restype = ctypes.c_bool
    lib.accel_model_take_iprog.restype = ctypes.c_bool
    lib.accel_model_configure.argtypes = [
        ctypes.c_char_p,
        ctypes.c_size_t,
        ctypes.c_uint32,
        ctypes.c_char_p,
        ctypes.c_size_t,
    ]
    lib.accel_model_spi.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]
    return lib


@pytest.fixture
def accel(lib):
    a = Accel(lib)
    a.now.value = 1_000_000
    b = fmt.load(CASE / "model.qtb")
    assert a.configure(sim_design(b), b.abi) == ""
    yield a, b
    lib.accel_model_unconfigure()


def _infer(a: Accel, window: np.ndarray, h: int) -> tuple[np.ndarray, int]:
    a.xfer(write(P.REGMAP_INPUT_BASE, bytes(int(v) & 0xFF for v in window.ravel())))
    assert a.st() == 0x89, hex(a.st())  # ALIVE | MODEL_VALID | BUSY
    a.now.value += -(-CYCLES["cycles"] // 100) - 1
    assert a.st() & 0x01, "DONE before CYCLES / CLOCK_HZ of virtual time"
    a.now.value += 1
    assert a.st() == 0x8A, hex(a.st())  # ALIVE | MODEL_VALID | DONE
    y = np.frombuffer(a.xfer(read(P.REGMAP_OUTPUT_BASE, 4 * h))[4:], dtype="<i4").astype(np.int64)
    cycles = a.reg(P.REG_CYCLES)
    a.xfer(write(P.REG_STATUS, b"\x02"))
    return y, cycles


def test_probe_and_spi_last_examples(accel):
    a, b = accel
    miso = a.xfer(read(0, 16))  # regmap.md example 1
    assert miso[0] == 0x80
    ident, abi, version, features = struct.unpack("<IIII", miso[4:])
    # FEATURES as the board's RTL top (rtl/qtd_board.v, MULTIBOOT = 1): IRQ | SPI_CRC | MULTIBOOT | AUTO_START
    assert (ident, abi, version & 0xFFFF, features) == (0x41445451, b.abi, 0x0100, 0x0F)
    hp = b.hparams
    assert (a.reg(P.REG_INPUT_LEN), a.reg(P.REG_OUTPUT_LEN)) == (hp.window * hp.features, 4 * hp.horizon)
    assert a.reg(P.REG_CLOCK_HZ) == 100_000_000
    # example 2's transaction: 10 bytes into tensor 3's port, SPI_LAST = RX CRC 0x6D over 13 bytes
    a.xfer(write(P.REG_WLOAD_TENSOR, struct.pack("<II", 3, 0)))
    a.xfer(bytes.fromhex("800048123456789ABCDEF00F1E"))
    miso = a.xfer(read(P.REG_SPI_LAST, 4))
    assert miso[4:] == bytes.fromhex("6D000D00")
    # tensor 3 (l0.k.range) is 1 byte at 4 bits: 9 of the 10 bytes ran past it
    assert a.reg(P.REG_ERROR_CODE) == 3


def test_load_and_infer_bit_exact(accel):
    a, b = accel
    txs = load_transactions(b)
    for tx in txs:
        a.xfer(tx)
    last = a.reg(P.REG_SPI_LAST)
    assert last & 0xFF == crc8(txs[-1]) and last >> 16 == len(txs[-1])
    assert a.st() == 0x80, f"ERROR_CODE {a.reg(P.REG_ERROR_CODE)}"
    a.xfer(write(P.REG_CTRL, b"\x0c"))  # MODEL_VALID | AUTO_START
    x, y = read_tensor(CASE / "x.txt")[1], read_tensor(CASE / "y.txt")[1]
    for i in range(len(x)):
        got, cycles = _infer(a, x[i], b.hparams.horizon)
        assert np.array_equal(got, y[i].ravel()) and cycles == CYCLES["cycles"]
    assert a.reg(P.REG_INFER_COUNT) == len(x)


def test_a_wrong_load_gives_wrong_answers(accel):
    """One weight byte changed on its way in: the model computes from its BRAM, not the blob."""
    a, b = accel
    im = from_blob(b)
    in_weight = [t.name for t in b.tensors].index("l0.ffn1.weight")
    txs = load_transactions(b)
    at = txs.index(write(P.REG_WLOAD_TENSOR, struct.pack("<II", in_weight, 0))) + 1
    data = bytearray(txs[at])
    data[3 + 5] ^= 0x77
    txs[at] = bytes(data)
    for tx in txs:
        a.xfer(tx)
    a.xfer(write(P.REG_CTRL, b"\x0c"))
    lo, hi = (int(v) for v in im.tensors["x.range"])
    xr = np.random.default_rng(3).integers(lo, hi + 1, size=(16, 12, 4))
    expect = reference.forward(im, xr).reshape(16, -1)
    differ = sum(not np.array_equal(_infer(a, xr[i], 1)[0], expect[i]) for i in range(16))
    assert differ > 0


def test_errors_as_the_rtl_bench(accel):
    a, _ = accel

    def code_then_clear() -> int:
        st = a.st()
        code = a.reg(P.REG_ERROR_CODE)
        a.xfer(write(P.REG_STATUS, b"\x04"))
        assert st & 0x04 and a.st() & 0x04 == 0
        return code

    a.xfer(write(P.REG_CTRL, b"\x01"))  # START without MODEL_VALID
    assert a.st() == 0x84 and code_then_clear() == 1  # NO_MODEL
    a.xfer(write(0x0070, b"\x00"))  # unmapped
    assert a.st() & 0x20
    a.xfer(write(P.REG_STATUS, b"\x20"))
    a.xfer(write(P.REG_WLOAD_TENSOR, struct.pack("<II", 60, 0)))
    a.xfer(write(P.REG_WLOAD_DATA, b"\x01"))
    assert code_then_clear() == 2  # BAD_TENSOR
    a.xfer(write(P.REG_WLOAD_TENSOR, struct.pack("<II", 0, 5)))
    a.xfer(write(P.REG_WLOAD_DATA, b"\x01"))
    assert code_then_clear() == 3  # TENSOR_RANGE (not where the stream left off)
    a.xfer(write(P.REG_LUT_SELECT, struct.pack("<II", 1, 0)))
    a.xfer(write(P.REG_LUT_DATA, b"\x01"))
    assert code_then_clear() == 4  # BAD_LUT
    a.xfer(write(P.REG_LUT_SELECT, struct.pack("<II", 0, 32)))
    a.xfer(write(P.REG_LUT_DATA, b"\x01"))
    assert code_then_clear() == 5  # LUT_RANGE: 2^4 entries of 2 bytes
    a.xfer(write(P.REG_MULTIBOOT_TRIGGER, b"IPRX"))
    assert code_then_clear() == 9  # BAD_IPROG_KEY
    addr = ctypes.c_uint32()
    lib = a.lib
    assert not lib.accel_model_take_iprog(ctypes.byref(addr))  # a wrong key issues no IPROG
    a.xfer(write(P.REG_MULTIBOOT_ADDR, struct.pack("<I", 0xE0200000) + b"IPRG"))  # regmap.md example 6
    assert lib.accel_model_take_iprog(ctypes.byref(addr)) and addr.value == 0x00200000  # WBSTAR[28:0]
    assert not lib.accel_model_take_iprog(ctypes.byref(addr))  # once
    a.xfer(write(P.REG_CTRL, b"\x05"))  # MODEL_VALID | START: BUSY
    assert a.st() & 0x01
    a.xfer(write(P.REGMAP_INPUT_BASE, b"\x00"))  # overrun
    a.xfer(write(P.REG_CTRL, b"\x05"))  # START_BUSY ...
    a.xfer(write(P.REG_WLOAD_DATA, b"\x00"))  # ... then LOAD_BUSY: the first is kept
    st = a.st()
    assert st & 0x10 and st & 0x04 and a.reg(P.REG_ERROR_CODE) == 6
    a.xfer(write(P.REG_CTRL, b"\x02"))  # RESET
    assert a.st() & 0x07 == 0
    assert a.xfer(read(P.REG_ID, 4))[4:] == b"QTDA"
    assert a.xfer(b"\x33\x00")[0] & 0x80 and a.st() & 0x20  # unknown command: SPI_ERROR


def test_design_must_match_the_abi(lib):
    a = Accel(lib)
    b = fmt.load(CASE / "model.qtb")
    assert "AXSS" in a.configure(sim_design(b), b.abi ^ 1)
    assert a.reg(P.REG_INPUT_LEN) == 0 and a.reg(P.REG_ID) == 0x41445451  # ID/ABI only, no engine
    assert a.configure(None, 0x0BAD0001) == "" and a.reg(P.REG_ABI) == 0x0BAD0001
    assert a.reg(P.REG_FEATURES) & 0x04  # the board top's register shell keeps its MultiBoot sequencer
    lib.accel_model_unconfigure()
    assert a.xfer(read(P.REG_ID, 4)) == b"\xff" * 8


HOST_CASES = sorted(p.parent for p in (CASE.parent.parent / "host").glob("*/model.qtb"))


@pytest.mark.parametrize("case", HOST_CASES, ids=lambda p: p.name)
def test_host_cases_bit_exact(lib, case):
    """protocol/vectors/host (horizon 3; "diff-rms" host scaling; one feature): cases the paper
    shapes do not cover, on the accelerator model as on the MCU kernel and the host reference."""
    a = Accel(lib)
    a.now.value = 1_000_000
    b = fmt.load(case / "model.qtb")
    assert a.configure(sim_design(b), b.abi) == ""
    try:
        for tx in load_transactions(b):
            a.xfer(tx)
        assert a.st() == 0x80, f"ERROR_CODE {a.reg(P.REG_ERROR_CODE)}"
        a.xfer(write(P.REG_CTRL, b"\x0c"))
        h = b.hparams.horizon
        assert a.reg(P.REG_OUTPUT_LEN) == 4 * h
        x, y = read_tensor(case / "x.txt")[1], read_tensor(case / "y.txt")[1]
        assert len(x) >= 4 and y.size == len(x) * h
        for i in range(len(x)):
            a.xfer(write(P.REGMAP_INPUT_BASE, bytes(int(v) & 0xFF for v in x[i].ravel())))
            for _ in range(1000):  # virtual time only: DONE after the modelled cycles
                if a.st() & 0x02:
                    break
                a.now.value += 10
            assert a.st() == 0x8A, hex(a.st())
            got = np.frombuffer(a.xfer(read(P.REGMAP_OUTPUT_BASE, 4 * h))[4:], dtype="<i4")
            assert np.array_equal(got.astype(np.int64), y[i].ravel()), i
            a.xfer(write(P.REG_STATUS, b"\x02"))
    finally:
        lib.accel_model_unconfigure()
