"""Port resolution: explicit and sim ports pass through; auto-detection by the board's VID:PID,
refusing clearly when zero or several boards match. The OS port list is the hardware boundary,
so ``serial.tools.list_ports.comports`` is what we replace."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from serial.tools import list_ports

from qtdeploy.boards import load_board
from qtdeploy.errors import LinkError
from qtdeploy.ports import find_ports, is_sim, resolve_port

ENV5 = load_board("env5")


def _port(device: str, vid: int | None, pid: int | None, description: str = "", serial: str | None = None):
    return SimpleNamespace(device=device, vid=vid, pid=pid, description=description, serial_number=serial)


@pytest.fixture
def attached(monkeypatch):
    ports: list = []
    monkeypatch.setattr(list_ports, "comports", lambda *a, **k: list(ports))
    return ports


def test_explicit_port_wins(attached) -> None:
    attached.append(_port("/dev/ttyACM0", 0x2E8A, 0x000A))
    assert resolve_port("/dev/ttyUSB3", ENV5) == "/dev/ttyUSB3"


@pytest.mark.parametrize("port", ["sim", "sim://", "sim://?flash=/tmp/f.bin&fpga=rtl"])
def test_sim_passes_through_unchanged(attached, port: str) -> None:
    assert is_sim(port) and resolve_port(port, ENV5) == port
    assert not is_sim("/dev/simulated0")


def test_single_match_is_chosen(attached) -> None:
    attached += [
        _port("/dev/ttyUSB0", 0x0403, 0x6014, "FT232H"),
        _port("/dev/ttyACM1", 0x2E8A, 0x000A, "enV5"),
    ]
    assert [p.device for p in find_ports(ENV5)] == ["/dev/ttyACM1"]
    assert resolve_port(None, ENV5) == "/dev/ttyACM1"


def test_no_match_lists_what_is_attached(attached) -> None:
    attached += [
        _port("/dev/ttyUSB0", 0x0403, 0x6014, "FT232H", "FT7X"),
        _port("/dev/ttyS0", None, None, "n/a"),
    ]
    with pytest.raises(LinkError) as err:
        resolve_port(None, ENV5)
    problem = err.value.problem
    assert "2E8A:000A" in problem and "/dev/ttyUSB0 [0403:6014] FT232H, serial FT7X" in problem
    assert "/dev/ttyS0 [no USB id]" in problem
    assert "--port" in err.value.fix and err.value.exit_code == 6


def test_no_ports_at_all(attached) -> None:
    with pytest.raises(LinkError, match="no serial ports at all"):
        resolve_port(None, ENV5)


def test_several_matches_are_refused_and_listed(attached) -> None:
    attached += [
        _port("/dev/ttyACM2", 0x2E8A, 0x000A, serial="B"),
        _port("/dev/ttyACM0", 0x2E8A, 0x000A, serial="A"),
    ]
    with pytest.raises(LinkError, match="2 boards") as err:
        resolve_port(None, ENV5)
    assert err.value.problem.index("/dev/ttyACM0") < err.value.problem.index("/dev/ttyACM2")
    assert "--port /dev/ttyACM0" in err.value.fix


def test_virtual_board_has_no_usb_to_detect(attached) -> None:
    attached.append(_port("/dev/ttyACM0", 0x2E8A, 0x000A))
    virtual = load_board("virtual")
    assert find_ports(virtual) == []
    with pytest.raises(LinkError, match="no USB id") as err:
        resolve_port(None, virtual)
    assert "--port sim" in err.value.fix
