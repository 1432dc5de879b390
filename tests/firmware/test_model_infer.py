"""End to end over the virtual board's pseudo-terminal: a golden vector's model.qtb and a sim
bitstream flashed into slot A, committed and selected, MODEL_LOAD for the MCU engine, then INFER
of every vector window: the outputs must equal the vector's y bit for bit. Plus the refusals
of link.md 7.15/7.16 (NO_MODEL, BAD_LENGTH, BAD_SLOT, BLOB_INVALID, UNSUPPORTED)."""

from __future__ import annotations

import hashlib
import json
import struct
import subprocess
import time

import numpy as np
import pytest
import serial

from qtdeploy._protocol import Command, Engine, Status
from qtdeploy.boards import load_board
from qtdeploy.formats.bitstream import write_sim_bitstream
from qtdeploy.formats.blob import unpack
from qtdeploy.link.framing import Decoder, Frame, encode
from qtdeploy.paths import repo_root

VECTORS = repo_root() / "protocol" / "vectors" / "model"
SLOT_A, SLOT_B, ACTIVE = 0, 1, 0xFF
SELECT = 0x01


class Board:
    def __init__(self, exe, flash):
        self.proc = subprocess.Popen(
            [str(exe), "--flash-file", str(flash), "--time-scale", "0.01", "--no-pacing"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.port = serial.Serial(self.proc.stdout.readline().strip(), 921600, timeout=0.2)
        self.decoder = Decoder()
        self.seq = 1000

    def request(self, command, payload=b"", timeout=10.0):
        self.seq += 1
        self.port.write(b"\0" + encode(Frame(command=command, payload=payload, seq=self.seq)))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for item in self.decoder.feed(self.port.read(max(1, self.port.in_waiting))):
                if isinstance(item, Frame) and item.seq == self.seq:
                    return item
        raise AssertionError(f"no answer to {command!r}")

    def ok(self, command, payload=b""):
        r = self.request(command, payload)
        assert r.status == Status.OK, (command, r.status, r.payload)
        return r.payload

    def close(self):
        self.port.close()
        self.proc.terminate()
        self.proc.wait(5)

    def slots(self):
        layout = self.ok(Command.FLASH_INFO)
        sector = struct.unpack_from("<I", layout, 4)[0]
        n = layout[32]
        return sector, [struct.unpack_from("<IIII", layout, 36 + 16 * i) for i in range(n)]

    def write_region(self, offset, size, data, sector):
        assert len(data) <= size
        erase = -(-len(data) // sector) * sector
        self.ok(Command.FLASH_ERASE, struct.pack("<II", offset, erase))
        for at in range(0, len(data), 2048):  # 2 KiB frames never cross a 4 KiB sector
            chunk = data[at : at + 2048]
            self.ok(Command.FLASH_WRITE, struct.pack("<IIB3x", offset + at, len(chunk), 0) + chunk)

    def install(self, slot, blob: bytes, bitstream: bytes, select=True):
        sector, regions = self.slots()
        bs_off, bs_size, blob_off, blob_size = regions[slot]
        self.write_region(bs_off, bs_size, bitstream, sector)
        self.write_region(blob_off, blob_size, blob, sector)
        self.ok(
            Command.SLOT_COMMIT,
            struct.pack("<BBH", slot, SELECT if select else 0, 0)
            + struct.pack("<I", len(bitstream))
            + hashlib.sha256(bitstream).digest()
            + struct.pack("<I", len(blob))
            + hashlib.sha256(blob).digest(),
        )


def infer_request(x: np.ndarray, engine=Engine.MCU) -> bytes:
    values = x.astype(np.int8).tobytes()
    return struct.pack("<BBH", engine, 0, len(values)) + values


@pytest.fixture
def board(fw_build, tmp_path):
    b = Board(fw_build / "qtd-virtual-board", tmp_path / "flash.bin")
    b.ok(Command.HELLO, struct.pack("<BBH", 1, 8, 4096))
    yield b
    b.close()


@pytest.fixture(scope="module")
def bitstream_for():
    board = load_board("virtual")
    return lambda abi: write_sim_bitstream(abi, board)


def read_ints(path):
    lines = [ln for ln in path.read_text().splitlines() if ln and not ln.startswith("#")]
    return np.array(" ".join(lines).split(), dtype=np.int64)


def test_hello_advertises_the_mcu_engine(board):
    p = board.ok(Command.HELLO, struct.pack("<BBH", 1, 8, 4096))
    bit_widths, engines = struct.unpack_from("<HB", p, 24)
    assert bit_widths == 0x1FC and engines == 1 << Engine.MCU


@pytest.mark.parametrize("case", ["w12_d32_b4", "w6_d64_b8", "w12_d64_b6"])
def test_flash_load_infer_bit_exact(board, bitstream_for, case):
    d = VECTORS / case
    blob = (d / "model.qtb").read_bytes()
    index = json.loads((d / "index.json").read_text())
    cfg = index["config"]
    n_in = cfg["window"] * cfg["features"]
    x = read_ints(d / "x.txt").reshape(index["windows"], n_in)
    y = read_ints(d / "y.txt").reshape(index["windows"], -1)

    r = board.request(Command.INFER, infer_request(x[0]))
    assert r.status == Status.NO_MODEL, r.payload
    board.install(SLOT_A, blob, bitstream_for(unpack(blob).abi))
    info = board.ok(Command.MODEL_LOAD, struct.pack("<BB", Engine.MCU, ACTIVE))
    engine, out_width, in_count, out_count, _, abi = struct.unpack("<BBHHHI", info)
    assert (engine, out_width, in_count, out_count) == (Engine.MCU, 4, n_in, cfg["horizon"])
    assert abi == unpack(blob).abi == struct.unpack_from("<I", blob, 8)[0]
    for w in range(index["windows"]):
        res = board.ok(Command.INFER, infer_request(x[w]))
        engine, out_width, count, cycles, t0, t1 = struct.unpack_from("<BBHIQQ", res)
        assert (engine, out_width, count, cycles) == (Engine.MCU, 4, cfg["horizon"], 0)
        assert 0 < t0 <= t1
        got = struct.unpack_from(f"<{count}i", res, 24)
        assert list(got) == y[w].tolist(), (case, w)


def test_refusals(board, bitstream_for):
    d = VECTORS / "w12_d32_b2"
    blob = (d / "model.qtb").read_bytes()
    abi = unpack(blob).abi
    x = read_ints(d / "x.txt").reshape(4, -1)
    # nothing committed yet
    assert board.request(Command.MODEL_LOAD, struct.pack("<BB", Engine.MCU, ACTIVE)).status == Status.BAD_SLOT
    board.install(SLOT_A, blob, bitstream_for(abi))
    assert board.request(Command.MODEL_LOAD, struct.pack("<BB", Engine.MCU, SLOT_B)).status == Status.BAD_SLOT
    # the FPGA engine needs a configured FPGA whose ABI is the blob's (installed, not configured yet)
    assert (
        board.request(Command.MODEL_LOAD, struct.pack("<BB", Engine.FPGA, SLOT_A)).status
        == Status.ABI_MISMATCH
    )
    assert board.request(Command.MODEL_LOAD, struct.pack("<BB", 7, SLOT_A)).status == Status.BAD_ARGUMENT
    assert board.request(Command.MODEL_LOAD, b"\x01").status == Status.BAD_LENGTH
    board.ok(Command.MODEL_LOAD, struct.pack("<BB", Engine.MCU, SLOT_A))
    # wrong count, short request, FPGA engine, value outside x.range
    assert board.request(Command.INFER, infer_request(x[0][:-1])).status == Status.BAD_LENGTH
    assert board.request(Command.INFER, b"\x01\x00").status == Status.BAD_LENGTH
    assert board.request(Command.INFER, infer_request(x[0], Engine.FPGA)).status == Status.NO_MODEL
    bad = x[0].copy()
    bad[0] = 127  # a 2-bit model's x.range is [-2, 1]
    r = board.request(Command.INFER, infer_request(bad))
    assert r.status == Status.BAD_ARGUMENT and b"x.range" in r.payload
    assert board.request(Command.INFER, infer_request(x[1])).status == Status.OK
    # a damaged blob committed into slot B (the commit hashes what is there, so it succeeds):
    # MODEL_LOAD refuses it, and the failed load leaves no model behind
    damaged = bytearray(blob)
    damaged[len(damaged) // 2] ^= 0xFF
    board.install(SLOT_B, bytes(damaged), bitstream_for(abi), select=False)
    r = board.request(Command.MODEL_LOAD, struct.pack("<BB", Engine.MCU, SLOT_B))
    assert r.status == Status.BLOB_INVALID and b"SHA-256" in r.payload
    assert board.request(Command.INFER, infer_request(x[1])).status == Status.NO_MODEL
    # a reset loses the loaded model like a real reboot loses RAM
    board.ok(Command.MODEL_LOAD, struct.pack("<BB", Engine.MCU, ACTIVE))
    board.ok(Command.RESET, b"\x00")
    time.sleep(0.3)
    board.ok(Command.HELLO, struct.pack("<BBH", 1, 8, 4096))
    assert board.request(Command.INFER, infer_request(x[1])).status == Status.NO_MODEL


def test_blob_bigger_than_the_arena(board, bitstream_for):
    """The metadata JSON at a blob's end is hashed while streaming, not kept: a model with 200 KB
    of metadata still loads into the 128 KiB arena and infers bit-exact. A model whose tensors
    themselves do not fit is refused with UNSUPPORTED, naming the reason."""
    from qtdeploy.formats.blob import Blob, HParams, Tensor, pack

    d = VECTORS / "w12_d32_b4"
    b = unpack((d / "model.qtb").read_bytes())
    b.meta["padding"] = "x" * 200_000
    blob = pack(b)
    assert len(blob) > 128 * 1024
    board.install(SLOT_A, blob, bitstream_for(b.abi))
    board.ok(Command.MODEL_LOAD, struct.pack("<BB", Engine.MCU, ACTIVE))
    x = read_ints(d / "x.txt").reshape(4, -1)
    res = board.ok(Command.INFER, infer_request(x[2]))
    assert struct.unpack_from("<i", res, 24)[0] == read_ints(d / "y.txt")[2]

    big = Blob(
        HParams(window=12, features=4, d_model=128, heads=1, layers=1, ffn=512, horizon=1),
        tensors=[
            Tensor(name="l0.ffn1.weight", data=np.ones((512, 300), dtype=np.int64), bits=8, signed=True)
        ],
    )
    data = pack(big)
    board.install(SLOT_B, data, bitstream_for(big.abi), select=False)
    r = board.request(Command.MODEL_LOAD, struct.pack("<BB", Engine.MCU, SLOT_B))
    assert r.status == Status.UNSUPPORTED and b"too large" in r.payload, r.payload
    assert board.request(Command.INFER, infer_request(x[2])).status == Status.NO_MODEL
