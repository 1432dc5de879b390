"""The enV5's firmware binary (the UF2 `qtdeploy firmware build` writes) in the rp2040js emulator,
wired to the virtual board's own part models (parts.wasm: NOR flash, FPGA + accelerator, PAC1934s +
power model). The harness boots it at boot2 as the ROM would and enumerates it as Linux does.

Default slice: enumeration and `info` with the build id, a flash chip other than the board file's,
a power cut in the middle of an image write, `forecast --check` on both engines and `--energy`.
`-m slow`: a whole flash through the emulated USB and the M0+ kernel's cycles per inference
against the estimate."""

from __future__ import annotations

import json
import shutil

import pytest

from qtdeploy.boards import load_board
from qtdeploy.errors import DeviceError, LinkError
from qtdeploy.ops import flash, info
from qtdeploy.sim import EXIT_POWER_CUT
from support.emu_rp2040 import firmware, session, start


@pytest.fixture(scope="module")
def fw():
    return firmware()


def test_enumerates_and_reports_its_build(fw, tmp_path) -> None:
    board = load_board("env5")
    with start(fw, tmp_path / "flash.bin") as eb:
        usb = eb.usb  # what the harness's Linux-style enumeration read from the descriptors
        assert (usb["vid"], usb["pid"]) == (board.usb.vid, board.usb.pid)
        assert usb["product"] == "qtdeploy env5 (RP2040)" and usb["manufacturer"] == "qtdeploy"
        assert len(usb["serial"]) == 16 and usb["maxPacket0"] == 64
        assert usb["interfaces"][0]["cls"] == 2 and usb["interfaces"][1]["cls"] == 10  # CDC comm + data
        assert usb["bulkIn"] > 0 and usb["bulkOut"] > 0 and usb["notify"] > 0
        with session(eb) as b:
            r = info(b)
            assert b.origin == "emulated"
    assert r["board"] == "env5" and not r["virtual"]
    assert r["build"] == {
        "build_id": fw.build_id,
        "target": "rp2040",
        "boot_status": "OK",
        "boot_meaning": "The request succeeded.",
    }
    assert (
        r["flash"]["jedec_id"] == f"{board.flash.jedec_id_u32:#08x}" and r["fpga"]["state"] == "UNCONFIGURED"
    )
    assert eb.events[0]["event"] != "boot-error"


def test_another_flash_chip_refuses_flash_commands(fw, tmp_path) -> None:
    from qtdeploy._protocol import Command, Status
    from qtdeploy.link import payloads as P

    with start(fw, tmp_path / "flash.bin", flash_jedec=0xEF4018) as eb, session(eb) as b:  # a W25Q128
        r = info(b)
        assert r["build"]["boot_status"] == "FLASH_ID_MISMATCH" and r["flash"]["jedec_id"] == "0xef4018"
        for cmd, layout in ((Command.FLASH_ERASE, P.FlashErase), (Command.FLASH_READ, P.FlashRead)):
            with pytest.raises(DeviceError) as err:
                b.link.request(
                    cmd,
                    layout.build(
                        {"offset": 0x100000, "length": 65536 if cmd == Command.FLASH_ERASE else 256}
                    ),
                )
            assert err.value.status == Status.FLASH_ID_MISMATCH
        # RESET mode 1 needs the ROM's reset_usb_boot: rp2040js has no bootrom, and the HAL says so
        with pytest.raises(DeviceError) as err:
            b.link.request(Command.RESET, P.ResetRequest.build({"mode": P.RESET_MODE_BOOTLOADER}))
        assert err.value.status == Status.UNSUPPORTED and "no ROM bootloader" in err.value.problem
    assert (tmp_path / "flash.bin").read_bytes() == b"\xff" * load_board("env5").flash.size  # untouched


