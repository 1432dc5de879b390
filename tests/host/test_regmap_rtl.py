"""protocol/regmap.toml against the RTL: the Verilog writes the register map's values by hand
(generating a Verilog header would add an include path to Verilator, Yosys, cocotb and the Vivado
project for a dozen constants), so this reads rtl/qtd_top.v and checks every address, the magic,
the version, the SPI command bytes and the IPROG key against the generated constants."""

from __future__ import annotations

import re

from qtdeploy import _protocol as P
from qtdeploy.paths import repo_root

TOP = (repo_root() / "rtl" / "qtd_top.v").read_text()
REGS = {
    name[4:]: value for name, value in vars(P).items() if name.startswith("REG_") and isinstance(value, int)
}


def test_every_register_is_decoded_at_its_address():
    read = {int(h, 16) * 4 for h in re.findall(r"6'h([0-9A-Fa-f]{2}):\s*reg32\s*=", TOP)}
    assert read == set(REGS.values()), f"RTL reads {sorted(read)}; regmap.toml has {sorted(REGS.values())}"
    written = {int(h, 16) for h in re.findall(r"8'h([0-9A-Fa-f]{2}):", TOP)}
    for name in ("CTRL", "STATUS", "IRQ_ENABLE", "WLOAD_TENSOR", "WLOAD_OFFSET", "WLOAD_DATA"):
        assert REGS[name] in written, f"{name} ({REGS[name]:#04x}) has no write decode in qtd_top.v"
    for name in ("LUT_SELECT", "LUT_OFFSET", "LUT_DATA", "MULTIBOOT_ADDR", "MULTIBOOT_TRIGGER"):
        assert REGS[name] in written, f"{name} ({REGS[name]:#04x}) has no write decode in qtd_top.v"


def test_fixed_values_match():
    id_word = re.search(r"6'h00:\s*reg32\s*=\s*32'h([0-9A-Fa-f]{8});", TOP)
    assert id_word and int(id_word.group(1), 16) == P.REGMAP_MAGIC
    version = re.search(r"6'h02:\s*reg32\s*=\s*\{BUILD,\s*16'h([0-9A-Fa-f]{4})\}", TOP)
    assert version and int(version.group(1), 16) == P.REGMAP_VERSION_MAJOR << 8 | P.REGMAP_VERSION_MINOR
    key = re.search(r"== 32'h([0-9A-Fa-f]{8})\) iprog <= 1'b1", TOP)
    assert key and int(key.group(1), 16) == P.REGMAP_IPROG_KEY
    cmds = re.search(r"rx_byte != 8'h(\w\w) && rx_byte != 8'h(\w\w) && rx_byte != 8'h(\w\w)", TOP)
    assert cmds and {int(c, 16) for c in cmds.groups()} == {int(c) for c in P.SpiCmd}
    errors = {int(e) for e in re.findall(r"new_err = 4'd(\d+)", TOP)} - {0}
    assert errors <= {int(e) for e in P.AccelError}, errors
