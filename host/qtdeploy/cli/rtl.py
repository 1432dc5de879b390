"""`qtdeploy rtl`: accelerator reports, simulation bitstreams, Vivado projects."""

import os
from pathlib import Path

import click

from qtdeploy.cli.options import board_option, json_option
from qtdeploy.cli.output import emit, stdout
from qtdeploy.errors import UsageError


@click.group("rtl")
def command() -> None:
    """The FPGA accelerator: resource and latency reports, bitstreams for the virtual board."""


@command.command("sim-bitstream")
@click.option(
    "--abi",
    required=True,
    metavar="HEX|BLOB.qtb",
    help="Accelerator ABI id (hex) or a .qtb blob to take it from.",
)
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Bitstream to write (.bit).")
@board_option
@json_option
def sim_bitstream(abi: str, out: str, board: str | None, as_json: bool) -> None:
    """Write a bitstream for the virtual board (not loadable onto silicon)."""
    from qtdeploy.boards import load_board
    from qtdeploy.formats import bitstream

    board_obj = load_board(board or "virtual")
    abi_value = _parse_abi(abi)
    data = bitstream.write_sim_bitstream(abi_value, board_obj, _design(abi))
    _write_atomic(Path(out), data)
    result = {
        "out": out,
        "bytes": len(data),
        "board": board_obj.id,
        "idcode": f"{board_obj.fpga.idcode:#010x}",
        "abi": f"{abi_value:#010x}",
    }
    emit(
        result,
        as_json,
        lambda r: stdout.print(
            f"wrote {r['out']}: {r['bytes']:,} bytes, IDCODE {r['idcode']}, ABI {r['abi']} (virtual board only)"
        ),
    )


def _parse_abi(text: str) -> int:
    """--abi is a hex number, or a .qtb blob whose header carries the ABI."""
    if text.lower().endswith(".qtb") or Path(text).is_file():
        from qtdeploy.formats import blob  # lazy: the blob format lives in its own module

        return int(blob.load(text).abi)
    try:
        value = int(text, 16)
    except ValueError:
        raise UsageError(
            f"--abi {text!r} is neither a hex number nor an existing .qtb file.",
            "Pass e.g. --abi 0x00010203 or --abi model.qtb.",
        ) from None
    if not 0 <= value <= 0xFFFFFFFF:
        raise UsageError(
            f"--abi {text} does not fit 32 bits (USR_ACCESS).", "Pass an ABI between 0 and 0xFFFFFFFF."
        )
    return value


def _design(text: str) -> str | None:
    """From a blob: the accelerator design the virtual FPGA should model (qtdeploy.sim.design);
    a bare hex ABI names no design (the FPGA then answers ID/ABI only). A blob the RTL cannot
    build (layers > 1, mixed widths) gets no design either: the MCU engine still runs it."""
    if not (text.lower().endswith(".qtb") or Path(text).is_file()):
        return None
    from qtdeploy.errors import CompatibilityError
    from qtdeploy.formats import blob
    from qtdeploy.sim.design import sim_design

    try:
        return sim_design(blob.load(text))
    except CompatibilityError:
        return None


def _write_atomic(path: Path, data: bytes) -> None:
    """Write next to the target and rename, so a failure never leaves a half-written bitstream."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise UsageError(f"cannot write {path}: {err.strerror}.", "Choose a writable --out path.") from err


@command.command("report")
@click.option(
    "--config", "config_text", required=True, metavar="W,D,B", help="Window, d_model, bits (e.g. 12,32,4)."
)
@click.option(
    "--lanes", type=int, default=None, help="MAC lanes (default: 72 / bits, one RAMB36 word per cycle)."
)
@click.option(
    "--ffn", type=int, default=None, help="FFN width (default: 4 x d_model, the committed paper cases)."
)
@click.option(
    "--lutram",
    default=None,
    metavar="MEMS",
    help="Memories to force into distributed RAM (LUTs) to free "
    "block RAM, comma-separated: x, y (activation buffers), bias, mult, shift, inbias.",
)
@click.option(
    "--no-synth", is_flag=True, help="Skip Yosys (minutes for d_model 64; cached by RTL hash + config)."
)
@click.option("--no-sim", is_flag=True, help="Skip the simulation that measures cycles.")
@json_option
def report(
    config_text: str,
    lanes: int | None,
    ffn: int | None,
    lutram: str | None,
    no_synth: bool,
    no_sim: bool,
    as_json: bool,
) -> None:
    """Yosys resource use on the XC7S15, simulated cycles and latency, energy estimate (modelled)."""
    from qtdeploy.rtl import config as rcfg
    from qtdeploy.rtl.report import build_report, render_lines

    w, d, b = rcfg.parse_config(config_text)
    result = build_report(
        w,
        d,
        b,
        synth=not no_synth,
        simulate=not no_sim,
        lanes=lanes,
        ffn=ffn,
        lutram=rcfg.parse_lutram(lutram),
    )

    def human(r: dict) -> None:
        for line in render_lines(r):
            stdout.print(line, markup=False, highlight=False)

    emit(result, as_json, human)


@command.command("vivado")
@click.option("--board", default="env5", show_default=True, help="Board file (boards/<name>.toml).")
@click.option(
    "--config",
    "config_text",
    default="12,32,4",
    show_default=True,
    metavar="W,D,B",
    help="Window, d_model, bits.",
)
@click.option(
    "--blob",
    "blob_path",
    default=None,
    type=click.Path(dir_okay=False, exists=True),
    help="Take shape and ABI from a .qtb instead.",
)
@click.option("--ffn", type=int, default=None, help="FFN width with --config (default: 4 x d_model).")
@click.option("--lanes", type=int, default=None, help="MAC lanes (default: 72 / bits).")
@click.option(
    "--lutram",
    default=None,
    metavar="MEMS",
    help="Memories forced into distributed RAM, as for `rtl report`.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False),
    help="Directory for build.tcl, the XDC and rtl/.",
)
@json_option
def vivado(
    board: str,
    config_text: str,
    blob_path: str | None,
    ffn: int | None,
    lanes: int | None,
    lutram: str | None,
    out: str,
    as_json: bool,
) -> None:
    """Write a Vivado project script and constraints for the real bitstream (Vivado not run here)."""
    from qtdeploy.rtl import config as rcfg
    from qtdeploy.rtl.vivado import write_project

    if blob_path:
        from qtdeploy.formats import blob as fmt

        cfg = rcfg.from_blob(fmt.load(blob_path), lanes, lutram=rcfg.parse_lutram(lutram))
    else:
        cfg = rcfg.config_for(
            *rcfg.parse_config(config_text), lanes=lanes, ffn=ffn, lutram=rcfg.parse_lutram(lutram)
        )
    result = write_project(cfg, board, Path(out))

    def human(r: dict) -> None:
        stdout.print(
            f"wrote {r['tcl']} and {r['xdc']} ({len(r['sources'])} sources, part {r['part']}, USR_ACCESS {r['abi']})"
        )
        if r["missing_pins"]:
            stdout.print(
                f"package pins not in the board file: {', '.join(r['missing_pins'])} (fill them in the XDC)"
            )
        stdout.print("run: vivado -mode batch -source build.tcl")

    emit(result, as_json, human)
