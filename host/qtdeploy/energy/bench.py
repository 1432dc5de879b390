"""`qtdeploy energy bench`: energy per inference that measures the inference.

R repeats of one POWER_BENCH (``ops.power_bench``): N inferences back to back on the board and an
idle span just before them. Per inference, each the mean over repeats with its spread:

* ``board_uj``: the whole board (every rail but the upstream supply) over the burst window;
* ``fpga_uj``: the FPGA rails alone (board file ``domain = "fpga"``) over the burst window;
* ``board_above_idle_uj`` / ``fpga_above_idle_uj``: what the burst spent above the idle power
  measured just before, over the burst's own length: the energy the inferences added;
* ``fpga_over_latency_uj``: the FPGA rails' increment plus their idle power over the shortest
  latency the board's clock gave (the paper's figure is the FPGA's power over its latency);
* ``latency_us``: per inference, from the board's own clock (t_end - t_start of each).

Labels: ``origin`` says simulated (the posix virtual board's power model, whose sources are named
per rail), emulated (the RP2040 binary in rp2040js, the same power model; the MCU engine's time is
the emulated M0+'s, so its energy is that time x the model's MCU power) or measured; on the simulated board the MCU engine's kernel runs in *host* CPU time, which
models nothing, so its figure is replaced by the labelled Cortex-M0+ model of
:mod:`qtdeploy.energy.mcu_model` where the config was counted, and marked not modelled otherwise.

Results are cached per model (blob SHA-256) and engine, so `forecast --energy` and
`energy report` can print the bench's increment beside their own figure.
"""

from __future__ import annotations

import hashlib
import json
import time
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np

from qtdeploy._protocol import Command, Engine, Slot
from qtdeploy.energy import mcu_model, power_model
from qtdeploy.errors import CompatibilityError, LinkError, UsageError
from qtdeploy.formats import blob as blob_fmt
from qtdeploy.link import payloads as P
from qtdeploy.model.intmodel import IntModel, from_blob
from qtdeploy.model.reference import forward
from qtdeploy.ops.info import slot_info
from qtdeploy.ops.power import compute_rails, rail_names
from qtdeploy.ops.power_bench import BenchRun, bench_once
from qtdeploy.ops.session import Board

RTL_CLOCK_HZ = 100_000_000  # the RTL's and the virtual board's default accelerator clock
_READ_CHUNK = 2048


def active_model(board: Board) -> tuple[IntModel, str]:
    """The blob in the active slot (checked against its SLOT_INFO hash) and that hash."""
    slots = slot_info(board)
    if slots.active_slot >= len(slots.slots) or slots.slots[slots.active_slot].blob_length == 0:
        raise CompatibilityError(
            "The board has no model in its active slot, so there is nothing to benchmark.",
            "Flash one: `qtdeploy flash --bitstream B --blob MODEL.qtb`.",
        )
    rec = slots.slots[slots.active_slot]
    base = board.slot_regions(Slot(slots.active_slot)).blob_offset
    chunk = max(64, min(_READ_CHUNK, board.caps.max_payload - 16))
    reads = [
        (Command.FLASH_READ, P.FlashRead.build(dict(offset=base + o, length=min(chunk, rec.blob_length - o))))
        for o in range(0, rec.blob_length, chunk)
    ]
    data = b"".join(
        P.parse_exact(P.FlashReadResponse, a, "FLASH_READ").data for a in board.link.request_many(reads)
    )
    if hashlib.sha256(data).digest() != bytes(rec.blob_sha256):
        raise LinkError(
            "The model blob read back from the board does not match the slot's SHA-256.",
            "Run `qtdeploy info`; re-flash the image if its hash is wrong.",
        )
    return from_blob(blob_fmt.unpack(data)), hashlib.sha256(data).hexdigest()


def bench_window(im: IntModel, seed: int = 15) -> np.ndarray:
    """A fixed window inside x.range. The accelerator's cycle count does not depend on the
    data (accel_cycles.c), so any valid window measures the same work; a fixed one makes runs
    comparable and lets the host check the board's answer (out_crc32) with the reference."""
    lo, hi = (int(v) for v in im.tensors["x.range"])
    rng = np.random.default_rng(seed)
    return rng.integers(lo, hi + 1, size=(im.config.window, im.config.features)).astype(np.int8)


def fpga_rails(board: Board) -> tuple[str, ...]:
    """Rails the board file marks ``domain = "fpga"``."""
    bf = board.board_file
    return tuple(r.name for r in bf.rails if r.domain == "fpga") if bf is not None else ()


def _modelled(board: Board) -> bool:
    """Power figures that come from the virtual boards' power model (simulated or emulated)."""
    return board.origin in ("simulated", "emulated")


def _stats(values: list[float]) -> dict[str, float | None]:
    a = np.asarray(values, dtype=np.float64)
    std = float(a.std(ddof=1)) if len(a) > 1 else None
    return {
        "mean": float(a.mean()),
        "std": std,
        "sem": float(std / np.sqrt(len(a))) if std is not None else None,
        "min": float(a.min()),
        "max": float(a.max()),
    }


