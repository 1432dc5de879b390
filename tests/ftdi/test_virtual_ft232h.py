"""The virtual FT232H as pyftdi sees it: enumeration, MPSSE, chip select wired to the NOR model
(the rules of firmware/hal/posix/nor_model.c on the same flash file), hold pins, timing model."""

from __future__ import annotations

import pytest
from pyftdi.ftdi import Ftdi
from pyftdi.spi import SpiController

from qtdeploy.ftdi.adapter import attached_urls
from support.ftdi_helpers import URL

HOLD = 0x30  # ADBUS4 (MCU RUN) and ADBUS5 (FPGA PROG_B), both active low in boards/env5.toml


def spi(hold: bool = True, hz: float = 30e6):
    ctrl = SpiController()
    ctrl.configure(URL, frequency=hz, direction=HOLD, initial=0 if hold else HOLD)
    ctrl.write_gpio(0 if hold else HOLD)
    return ctrl, ctrl.get_port(0, hz)


def test_enumerates_as_an_ft232h_with_its_strings(adapter):
    adapter(serial="LAB42")
    assert attached_urls() == ["ftdi://ftdi:232h:LAB42/1"]
    ctrl, _port = spi()
    assert ctrl.ftdi.ic_name == "ft232h" and ctrl.frequency == 30e6 and ctrl.ftdi.has_mpsse
    ctrl.close()


def test_jedec_id_status_and_read_of_the_flash_file(adapter, board, tmp_path):
    path = tmp_path / "flash.bin"
    path.write_bytes(bytes(range(256)) * 16)  # short: extended erased to the board's size
    dev = adapter(path)
    ctrl, port = spi()
    assert port.exchange(b"\x9f", 3) == bytes(board.flash.jedec_id)
    assert port.exchange(b"\x05", 1)[0] == 0
    assert port.exchange(b"\x03\x00\x00\xfe", 4) == bytes((0xFE, 0xFF, 0x00, 0x01))
    assert port.exchange(b"\x03\xff\xff\xff", 2) == b"\xff\x00"  # reads wrap at the end of the array
    ctrl.close()
    assert path.stat().st_size == board.flash.size and dev.violations == []


def test_program_and_erase_follow_the_nor_rules(adapter, tmp_path):
    dev = adapter()
    ctrl, port = spi()
    port.exchange(b"\x02\x00\x01\x00" + b"\x00")  # no WRITE ENABLE: ignored
    assert "without WRITE ENABLE" in dev.violations[-1]
    port.exchange(b"\x06")
    assert port.exchange(b"\x05", 1)[0] == 0x02  # WEL
    port.exchange(b"\x02\x00\x01\xfe" + bytes((0x0F, 0xF0, 0x55, 0xAA)))  # wraps inside its page
    port.exchange(b"\x03\x00\x00\x00", 1)  # one USB transfer later: still busy (250 us typical)
    assert "while the flash is busy" in dev.violations[-1]
    while port.exchange(b"\x05", 1)[0] & 0x01:
        pass
    assert port.exchange(b"\x03\x00\x01\xfe", 2) == b"\x0f\xf0"
    assert port.exchange(b"\x03\x00\x01\x00", 2) == b"\x55\xaa"
    port.exchange(b"\x06")
    port.exchange(b"\x02\x00\x01\xfe" + b"\xff")  # 0 -> 1: a violation, the byte stays old & new
    while port.exchange(b"\x05", 1)[0] & 0x01:
        pass
    assert "sets a 0 bit back to 1" in dev.violations[-1]
    port.exchange(b"\x06")
    port.exchange(b"\xd8\x00\x00\x10")  # sector erase: low address bits ignored
    while port.exchange(b"\x05", 1)[0] & 0x01:
        pass
    assert port.exchange(b"\x03\x00\x01\xfe", 4) == b"\xff" * 4
    ctrl.close()
    assert len(dev.violations) == 3
    assert (tmp_path / "flash.bin").read_bytes()[0x1FE:0x202] == b"\xff" * 4


def test_block_protection_refuses_the_top_of_the_array(adapter, board):
    dev = adapter()
    ctrl, port = spi()
    port.exchange(b"\x06")
    port.exchange(b"\x01\x04")  # BP0: the top 1/64 (256 KiB)
    while port.exchange(b"\x05", 1)[0] & 0x01:
        pass
    assert port.exchange(b"\x05", 1)[0] == 0x04
    top = board.flash.size - 0x40000
    port.exchange(b"\x06")
    port.exchange(b"\xd8" + top.to_bytes(3, "big"))
    assert "block-protected" in dev.violations[-1]
    port.exchange(b"\x06")
    port.exchange(b"\xd8" + (top - 0x10000).to_bytes(3, "big"))  # just below: allowed
    ctrl.close()
    assert len(dev.violations) == 1


def test_access_while_the_mcu_is_not_held_is_a_violation(adapter):
    dev = adapter()
    ctrl, port = spi(hold=False)
    assert port.exchange(b"\x9f", 3) == b"\xff\xff\xff"  # ignored, as the C model does
    assert "not held off the shared bus" in dev.violations[0]
    ctrl.close()


def test_an_unknown_mpsse_opcode_answers_bad_command(adapter):
    dev = adapter()
    ctrl, _port = spi()
    ctrl.ftdi.write_data(bytes((0xAB, 0x87)))
    assert ctrl.ftdi.read_data_bytes(2, 4) == bytes((0xFA, 0xAB))
    assert dev.mpsse.counters.bad_commands == [0xAB]
    ctrl.close()


@pytest.mark.parametrize("hz", [30e6, 10e6])
def test_reads_stream_near_the_spi_clock_on_the_timing_model(adapter, hz):
    dev = adapter()
    ctrl, port = spi(hz=hz)
    assert ctrl.frequency == hz
    t0 = dev.now_s()
    port.exchange(b"\x03\x00\x00\x00", 0x8000)
    took = dev.now_s() - t0
    wire = 0x8000 * 8 / hz
    # simulated: the SPI time plus one write and the trailing read transfer's latency
    assert wire < took < wire + 0.0005
    ctrl.close()


def test_closing_releases_the_hold_pins(adapter):
    dev = adapter()
    ctrl, _port = spi()
    assert dev.mpsse.bus_granted()
    ctrl.close()
    assert not dev.mpsse.bus_granted()


def test_the_ftdi_list_api_sees_an_empty_bus(adapter):
    from qtdeploy.ftdi.virtual.backend import attached

    with attached():
        assert Ftdi.list_devices() == [] and attached_urls() == []