def test_power_cut_mid_write_keeps_the_last_good_image(fw, tmp_path, images, base_flash) -> None:
    """The posix board wrote the base flash (slot A: the old image); the RP2040 writes the demo
    into slot B and loses power at the 6th flash operation; the restarted RP2040 boots slot A."""
    path = tmp_path / "flash.bin"
    shutil.copyfile(base_flash, path)  # one flash file format for both boards
    with start(fw, path, die_after_flash_ops=6) as eb:
        with session(eb) as b, pytest.raises(LinkError):
            flash(b, bitstream=images.bitstream, blob=images.blob)
        assert eb.wait(30) == EXIT_POWER_CUT
        assert any(e.get("event") == "power-cut" for e in eb.events)
    with start(fw, path) as eb, session(eb) as b:
        r = info(b)
    assert r["active_slot"] == "A" and r["slots"][0]["state"] == "COMMITTED"
    assert r["slots"][1]["state"] != "COMMITTED"
    assert r["fpga"]["state"] == "CONFIGURED" and r["fpga"]["abi"] == "0x0bad0001"  # OLD_ABI, from slot A


FORECASTER = "examples/forecaster/temps-w12-d32-w4a8.qtb"


def _forecaster_images(tmp_path):
    from qtdeploy.formats import bitstream, blob
    from qtdeploy.paths import repo_root
    from qtdeploy.sim.design import sim_design

    qtb = repo_root() / FORECASTER
    b_ = blob.load(qtb)
    bit = tmp_path / "m.bit"
    bit.write_bytes(bitstream.write_sim_bitstream(b_.abi, load_board("virtual"), sim_design(b_)))
    return bit, qtb


def _forecast(capsys, port: str, engine: str, count: int, *extra: str) -> dict:
    from qtdeploy.cli.main import main

    argv = ["forecast", "--port", port, "--source", "synthetic:seed=5", "--engine", engine]
    code = main([*argv, "--count", str(count), "--check", "--json", *extra])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def test_forecast_check_on_both_engines_and_energy(fw, tmp_path, capsys) -> None:
    """The forecaster written by the posix board (memory speed), then run through the emulated
    RP2040: FPGA configured from the shared flash over SPI0 + PROG_B, MODEL_LOAD over the fabric
    SPI, `forecast --check` on each engine, `--energy` from the PAC1934 models over I2C1."""
    from support.vboard import session as vsession
    from support.vboard import start as vstart

    bit, qtb = _forecaster_images(tmp_path)
    path = tmp_path / "flash.bin"
    with vstart(path) as vb, vsession(vb) as s:
        flash(s, bitstream=bit, blob=qtb)
    with start(fw, path) as eb:
        port = f"sim://?mcu=rp2040&flash={eb.flash_file}"
        for engine in ("fpga", "mcu"):
            r = _forecast(capsys, port, engine, 6)
            assert (r["windows"], r["ok"], r["failed"], r["checked"]) == (6, 6, 0, 6)
            assert r["origin"] == "emulated" and r["engine"] == engine
        r = _forecast(capsys, port, "mcu", 3, "--energy")
        assert r["energy_mj"]["origin"] == "emulated" and r["energy_mj"]["mean"] > 0
        # issue 15 on the emulated RP2040: the bench is labelled emulated, the MCU engine's figure
        # is the emulated M0+'s own time x the power model (not host CPU time), above the FPGA's
        from qtdeploy._protocol import Engine
        from qtdeploy.energy.bench import increment, run_bench

        with session(eb) as b:
            fpga = run_bench(b, count=4, engine=Engine.FPGA, repeats=2)
            mcu = run_bench(b, count=4, engine=Engine.MCU, repeats=2)
        assert fpga["origin"] == mcu["origin"] == "emulated"
        assert mcu["power_model"]["cpu_time_modelled"] and "emulated" in mcu["power_model"]["what"]
        assert mcu["power_model"]["latency_us"] > fpga["latency_us_min"]  # the M0+ kernel is slower
        # 4 FPGA inferences (~0.5 ms) sit inside the monitors' noise, so only their order is asserted
        assert increment(mcu)["uj"] > max(increment(fpga)["uj"], 0.0)
        assert "emulated" in increment(mcu)["label"] and "emulated" in increment(fpga)["label"]