def _per_run(run: BenchRun, board_r: tuple[str, ...], fpga_r: tuple[str, ...]) -> dict[str, float]:
    lat_us = run.infer_us / run.inferences
    out = {
        "board_uj": run.burst_uj(board_r),
        "board_above_idle_uj": run.above_idle_uj(board_r),
        "latency_us": lat_us,
        "burst_us_per_inference": run.burst_s * 1e6 / run.inferences,
    }
    if fpga_r:
        out["fpga_uj"] = run.burst_uj(fpga_r)
        out["fpga_above_idle_uj"] = run.above_idle_uj(fpga_r)
        # the accelerator's latency does not depend on the data: the shortest inference the board
        # timed is it without interruptions (the virtual board's host scheduler adds outliers)
        out["fpga_over_latency_uj"] = out["fpga_above_idle_uj"] + run.idle_mw(fpga_r) * run.min_us * 1e-3
    return out


def run_bench(
    board: Board,
    *,
    count: int,
    engine: Engine = Engine.FPGA,
    repeats: int = 5,
    progress: Callable[[float], None] | None = None,
) -> dict[str, Any]:
    """``repeats`` POWER_BENCH bursts of ``count`` inferences; the result as a JSON-ready dict."""
    if not 1 <= repeats <= 100:
        raise UsageError(f"--repeats {repeats} is outside 1..100.", "Use e.g. --repeats 5.")
    if not compute_rails(board) or board.board_file is None or not board.board_file.rails:
        raise CompatibilityError(
            f"Board {board.caps.board_id!r} has no power monitors in its board file, so it cannot measure energy.",
            "Use a board whose board file lists [[power.monitors]] and [[power.rails]].",
        )
    im, sha = active_model(board)
    x = bench_window(im)
    want_crc = zlib.crc32(np.asarray(forward(im, x[None]))[0].astype("<i4").tobytes())
    board_r, fpga_r = compute_rails(board), fpga_rails(board)
    t0 = time.monotonic()
    runs: list[BenchRun] = []
    for i in range(repeats):
        runs.append(bench_once(board, x, count=count, engine=engine))
        if runs[-1].out_crc32 != want_crc:
            raise LinkError(
                f"The board's burst answered outputs (CRC-32 {runs[-1].out_crc32:#010x}) that differ from the "
                f"host integer reference ({want_crc:#010x}).",
                "Reload the model (`qtdeploy flash`) and report it if it repeats.",
            )
        if progress:
            progress((i + 1) / repeats)
    per = [_per_run(r, board_r, fpga_r) for r in runs]
    c = im.config
    res: dict[str, Any] = {
        "board": board.caps.board_id,
        "origin": board.origin,
        "engine": engine.name.lower(),
        "model": {
            "sha256": sha,
            "window": c.window,
            "d_model": c.d_model,
            "bits": c.bits,
            "ffn": c.ffn,
            "features": c.features,
            "layers": c.layers,
            "horizon": c.horizon,
        },
        "count": count,
        "repeats": repeats,
        "checked": "every burst's last output equals the host integer reference",
        "accel_cycles": runs[-1].accel_cycles or None,
        "per_inference": {k: _stats([p[k] for p in per]) for k in per[0]},
        "latency_us_min": min(r.min_us for r in runs),
        "latency_us_max": max(r.max_us for r in runs),
        "idle_mw": {"board": float(np.mean([r.idle_mw(board_r) for r in runs]))}
        | ({"fpga": float(np.mean([r.idle_mw(fpga_r) for r in runs]))} if fpga_r else {}),
        "rails": {"board": list(board_r), "fpga": list(fpga_r)},
        "wall_s": round(time.monotonic() - t0, 3),
    }
    res["sources"] = (
        {r: power_model.sources(board.board_file).get(r, "not in the power model") for r in rail_names(board)}
        if _modelled(board)
        else "the board's PAC193x monitors (measured)"
    )
    res["paper"] = paper_figure(c.window, c.d_model, c.bits or 0)
    res["power_model"] = _prediction(board, engine, runs[-1], fpga_r, board_r, im)
    return res


def paper_figure(window: int, d_model: int, bits: int) -> dict[str, float] | None:
    """The paper's measured FPGA energy and latency for its three configs (qtdeploy.model.config)."""
    from qtdeploy.model.config import PAPER

    p = PAPER.get((window, d_model, bits))
    return {"energy_uj": p[1] * 1e3, "latency_ms": p[0]} if p else None


