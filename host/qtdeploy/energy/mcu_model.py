"""The MCU engine's CPU time per inference on the RP2040, as a labelled MODEL.

Why a model: the virtual board runs the firmware's kernel on the host's CPU, so the time its
power model spends in "MCU inferring" is host CPU time (tens of microseconds) and says nothing
about the RP2040. The kernel's cost on a Cortex-M0+ was counted instead: bench/mcu_kernel.py
cross-compiles the kernel as the firmware is, executes it in the unicorn emulator on the golden
vectors' windows, counts every instruction and estimates cycles with the M0+ timings (TRM table
3-1, no wait states), at 133 MHz. Those counts are recorded below per config; a config that was
not counted has no model (None), and the bench says "not modelled" rather than guess.

tests/energy/test_mcu_model.py re-counts (12,32,4) and checks the record (when the Arm compiler
and unicorn are installed).
"""

from __future__ import annotations

from typing import Any

CLOCK_HZ = 133_000_000
SOURCE = "bench/mcu_kernel.py: unicorn instruction count x Cortex-M0+ timings, no wait states"

# (window, features, d_model, ffn, bits, layers, horizon) -> (instructions, cycles), recorded with
# `python bench/mcu_kernel.py --json` at commit 5c7068c (firmware/core/kernel.c unchanged since).
RECORDED: dict[tuple[int, int, int, int, int, int, int], tuple[int, int]] = {
    (6, 4, 64, 256, 8, 1, 1): (2_775_462, 3_821_821),  # w6_d64_b8
    (12, 4, 64, 256, 6, 1, 1): (6_349_778, 8_587_253),  # w12_d64_b6
    (12, 4, 32, 128, 4, 1, 1): (1_995_636, 2_751_899),  # w12_d32_b4 (the window-relative retrain, issue 13)
}


# the same key -> MODEL_LOAD's CPU work (hash + parse + bind of the blob), in ms at 133 MHz, from
# the same run ("load_ms_133mhz"); the SPI transfers to the accelerator come on top.
RECORDED_LOAD_MS: dict[tuple[int, int, int, int, int, int, int], float] = {
    (6, 4, 64, 256, 8, 1, 1): 80.54,
    (12, 4, 64, 256, 6, 1, 1): 68.44,
    (12, 4, 32, 128, 4, 1, 1): 29.53,
}


def load_cost(config: Any) -> dict[str, Any] | None:
    """Modelled CPU time of one MODEL_LOAD for ``config`` (the SPI writes not included), or None."""
    try:
        ms = RECORDED_LOAD_MS.get(key(config))
    except (KeyError, AttributeError, TypeError):
        return None
    return None if ms is None else {"seconds": ms / 1e3, "source": SOURCE}


def key(config: Any) -> tuple[int, int, int, int, int, int, int]:
    """The shape a recorded count belongs to (a ModelConfig or the vectors' config dict)."""
    get: Any = config.get if isinstance(config, dict) else lambda k: getattr(config, k)
    w, f, d, ffn, b, n, h = (
        int(get(k)) for k in ("window", "features", "d_model", "ffn", "bits", "layers", "horizon")
    )
    return (w, f, d, ffn, b, n, h)


def kernel_cost(config: Any) -> dict[str, Any] | None:
    """Modelled cycles and seconds per inference on the RP2040 for ``config``, or None."""
    try:
        rec = RECORDED.get(key(config))
    except (KeyError, AttributeError, TypeError):
        return None
    if rec is None:
        return None
    return {
        "instructions": rec[0],
        "cycles": rec[1],
        "seconds": rec[1] / CLOCK_HZ,
        "clock_hz": CLOCK_HZ,
        "source": SOURCE,
    }
