"""Board files (boards/*.toml) as typed, validated objects.

Why a strict loader: a board file decides where bytes land in a flash that also holds the
image the board boots from. A typo that silently falls back to a default, or two regions that
overlap, can brick a slot; so every key is known, every number is checked, and a bad file is
refused with the file, the key and the fix. Inheritance (``extends``/``unset``) is described in
boards/README.md; validation runs on the merged result, so a child file cannot hide a mistake.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, overload

from qtdeploy.errors import BoardFileError
from qtdeploy.paths import boards_dir

_MAX_EXTENDS_DEPTH = 4
_REGION_KINDS = ("bitstream", "blob", "meta", "log")
_PAC193X_CHANNELS = {"PAC1931": 1, "PAC1932": 2, "PAC1933": 3, "PAC1934": 4}
# PAC193x datasheet (DS20005850) Table 6-1: ADDRSEL resistor selects 0x10..0x1F.
_PAC193X_ADDRESSES = range(0x10, 0x20)
_KIND_NAMES = {int: "an integer", str: "a string", bool: "true or false", dict: "a table", list: "an array"}


@dataclass(frozen=True)
class Mcu:
    part: str
    clock_hz: int
    # The crystal and the MCU's own pins ([mcu] xosc_hz, [mcu.pins] name = GPIO): read only by the
    # firmware build for that MCU (firmware/tools/board_header.py); absent on boards without one.
    xosc_hz: int | None = None
    pins: dict[str, int] = field(default_factory=dict)
    program_flash_bytes: int | None = None  # the MCU's own program flash (the size budget)


@dataclass(frozen=True)
class Pin:
    """A logical FPGA control line; ``gpio`` is None when it is not routed to the MCU."""

    name: str
    gpio: int | None
    active_low: bool


@dataclass(frozen=True)
class PackagePin:
    """A top-level port of the FPGA design and the package pin it is placed on (the XDC's facts)."""

    port: str
    pin: str
    iostandard: str = "LVCMOS33"
    clock_period_ns: float | None = None  # a clock input: the period of what drives it
    clock_dedicated_route: bool = True  # false: a clock on a non-clock-capable pin (XDC override)


@dataclass(frozen=True)
class Fpga:
    part: str
    family: str
    idcode: int
    bitstream_bytes: int
    config_mode: str
    config_clock_hz: int
    pins: dict[str, Pin]
    config_bus_width: int = 1
    bitstream_compressed: bool = False
    cfgbvs: str | None = None
    config_voltage_mv: int | None = None
    package_pins: dict[str, PackagePin] = field(default_factory=dict)
    power: FpgaPower | None = None  # [fpga.power]: what power-gating the FPGA costs (energy plan)

    @property
    def config_bits_per_s(self) -> int:
        """Bits the FPGA reads from the flash per second while configuring (clock x bus width)."""
        return self.config_clock_hz * self.config_bus_width

    @property
    def config_us(self) -> int:
        """One configuration from flash of a full-size (uncompressed) image: its bits at clock x width."""
        rate = self.config_bits_per_s
        return (self.bitstream_bytes * 8 * 1_000_000 + rate - 1) // rate


@dataclass(frozen=True)
class FpgaPower:
    """The FPGA rails' power per state and the power-up time, for `qtdeploy energy plan`."""

    idle_uw: int  # configured, clocked, no work
    configuring_uw: int  # reading its bitstream from flash
    loading_uw: int  # MODEL_LOAD writing weights into the accelerator
    off_uw: int  # rails switched off
    power_up_us: int  # rails enabled -> ready to configure
    source: str


@dataclass(frozen=True)
class Timing:
    """Datasheet typical (virtual model) and maximum (firmware timeout), microseconds."""

    typ_us: int
    max_us: int


@dataclass(frozen=True)
class NorCommands:
    """SPI NOR opcodes the direct-SPI (FTDI) driver sends ([flash.commands])."""

    read_id: int
    read: int
    page_program: int
    sector_erase: int
    write_enable: int
    write_disable: int
    read_status: int
    write_status: int


@dataclass(frozen=True)
class NorStatusBits:
    """Status register 1 masks ([flash.status_bits])."""

    busy: int
    write_enable: int
    block_protect: int
    erase_error: int
    program_error: int
    write_protect: int


@dataclass(frozen=True)
class Flash:
    part: str
    jedec_id: tuple[int, int, int]
    size: int
    sector_size: int
    page_size: int
    address_bytes: int
    page_program: Timing
    sector_erase: Timing
    chip_erase: Timing
    # Only the direct-SPI path needs these; a board file without them cannot be flashed --via.
    read_max_hz: int | None = None
    commands: NorCommands | None = None
    status_bits: NorStatusBits | None = None

    @property
    def jedec_id_u32(self) -> int:
        """manufacturer << 16 | type << 8 | capacity, the form the firmware compares."""
        a, b, c = self.jedec_id
        return a << 16 | b << 8 | c


@dataclass(frozen=True)
class Region:
    name: str
    kind: str
    offset: int
    size: int
    slot: str | None = None

    @property
    def end(self) -> int:
        return self.offset + self.size


@dataclass(frozen=True)
class Slot:
    name: str
    bitstream: Region
    blob: Region

    @property
    def multiboot_address(self) -> int:
        """The WBSTAR flash address that boots this slot (UG470 ch. 7): its bitstream offset."""
        return self.bitstream.offset


@dataclass(frozen=True)
class Layout:
    regions: tuple[Region, ...]
    slots: dict[str, Slot]
    meta: tuple[Region, Region]
    log: Region | None


@dataclass(frozen=True)
class HoldPin:
    """An FTDI ADBUS line that holds another bus master off the flash while asserted."""

    name: str
    adbus: int
    active_low: bool

    @property
    def mask(self) -> int:
        return 1 << self.adbus


@dataclass(frozen=True)
class FtdiWiring:
    """[ftdi]: how an FTDI adapter reaches the flash (qtdeploy flash --via, protocol/ftdi.md)."""

    spi_hz: int
    hold: tuple[HoldPin, ...]


@dataclass(frozen=True)
class Uart:
    default_baud: int
    max_baud: int


@dataclass(frozen=True)
class Usb:
    vid: int
    pid: int


@dataclass(frozen=True)
class FpgaSpi:
    mode: int
    max_hz: int


@dataclass(frozen=True)
class I2c:
    bus: int
    clock_hz: int


@dataclass(frozen=True)
class Monitor:
    name: str
    part: str
    i2c_address: int


_RAIL_DOMAINS = ("", "fpga", "mcu")


@dataclass(frozen=True)
class Rail:
    name: str
    monitor: str
    channel: int
    nominal_mv: int
    shunt_milliohm: int
    upstream: bool = False  # supplies other rails: left out of the board's total energy
    domain: str = ""  # what the rail feeds: "fpga", "mcu" or "" (energy bench groups rails by it)
    # the virtual board's power model: uA in each of SIM_STATES (None: an upstream rail, derived)
    sim_ua: tuple[int, ...] | None = None
    sim_source: str = ""  # where the model's figures for this rail come from


#: The activity states of the virtual board's power model, in the order of hal/posix's pm_state_t
#: (power_model.c refuses to compile when the generated table has another count).
SIM_STATES = ("idle", "configuring", "loading", "inferring", "mcu_inferring")


@dataclass(frozen=True)
class PowerSim:
    """[power.sim]: the virtual board's power model beyond the rails' own ``sim_ua``."""

    regulator_efficiency_pct: int  # the upstream rail carries the others' power through regulators


@dataclass(frozen=True)
class Board:
    id: str
    name: str
    virtual: bool
    mcu: Mcu
    fpga: Fpga
    flash: Flash
    layout: Layout
    uart: Uart
    usb: Usb | None
    fpga_spi: FpgaSpi
    i2c: I2c
    monitors: tuple[Monitor, ...]
    rails: tuple[Rail, ...]
    source: Path
    ftdi: FtdiWiring | None = None
    power_sim: PowerSim | None = None  # [power.sim]; with it every rail has a model (sim_ua or upstream)

    def rail(self, name: str) -> Rail:
        for r in self.rails:
            if r.name == name:
                return r
        raise KeyError(name)


def resolve_board_path(name_or_path: str | Path) -> Path:
    """A board name (``env5``) is a file under boards/; anything with a suffix or slash is a path."""
    text = str(name_or_path)
    if text.endswith(".toml") or "/" in text or "\\" in text:
        path = Path(text)
    else:
        path = boards_dir() / f"{text}.toml"
    if not path.is_file():
        known = sorted(p.stem for p in boards_dir().glob("*.toml")) if boards_dir().is_dir() else []
        raise BoardFileError(
            f"No board file {path}.",
            f"Pass --board with one of: {', '.join(known) or '(none found)'}, or a path to a .toml.",
        )
    return path


def load_board(name_or_path: str | Path) -> Board:
    """Load, merge (``extends``) and validate a board file; raises BoardFileError when it is bad."""
    path = resolve_board_path(name_or_path)
    return _build(_Table(_load_merged(path, []), path, ""), path)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise BoardFileError(f"{path}: not valid TOML ({err}).", "Fix the TOML syntax at that line.") from err
    except (OSError, UnicodeDecodeError) as err:
        raise BoardFileError(f"{path}: cannot be read ({err}).", "Pass a readable UTF-8 .toml file.") from err


def _load_merged(path: Path, chain: list[Path]) -> dict[str, Any]:
    """Apply ``extends`` recursively: tables merge, scalars/arrays replace, ``unset`` removes."""
    resolved = path.resolve()
    if resolved in chain:
        cycle = " -> ".join(p.name for p in [*chain, resolved])
        raise BoardFileError(
            f"{path}: `extends` forms a cycle ({cycle}).", "Make one board the base of the other, not both."
        )
    if len(chain) >= _MAX_EXTENDS_DEPTH:
        raise BoardFileError(
            f"{path}: `extends` nests deeper than {_MAX_EXTENDS_DEPTH}.", "Extend a base board directly."
        )
    data = _read_toml(path)
    parent_name = data.pop("extends", None)
    unset = data.pop("unset", [])
    if not isinstance(unset, list) or not all(isinstance(u, str) for u in unset):
        raise BoardFileError(
            f"{path}: `unset` must be a list of dotted key names.", 'Write e.g. unset = ["usb"].'
        )
    if parent_name is None:
        if unset:
            raise BoardFileError(
                f"{path}: `unset` without `extends`.", "Delete the keys instead, or add extends."
            )
        return data
    if not isinstance(parent_name, str):
        raise BoardFileError(
            f"{path}: `extends` must be a board name or path string.", 'Write e.g. extends = "env5".'
        )
    is_path = parent_name.endswith(".toml") or "/" in parent_name
    parent_path = resolve_board_path(path.parent / parent_name if is_path else parent_name)
    merged = _merge(_load_merged(parent_path, [*chain, resolved]), data)
    for dotted in unset:
        _unset(merged, dotted, path)
    return merged


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _unset(data: dict[str, Any], dotted: str, path: Path) -> None:
    *parents, last = dotted.split(".")
    node: Any = data
    for part in parents:
        node = node.get(part) if isinstance(node, dict) else None
    if not isinstance(node, dict) or last not in node:
        raise BoardFileError(
            f"{path}: unset names {dotted!r}, which the parent board does not have.",
            "Remove it from `unset`.",
        )
    del node[last]


class _Table:
    """One TOML table being read: typed getters, and ``done()`` refuses keys nobody read."""

    def __init__(self, data: Any, path: Path, where: str) -> None:
        self.path, self.where = path, where
        if not isinstance(data, dict):
            self._fail(f"`{where}` must be a table", f"Write it as [{where}] or {{ ... }}.")
        self.data: dict[str, Any] = data
        self.seen: set[str] = set()

    def _key(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def _fail(self, problem: str, fix: str) -> None:
        raise BoardFileError(f"{self.path}: {problem}.", fix)

    def get(self, key: str, kind: type, *, required: bool = True) -> Any:
        self.seen.add(key)
        if key not in self.data:
            if required:
                self._fail(
                    f"missing key `{self._key(key)}`",
                    f"Add `{key} = ...` to [{self.where or 'top level'}] (see boards/env5.toml).",
                )
            return None
        value = self.data[key]
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if not ok:
            what = _KIND_NAMES[kind]
            self._fail(f"`{self._key(key)}` is {value!r}, not {what}", f"Give `{key}` {what}.")
        return value

    def positive(self, key: str) -> int:
        value = self.get(key, int)
        if value <= 0:
            self._fail(f"`{self._key(key)}` is {value}, must be > 0", f"Give `{key}` a positive value.")
        return value

    @overload
    def table(self, key: str, *, required: Literal[True] = True) -> _Table: ...
    @overload
    def table(self, key: str, *, required: bool) -> _Table | None: ...
    def table(self, key: str, *, required: bool = True) -> _Table | None:
        value = self.get(key, dict, required=required)
        return None if value is None else _Table(value, self.path, self._key(key))

    def tables(self, key: str) -> list[_Table]:
        value = self.get(key, list)
        return [_Table(v, self.path, f"{self._key(key)}[{i}]") for i, v in enumerate(value)]

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            self._fail(
                f"unknown key(s) {', '.join(f'`{self._key(k)}`' for k in unknown)}",
                "Check the spelling against boards/env5.toml; unknown keys are refused, never ignored.",
            )


def _timing(t: _Table, key: str) -> Timing:
    sub = t.table(key)
    typ, max_ = sub.positive("typ"), sub.positive("max")
    sub.done()
    if typ > max_:
        t._fail(f"`{sub.where}` has typ {typ} > max {max_}", "Copy typ and max from the datasheet table.")
    return Timing(typ, max_)


def _mcu_pins(mcu_t: _Table) -> dict[str, int]:
    pins_t = mcu_t.table("pins", required=False)
    if pins_t is None:
        return {}
    pins = {name: pins_t.get(name, int) for name in list(pins_t.data)}
    pins_t.done()
    for name, gpio in pins.items():
        if not 0 <= gpio <= 29:
            pins_t._fail(f"`mcu.pins.{name}` is GPIO {gpio}", "RP2040 GPIOs are 0..29 (datasheet §1.4.3).")
    return pins


def _build(top: _Table, path: Path) -> Board:
    if top.get("schema", int) != 1:
        top._fail(
            f"`schema` is {top.data['schema']}, this qtdeploy reads schema 1",
            "Update qtdeploy or the board file.",
        )
    mcu_t = top.table("mcu")
    mcu = Mcu(
        mcu_t.get("part", str),
        mcu_t.positive("clock_hz"),
        mcu_t.get("xosc_hz", int, required=False),
        _mcu_pins(mcu_t),
        mcu_t.get("program_flash_bytes", int, required=False),
    )
    mcu_t.done()
    flash = _flash(top.table("flash"))
    fpga = _fpga(top.table("fpga"))
    layout = _layout(top.table("layout"), flash, fpga)
    u = top.table("uart")
    uart = Uart(u.positive("default_baud"), u.positive("max_baud"))
    u.done()
    if uart.default_baud > uart.max_baud:
        u._fail(
            f"`uart.default_baud` {uart.default_baud} exceeds `uart.max_baud` {uart.max_baud}",
            "Lower default_baud.",
        )
    usb = None
    if (usb_t := top.table("usb", required=False)) is not None:
        usb = Usb(usb_t.get("vid", int), usb_t.get("pid", int))
        usb_t.done()
        if not (0 <= usb.vid <= 0xFFFF and 0 <= usb.pid <= 0xFFFF):
            usb_t._fail(
                f"USB id {usb.vid:#x}:{usb.pid:#x} is not two 16-bit numbers",
                "Write vid/pid as 0x2E8A-style hex.",
            )
    s = top.table("fpga_spi")
    spi = FpgaSpi(s.get("mode", int), s.positive("max_hz"))
    s.done()
    if spi.mode not in (0, 1, 2, 3):
        s._fail(f"`fpga_spi.mode` is {spi.mode}", "SPI modes are 0..3; the accelerator uses mode 1.")
    i = top.table("i2c")
    i2c = I2c(i.get("bus", int), i.positive("clock_hz"))
    i.done()
    monitors, rails, power_sim = _power(top.table("power"))
    ftdi = _ftdi(ft) if (ft := top.table("ftdi", required=False)) is not None else None
    board = Board(
        id=top.get("id", str),
        name=top.get("name", str),
        virtual=top.get("virtual", bool),
        mcu=mcu,
        fpga=fpga,
        flash=flash,
        layout=layout,
        uart=uart,
        usb=usb,
        fpga_spi=spi,
        i2c=i2c,
        monitors=monitors,
        rails=rails,
        source=path,
        ftdi=ftdi,
        power_sim=power_sim,
    )
    top.done()
    return board


def _flash(t: _Table) -> Flash:
    jedec = t.get("jedec_id", list)
    if len(jedec) != 3 or not all(isinstance(b, int) and 0 <= b <= 0xFF for b in jedec):
        t._fail(
            f"`flash.jedec_id` is {jedec!r}", "Write the three RDID (0x9F) bytes, e.g. [0x01, 0x20, 0x18]."
        )
    timing = t.table("timing")
    commands = _bytes_table(t.table("commands", required=False), NorCommands)
    status_bits = _bytes_table(t.table("status_bits", required=False), NorStatusBits)
    read_max_hz = t.get("read_max_hz", int, required=False)
    if read_max_hz is not None and read_max_hz <= 0:
        t._fail(
            f"`flash.read_max_hz` is {read_max_hz}, must be > 0", "Copy fSCK for READ from the datasheet."
        )
    flash = Flash(
        part=t.get("part", str),
        jedec_id=tuple(jedec),
        size=t.positive("size_bytes"),
        sector_size=t.positive("sector_bytes"),
        page_size=t.positive("page_bytes"),
        address_bytes=t.get("address_bytes", int),
        page_program=_timing(timing, "page_program_us"),
        sector_erase=_timing(timing, "sector_erase_us"),
        chip_erase=_timing(timing, "chip_erase_us"),
        read_max_hz=read_max_hz,
        commands=commands,
        status_bits=status_bits,
    )
    timing.done()
    t.done()
    for key, value in (
        ("size_bytes", flash.size),
        ("sector_bytes", flash.sector_size),
        ("page_bytes", flash.page_size),
    ):
        if value & (value - 1):
            t._fail(
                f"`flash.{key}` is {value}, not a power of two",
                "NOR geometries are powers of two; check the datasheet.",
            )
    if not flash.page_size <= flash.sector_size <= flash.size:
        t._fail(
            "flash geometry must satisfy page <= sector <= size",
            "Check page_bytes, sector_bytes, size_bytes.",
        )
    if flash.address_bytes not in (3, 4) or flash.size > 1 << (8 * flash.address_bytes):
        t._fail(
            f"`flash.address_bytes` {flash.address_bytes} cannot address {flash.size} bytes",
            "Use 3 up to 16 MiB, else 4.",
        )
    return flash


def _bytes_table(t: _Table | None, kind: type) -> Any:
    """A table of one-byte values, every field of ``kind`` required (opcodes, status masks)."""
    if t is None:
        return None
    values = {}
    for name in kind.__dataclass_fields__:  # type: ignore[attr-defined]  # kind is a dataclass
        value = t.get(name, int)
        if not 0 <= value <= 0xFF:
            t._fail(
                f"`{t.where}.{name}` is {value:#x}, not one byte", "Copy the byte from the datasheet table."
            )
        values[name] = value
    t.done()
    return kind(**values)


def _ftdi(t: _Table) -> FtdiWiring:
    spi_hz = t.positive("spi_hz")
    hold_t = t.table("hold", required=False)
    hold: list[HoldPin] = []
    for name in list(hold_t.data) if hold_t else []:
        assert hold_t is not None  # names come from it
        p = hold_t.table(name)
        pin = HoldPin(name, p.get("adbus", int), p.get("active_low", bool))
        p.done()
        # ADBUS0..3 are the MPSSE's SCK/MOSI/MISO/CS# (FTDI AN_108); an FT232H has ADBUS0..7.
        if not 4 <= pin.adbus <= 7 or any(o.adbus == pin.adbus for o in hold):
            p._fail(
                f"`{p.where}.adbus` is {pin.adbus}",
                "Use a free ADBUS line 4..7 (0..3 are SCK, MOSI, MISO, CS#), one per pin.",
            )
        hold.append(pin)
    t.done()
    if spi_hz > 30_000_000:
        t._fail(
            f"`ftdi.spi_hz` is {spi_hz}; an FT232H's MPSSE clock tops out at 30 MHz",
            "Use 30_000_000 or less.",
        )
    return FtdiWiring(spi_hz, tuple(hold))


def _package_pins(t: _Table) -> dict[str, PackagePin]:
    pp = t.table("package_pins", required=False)
    if pp is None:
        return {}
    out: dict[str, PackagePin] = {}
    for port in list(pp.data):
        p = pp.table(port)
        pin = PackagePin(
            port=port,
            pin=p.get("pin", str),
            iostandard=p.get("iostandard", str, required=False) or "LVCMOS33",
            clock_period_ns=p.get("clock_period_ns", float, required=False),
            clock_dedicated_route=p.get("clock_dedicated_route", bool, required=False) is not False,
        )
        p.done()
        taken = [o.port for o in out.values() if o.pin == pin.pin]
        if taken:
            p._fail(
                f"package pin {pin.pin} is given to both `{taken[0]}` and `{port}`",
                "Each package pin carries one port: check the board's constraints file.",
            )
        out[port] = pin
    pp.done()
    return out


def _fpga_power(t: _Table | None) -> FpgaPower | None:
    if t is None:
        return None
    p = FpgaPower(
        idle_uw=t.positive("idle_uw"),
        configuring_uw=t.positive("configuring_uw"),
        loading_uw=t.positive("loading_uw"),
        off_uw=int(t.get("off_uw", int)),
        power_up_us=t.positive("power_up_us"),
        source=t.get("source", str),
    )
    t.done()
    if p.off_uw < 0 or p.off_uw >= p.idle_uw:
        t._fail(
            f"`fpga.power.off_uw` is {p.off_uw}",
            "Give the rails' draw when switched off: 0 <= off_uw < idle_uw.",
        )
    return p


def _fpga(t: _Table) -> Fpga:
    pins_t = t.table("pins")
    pins: dict[str, Pin] = {}
    for name in list(pins_t.data):
        p = pins_t.table(name)
        gpio = p.get("gpio", int, required=False)
        pins[name] = Pin(name, gpio, p.get("active_low", bool))
        p.done()
        if gpio is not None and not 0 <= gpio <= 29:
            p._fail(
                f"`{p.where}.gpio` is {gpio}; the RP2040 has GPIO 0..29",
                "Fix the pin number or drop gpio if not routed.",
            )
    for needed in ("prog_b", "init_b", "done"):
        if needed not in pins:
            pins_t._fail(
                f"missing control pin `fpga.pins.{needed}`",
                f"Add {needed} = {{ active_low = ... }} (gpio only if routed).",
            )
    fpga = Fpga(
        part=t.get("part", str),
        family=t.get("family", str),
        idcode=t.get("idcode", int),
        bitstream_bytes=t.positive("bitstream_bytes"),
        config_mode=t.get("config_mode", str),
        config_clock_hz=t.positive("config_clock_hz"),
        pins=pins,
        config_bus_width=t.get("config_bus_width", int, required=False) or 1,
        bitstream_compressed=bool(t.get("bitstream_compressed", bool, required=False)),
        cfgbvs=t.get("cfgbvs", str, required=False),
        config_voltage_mv=t.get("config_voltage_mv", int, required=False),
        package_pins=_package_pins(t),
        power=_fpga_power(t.table("power", required=False)),
    )
    if fpga.config_bus_width not in (1, 2, 4):
        t._fail(
            f"`fpga.config_bus_width` is {fpga.config_bus_width}",
            "Master SPI configuration reads 1, 2 or 4 bits per clock (UG470 ch. 2): use 1, 2 or 4.",
        )
    t.done()
    # JTAG IDCODE (IEEE 1149.1): bit 0 is always 1, bits 11:1 the manufacturer (Xilinx = 0x049).
    if fpga.idcode & 0xFFF != 0x093 or not 0 <= fpga.idcode <= 0xFFFFFFFF:
        t._fail(
            f"`fpga.idcode` {fpga.idcode:#010x} is not a Xilinx JTAG IDCODE (low 12 bits 0x093)",
            "Copy it from UG470 Table 1-1.",
        )
    return fpga


def _layout(t: _Table, flash: Flash, fpga: Fpga) -> Layout:
    regions: list[Region] = []
    for r in t.tables("regions"):
        region = Region(
            r.get("name", str),
            r.get("kind", str),
            r.get("offset", int),
            r.positive("size"),
            r.get("slot", str, required=False),
        )
        r.done()
        where = f"region `{region.name}`"
        if region.kind not in _REGION_KINDS:
            r._fail(f"{where} has kind {region.kind!r}", f"Use one of {', '.join(_REGION_KINDS)}.")
        if (region.slot is None) != (region.kind in ("meta", "log")):
            r._fail(
                f"{where}: `slot` is required for bitstream/blob regions and only for them",
                'Add or remove slot = "A".',
            )
        if region.offset < 0 or region.end > flash.size:
            r._fail(
                f"{where} [{region.offset:#x}, {region.end:#x}) lies outside the {flash.size:#x}-byte flash",
                "Move or shrink it.",
            )
        if region.offset % flash.sector_size or region.size % flash.sector_size:
            r._fail(
                f"{where} is not aligned to the {flash.sector_size:#x}-byte erase sector",
                "Make offset and size multiples of sector_bytes.",
            )
        if region.kind == "bitstream" and region.size < fpga.bitstream_bytes:
            r._fail(
                f"{where} ({region.size} bytes) cannot hold a {fpga.part} bitstream ({fpga.bitstream_bytes} bytes)",
                "Enlarge the region.",
            )
        regions.append(region)
    t.done()
    names = [r.name for r in regions]
    if dup := sorted({n for n in names if names.count(n) > 1}):
        t._fail(f"duplicate region name(s) {', '.join(dup)}", "Give every region its own name.")
    ordered = sorted(regions, key=lambda r: r.offset)
    for a, b in zip(ordered, ordered[1:]):
        if b.offset < a.end:
            t._fail(
                f"regions `{a.name}` and `{b.name}` overlap at {b.offset:#x}",
                f"Start `{b.name}` at or after {a.end:#x}.",
            )
    slots: dict[str, Slot] = {}
    for slot_name in sorted({r.slot for r in regions if r.slot}):
        parts = {
            k: [r for r in regions if r.slot == slot_name and r.kind == k] for k in ("bitstream", "blob")
        }
        if any(len(v) != 1 for v in parts.values()):
            t._fail(
                f"slot {slot_name} needs exactly one bitstream and one blob region",
                "Fix the slot fields of the regions.",
            )
        slots[slot_name] = Slot(slot_name, parts["bitstream"][0], parts["blob"][0])
    if sorted(slots) != ["A", "B"]:
        t._fail(
            f"the layout has slots {sorted(slots)}; A/B updates need exactly A and B",
            'Use slot = "A" and slot = "B".',
        )
    if slots["A"].bitstream.offset != 0:
        t._fail(
            f"slot A's bitstream region starts at {slots['A'].bitstream.offset:#x}; PROG_B and power-up always "
            "configure the FPGA from flash address 0, the golden image slot B is reached from (protocol/slots.md)",
            "Put slot A's bitstream region at offset 0x0.",
        )
    meta = [r for r in regions if r.kind == "meta"]
    logs = [r for r in regions if r.kind == "log"]
    if len(meta) != 2 or len(logs) > 1:
        t._fail(
            f"the layout has {len(meta)} meta and {len(logs)} log regions",
            "Give exactly two meta regions and at most one log.",
        )
    return Layout(tuple(regions), slots, (meta[0], meta[1]), logs[0] if logs else None)


def _sim_ua(r: _Table, name: str) -> tuple[int, ...] | None:
    """A rail's ``sim_ua`` table: a non-negative uA for each of SIM_STATES, nothing else."""
    t = r.table("sim_ua", required=False)
    if t is None:
        return None
    values = tuple(int(t.get(state, int)) for state in SIM_STATES)
    t.done()
    if any(v < 0 or v > 2_000_000 for v in values):
        t._fail(
            f"rail `{name}` has a sim_ua outside 0..2,000,000 uA: {values}",
            "Give each state's draw in uA (2 A is far above a PAC193x channel's full scale anyway).",
        )
    return values


def _power(t: _Table) -> tuple[tuple[Monitor, ...], tuple[Rail, ...], PowerSim | None]:
    monitors: dict[str, Monitor] = {}
    for m in t.tables("monitors"):
        mon = Monitor(m.get("name", str), m.get("part", str), m.get("i2c_address", int))
        m.done()
        if mon.part not in _PAC193X_CHANNELS:
            m._fail(
                f"monitor `{mon.name}` is a {mon.part!r}", f"Supported parts: {', '.join(_PAC193X_CHANNELS)}."
            )
        if mon.i2c_address not in _PAC193X_ADDRESSES:
            m._fail(
                f"monitor `{mon.name}` has I2C address {mon.i2c_address:#x}; a PAC193x answers at 0x10..0x1F",
                "Set the address its ADDRSEL resistor selects.",
            )
        if mon.name in monitors or any(o.i2c_address == mon.i2c_address for o in monitors.values()):
            m._fail(
                f"monitor `{mon.name}` repeats a name or I2C address",
                "Give each monitor its own name and address.",
            )
        monitors[mon.name] = mon
    rails: list[Rail] = []
    for r in t.tables("rails"):
        rail = Rail(
            r.get("name", str),
            r.get("monitor", str),
            r.get("channel", int),
            r.positive("nominal_mv"),
            r.positive("shunt_milliohm"),
            bool(r.get("upstream", bool, required=False)),
            str(r.get("domain", str, required=False) or ""),
            _sim_ua(r, str(r.data.get("name", "?"))),
            str(r.get("sim_source", str, required=False) or ""),
        )
        r.done()
        if rail.domain not in _RAIL_DOMAINS:
            r._fail(
                f"rail `{rail.name}` has domain {rail.domain!r}",
                f"Use one of: {', '.join(d for d in _RAIL_DOMAINS if d)} (or leave it out).",
            )
        if rail.monitor not in monitors:
            r._fail(
                f"rail `{rail.name}` names monitor `{rail.monitor}`, which is not defined",
                f"Use one of: {', '.join(monitors)}.",
            )
        count = _PAC193X_CHANNELS[monitors[rail.monitor].part]
        if not 1 <= rail.channel <= count:
            r._fail(
                f"rail `{rail.name}` uses channel {rail.channel}; a {monitors[rail.monitor].part} has 1..{count}",
                "Fix the channel.",
            )
        if any(o.name == rail.name for o in rails):
            r._fail(f"duplicate rail name `{rail.name}`", "Give every rail its own name.")
        if any((o.monitor, o.channel) == (rail.monitor, rail.channel) for o in rails):
            r._fail(
                f"rail `{rail.name}` shares {rail.monitor} channel {rail.channel} with another rail",
                "One rail per channel.",
            )
        if rail.nominal_mv > 32_000:  # PAC193x VBUS range is 0..32 V (DS20005850 §1.0).
            r._fail(
                f"rail `{rail.name}` is {rail.nominal_mv} mV, above the PAC193x's 32 V bus range",
                "Check nominal_mv.",
            )
        rails.append(rail)
    sim_t = t.table("sim", required=False)
    sim = None
    if sim_t is not None:
        sim = PowerSim(sim_t.positive("regulator_efficiency_pct"))
        sim_t.done()
        if sim.regulator_efficiency_pct > 100:
            sim_t._fail(
                f"`power.sim.regulator_efficiency_pct` is {sim.regulator_efficiency_pct}",
                "Give the regulators' efficiency in percent, 1..100.",
            )
        _check_sim(sim_t, rails)
    elif any(r.sim_ua is not None for r in rails):
        t._fail(
            "rails have `sim_ua` but there is no [power.sim] table", "Add [power.sim] (see boards/env5.toml)."
        )
    t.done()
    return tuple(monitors.values()), tuple(rails), sim


def _check_sim(t: _Table, rails: list[Rail]) -> None:
    """A power model covers every rail: a ``sim_ua`` on each, but the one upstream rail (derived)."""
    upstream = [r.name for r in rails if r.upstream]
    if len(upstream) > 1:
        t._fail(
            f"the power model has {len(upstream)} upstream rails ({', '.join(upstream)})",
            "Mark one rail upstream = true: the model derives its draw from all the others.",
        )
    for r in rails:
        if r.upstream and r.sim_ua is not None:
            t._fail(
                f"upstream rail `{r.name}` has a sim_ua; its draw is derived from the other rails",
                f"Remove sim_ua from `{r.name}`.",
            )
        if not r.upstream and r.sim_ua is None:
            t._fail(
                f"rail `{r.name}` has no sim_ua, and [power.sim] models every rail",
                f"Add sim_ua = {{ {', '.join(f'{s} = ...' for s in SIM_STATES)} }} to `{r.name}`.",
            )
        if not r.sim_source:
            t._fail(
                f"rail `{r.name}` has no sim_source",
                "Say where its model figures come from (an assumption is a source too: say so).",
            )
