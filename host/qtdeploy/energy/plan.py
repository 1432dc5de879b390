"""`qtdeploy energy plan`: keep the FPGA configured between forecasts, or power it off?

One forecast every ``period`` seconds. Two strategies for the FPGA rails (the MCU and the rest of
the board draw the same in both, so they are left out):

* **configured**: the FPGA stays configured and idle; per period it draws its idle power for the
  whole period plus each inference's increment above idle.
* **power-gated**: the FPGA's rails are off between forecasts; per forecast they power up
  (``power_up_us``), the FPGA reconfigures from flash (the board file's bitstream length at its
  configuration clock), the MCU loads the model's weights again (``load_us``), it infers, and the
  rails go off again.

    E_configured = P_idle x T + E_inf
    E_gated      = P_idle x t_up + P_cfg x t_cfg + P_load x t_load + E_inf + P_off x (T - t_on)
    crossover    T* = (E_gated - E_inf - P_off x (T - t_on)) / (P_idle - P_off) ... solved for T

Power-gating wins for every period above the crossover. All powers come from the board file's
``[fpga.power]`` (its ``source`` is printed), except the idle power, which a cached
``energy bench`` on this board replaces (measured or simulated, labelled).
"""

from __future__ import annotations

from typing import Any

from qtdeploy.boards import Board as BoardFile
from qtdeploy.errors import CompatibilityError, UsageError


def plan(
    board: BoardFile,
    period_s: float,
    *,
    load_us: int = 0,
    inference_uj: float = 0.0,
    idle_uw: float | None = None,
    idle_source: str = "",
) -> dict[str, Any]:
    """Both strategies for one forecast every ``period_s`` seconds; the winner and the crossover."""
    fp = board.fpga.power
    if fp is None:
        raise CompatibilityError(
            f"Board file {board.id!r} has no [fpga.power] table, so the cost of power-gating is unknown.",
            "Add [fpga.power] (idle_uw, configuring_uw, loading_uw, off_uw, power_up_us, source); see boards/env5.toml.",
        )
    if load_us < 0 or inference_uj < 0:
        raise UsageError("--load-ms and --inference-uj cannot be negative.", "Give 0 or more.")
    p_idle = float(idle_uw if idle_uw is not None else fp.idle_uw)  # uW
    t_up, t_cfg = fp.power_up_us, board.fpga.config_us
    t_on = t_up + t_cfg + load_us  # us the rails are on before the inference
    if period_s * 1e6 <= t_on:
        raise UsageError(
            f"--period {period_s:g} s is not longer than one power-up + configuration + model load "
            f"({t_on / 1e3:.1f} ms), so the FPGA could never be switched off between forecasts.",
            f"Give a period longer than {t_on / 1e6:.3f} s (e.g. 60s).",
        )
    # uW x us = pJ; / 1e6 -> uJ
    e_switch_uj = (p_idle * t_up + fp.configuring_uw * t_cfg + fp.loading_uw * load_us) / 1e6
    e_off_uj = fp.off_uw * (period_s * 1e6 - t_on) / 1e6
    e_conf = p_idle * period_s + inference_uj  # uW x s = uJ
    e_gate = e_switch_uj + e_off_uj + inference_uj
    # P_idle x T = e_switch + P_off x (T - t_on)  ->  T* = (e_switch - P_off t_on) / (P_idle - P_off)
    crossover_s = (e_switch_uj - fp.off_uw * t_on / 1e6) / (p_idle - fp.off_uw)
    crossover_s = max(crossover_s, t_on / 1e6)
    return {
        "board": board.id,
        "period_s": period_s,
        "configured": {
            "energy_per_forecast_uj": e_conf,
            "average_mw": e_conf / period_s / 1e3,
        },
        "power_gated": {
            "energy_per_forecast_uj": e_gate,
            "average_mw": e_gate / period_s / 1e3,
            "switch_uj": e_switch_uj,
            "on_ms": t_on / 1e3,
        },
        "winner": "power_gated" if e_gate < e_conf else "configured",
        "crossover_s": crossover_s,
        "inputs": {
            "idle_mw": p_idle / 1e3,
            "idle_source": idle_source or fp.source,
            "configuring_mw": fp.configuring_uw / 1e3,
            "loading_mw": fp.loading_uw / 1e3,
            "off_mw": fp.off_uw / 1e3,
            "power_up_ms": t_up / 1e3,
            "config_ms": t_cfg / 1e3,
            "config_from": (
                f"{board.fpga.bitstream_bytes:,} bytes x 8 at {board.fpga.config_clock_hz / 1e6:g} MHz "
                f"x {board.fpga.config_bus_width} bit(s) ({board.fpga.config_mode})"
                + (
                    ", a full-size image: an upper bound for a compressed bitstream"
                    if board.fpga.bitstream_compressed
                    else ""
                )
            ),
            "load_ms": load_us / 1e3,
            "inference_uj": inference_uj,
            "source": fp.source,
        },
        "origin": "modelled",
        "scope": "FPGA rails only (the MCU and the rest of the board draw the same in both strategies)",
    }


def parse_period(text: str) -> float:
    """'60s', '10m', '1h', '1d', '250ms' or plain seconds -> seconds (> 0)."""
    units = {"ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
    t = text.strip()
    for unit in ("ms", "s", "m", "h", "d"):
        if t.endswith(unit):
            num, k = t[: -len(unit)], units[unit]
            break
    else:
        num, k = t, 1.0
    try:
        value = float(num) * k
    except ValueError:
        raise UsageError(
            f"--period {text!r} is not a duration.", "Write it as 60s, 10m, 1h or 250ms."
        ) from None
    if not value > 0:
        raise UsageError(f"--period {text!r} is not positive.", "Give one forecast every e.g. 60s.")
    return value