def _prediction(board, engine, run, fpga_r, board_r, im) -> dict[str, Any] | None:
    """What the virtual boards' power model predicts (simulated and emulated boards only)."""
    if not _modelled(board):
        return None
    bf = board.board_file
    if engine == Engine.FPGA:
        busy_s = run.accel_cycles / RTL_CLOCK_HZ
        return {
            "what": f"power model: inferring - idle over the accelerator's {run.accel_cycles} cycles at "
            f"{RTL_CLOCK_HZ / 1e6:g} MHz",
            "fpga_above_idle_uj": power_model.increment_uj("inferring", fpga_r, busy_s, bf),
            "board_above_idle_uj": power_model.increment_uj("inferring", board_r, busy_s, bf),
            "cpu_time_modelled": True,
        }
    if board.origin == "emulated":
        # the RP2040 binary runs the kernel on the emulated M0+: the board's clock times it in
        # emulated cycles (no host CPU time in it), so the model is that time x mcu_inferring - idle
        busy_s = run.min_us * 1e-6
        return {
            "what": f"emulated Cortex-M0+ time ({run.min_us} us per inference, rp2040js) x power model "
            "mcu_inferring - idle",
            "cpu_time_modelled": True,
            "latency_us": float(run.min_us),
            "board_above_idle_uj": power_model.increment_uj("mcu_inferring", board_r, busy_s, bf),
            "fpga_above_idle_uj": power_model.increment_uj("mcu_inferring", fpga_r, busy_s, bf),
        }
    m = mcu_model.kernel_cost(im.config)
    out: dict[str, Any] = {
        "cpu_time_modelled": False,
        "what": "the host build runs the MCU kernel in host CPU time, which models nothing: the measured "
        "MCU-engine increment is not the RP2040's",
    }
    if m is not None:
        out |= {
            "what": f"Cortex-M0+ model: {m['cycles']:,} cycles ({m['source']}) at {m['clock_hz'] / 1e6:g} MHz "
            "x power model mcu_inferring - idle",
            "cpu_time_modelled": True,
            "cycles": m["cycles"],
            "latency_us": m["seconds"] * 1e6,
            "board_above_idle_uj": power_model.increment_uj("mcu_inferring", board_r, m["seconds"], bf),
            "fpga_above_idle_uj": power_model.increment_uj("mcu_inferring", fpga_r, m["seconds"], bf),
        }
    return out


# ---- cache: the last bench per model and engine, for forecast --energy and energy report ----


def _cache_path(sha: str, engine: str):
    from qtdeploy.paths import cache_dir

    d = cache_dir() / "energy-bench"
    d.mkdir(parents=True, exist_ok=True)
    return d / f"{sha[:16]}-{engine}.json"


def save(result: dict[str, Any]) -> None:
    """Keep ``result`` as the bench of its model and engine (replacing an older one)."""
    path = _cache_path(result["model"]["sha256"], result["engine"])
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1))
    tmp.replace(path)


def cached(sha: str, engine: str) -> dict[str, Any] | None:
    """The last bench of this model (blob SHA-256) on ``engine``, or None."""
    path = _cache_path(sha, engine)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def latest_for_board(board_id: str) -> dict[str, Any] | None:
    """The most recent cached bench on a board with this id (any model, any engine), or None."""
    from qtdeploy.paths import cache_dir

    best: tuple[float, dict[str, Any]] | None = None
    for path in (cache_dir() / "energy-bench").glob("*.json"):
        try:
            r = json.loads(path.read_text())
            mtime = path.stat().st_mtime
        except (OSError, ValueError):
            continue
        if r.get("board") == board_id and (best is None or mtime > best[0]):
            best = (mtime, r)
    return best[1] if best else None


def bench_for_board(board: Board, engine: Engine) -> dict[str, Any] | None:
    """The cached bench increment (:func:`increment`) of the board's active model on ``engine``, or
    None when this model was never benchmarked there (the blob's SHA-256 from SLOT_INFO)."""
    slots = slot_info(board)
    if slots.active_slot >= len(slots.slots):
        return None
    sha = bytes(slots.slots[slots.active_slot].blob_sha256).hex()
    result = cached(sha, engine.name.lower())
    if result is None or result.get("board") != board.caps.board_id:
        return None
    return increment(result) | {"model": sha[:12], "count": result["count"], "repeats": result["repeats"]}


def increment(result: dict[str, Any]) -> dict[str, Any]:
    """The one figure to print beside a per-request energy: the whole board's increment per
    inference, labelled; on a simulated MCU engine the M0+ model's (or None: not modelled)."""
    pred = result.get("power_model") or {}
    if result["engine"] == "mcu" and result["origin"] in ("simulated", "emulated"):
        if not pred.get("cpu_time_modelled"):
            return {"uj": None, "label": "not modelled (host build: MCU time is host CPU time)"}
        what = "emulated M0+ time" if result["origin"] == "emulated" else "Cortex-M0+ cycles"
        return {"uj": pred["board_above_idle_uj"], "label": f"modelled ({what} x power model)"}
    s = result["per_inference"]["board_above_idle_uj"]
    return {
        "uj": s["mean"],
        "sem_uj": s["sem"],
        "label": f"{result['origin']}, on-board bench of {result['count']} x {result['repeats']}",
    }