@pytest.mark.slow
def test_flash_through_usb_then_forecast_check(fw, tmp_path, capsys) -> None:
    """A whole flash of the forecaster through the emulated USB CDC (538 KB bitstream + blob,
    verified by the board's SHA-256), then `forecast --check` on each engine over 20 windows."""
    bit, qtb = _forecaster_images(tmp_path)
    with start(fw, tmp_path / "flash.bin") as eb:
        with session(eb) as s:
            res = flash(s, bitstream=bit, blob=qtb)
            assert res["active_slot"] == "A"
        port = f"sim://?mcu=rp2040&flash={eb.flash_file}"
        for engine in ("fpga", "mcu"):
            r = _forecast(capsys, port, engine, 20)
            assert (r["windows"], r["ok"], r["failed"], r["checked"]) == (20, 20, 0, 20)


@pytest.mark.slow
@pytest.mark.parametrize("case", ["w12_d32_b4"])
def test_m0_kernel_cycles_in_the_emulator_match_the_estimate(fw, tmp_path, case) -> None:
    """The MCU engine on the emulated M0+ (bit-exact on the golden windows), timed by the
    firmware's own timer, against bench/mcu_kernel.py's static estimate (tests/firmware/test_kernel_m0.py)."""
    import importlib.util

    from qtdeploy.paths import repo_root

    if importlib.util.find_spec("unicorn") is None:
        pytest.skip("unicorn not installed: the static estimate needs it")
    from support.scripts import load_script

    bench = load_script(repo_root() / "bench" / "rp2040.py", "bench_rp2040")
    emulated = bench.emulated_kernel(case, fw, tmp_path, windows=2)  # raises unless bit-exact
    modelled = bench.estimate(case)
    ratio = emulated["cycles_emulated"] / modelled["cycles_modelled"]
    print(
        f"{case}: {emulated['cycles_emulated']:,.0f} cycles emulated, {modelled['cycles_modelled']:,} modelled"
    )
    assert 0.8 < ratio < 1.25  # two independent M0+ timing models of the same kernel


def test_qtdeploy_sim_mcu_rp2040_serves_other_processes(fw, tmp_path) -> None:
    """`qtdeploy sim --mcu rp2040` publishes its pty; another process's `info` attaches to it."""
    import os
    import signal
    import subprocess
    import sys

    flash_file = tmp_path / "f.bin"
    env = dict(os.environ)
    sim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "qtdeploy.cli.main",
            "sim",
            "--mcu",
            "rp2040",
            "--flash-file",
            str(flash_file),
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        lines = []
        for line in sim.stdout:  # the JSON object ends with a line holding only "}"
            lines.append(line)
            if line.strip() == "}":
                break
        started = json.loads("".join(lines))
        assert "mcu=rp2040" in started["url"] and started["port"].startswith("/dev/")
        out = subprocess.run(
            [sys.executable, "-m", "qtdeploy.cli.main", "info", "--port", started["url"], "--json"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["build"]["target"] == "rp2040"
    finally:
        sim.send_signal(signal.SIGTERM)
        sim.wait(timeout=30)
    assert not flash_file.with_name(flash_file.name + ".board.json").exists()  # unpublished on exit


def test_slot_b_boots_by_multiboot_on_the_rp2040(fw, tmp_path, images, base_flash) -> None:
    """The posix board writes the demo into slot B (slot A: the old image); the RP2040 binary then
    boots it the silicon way: PROG_B loads slot A at address 0, its design's MULTIBOOT registers
    IPROG to slot B (a PROG_B-only slot switch would leave the old ABI answering)."""
    from qtdeploy.formats import blob as blob_fmt
    from support.vboard import session as vsession
    from support.vboard import start as vstart

    path = tmp_path / "flash.bin"
    shutil.copyfile(base_flash, path)
    with vstart(path) as vb, vsession(vb) as s:
        assert flash(s, bitstream=images.bitstream, blob=images.blob)["active_slot"] == "B"
    with start(fw, path) as eb, session(eb) as b:
        r = info(b)
    demo_abi = f"{blob_fmt.load(images.blob).abi:#010x}"
    assert r["active_slot"] == "B" and r["fpga"]["state"] == "CONFIGURED"
    assert (r["fpga"]["slot"], r["fpga"]["abi"]) == ("B", demo_abi) and demo_abi != "0x0bad0001"
