"""What the virtual board's power model says, and where each of its figures comes from.

The C table (firmware/hal/posix/power_model.c) drives the simulated PAC1934s; this module is its
host-side view for two jobs: naming the *source* of every rail's figure next to a simulated
number (protocol/power.md §3 has the same table), and predicting what a bench *should* measure
on the virtual board (the FPGA rails' increment over the accelerator's active time), which
tests/energy/test_bench_e2e.py compares with what the board measures (so a change to the C
table that is not mirrored here fails a test).

Every figure here is a model input, not a measurement. None comes from a Xilinx Power Estimator
run or a silicon measurement of this design: the FPGA's inferring total is the paper's measured
63-79 mW average, split across the rails by assumption; the rest are assumptions of the right
order (see SOURCES).
"""

from __future__ import annotations

RAILS = ("sensors", "usb_raw", "mcu", "wifi", "fpga_vccio", "fpga_vccaux", "fpga_vccint", "fpga_vccbram")
BUS_MV = (3300, 5000, 3300, 3300, 3300, 1800, 1000, 1000)
# uA per rail and state, power_model.c's k_current_ua (usb_raw is computed, see power_uw)
CURRENT_UA = {
    "idle": (2000, 0, 18000, 0, 1000, 5000, 12000, 1000),
    "configuring": (2000, 0, 20000, 0, 6000, 12000, 20000, 1000),
    "loading": (2000, 0, 24000, 0, 4000, 6000, 25000, 8000),
    "inferring": (2000, 0, 20000, 0, 2000, 8000, 45000, 5000),
    "mcu_inferring": (2000, 0, 24000, 0, 1000, 5000, 12000, 1000),
}
USB_EFFICIENCY_PCT = 85

# Where each rail's figures come from (protocol/power.md §3, "source" column).
_FPGA = "paper's measured 63-79 mW FPGA average (inferring total 71 mW); split across rails and idle/configuring by assumption"
SOURCES = {
    "sensors": "assumption (sensor front end, constant)",
    "usb_raw": "derived: the other rails through 85 %-efficient regulators from 5 V",
    "mcu": "assumption of the right order for an RP2040 at 125 MHz (18 mA idle polling, 24 mA busy); not a datasheet figure",
    "wifi": "assumption (radio off: 0)",
    "fpga_vccio": _FPGA,
    "fpga_vccaux": _FPGA,
    "fpga_vccint": _FPGA,
    "fpga_vccbram": _FPGA,
}


def power_uw(state: str) -> dict[str, int]:
    """Per-rail power of a state in uW, in power_model.c's integer steps."""
    cur = list(CURRENT_UA[state])
    usb = RAILS.index("usb_raw")
    down_uw = sum(BUS_MV[r] * cur[r] // 1000 for r in range(len(RAILS)) if r != usb)
    cur[usb] = down_uw * 100 * 1000 // (USB_EFFICIENCY_PCT * BUS_MV[usb])
    return {name: BUS_MV[r] * cur[r] // 1000 for r, name in enumerate(RAILS)}


def increment_uj(state: str, rails: tuple[str, ...], seconds: float) -> float:
    """Energy ``rails`` draw above idle while in ``state`` for ``seconds`` (uJ)."""
    on, idle = power_uw(state), power_uw("idle")
    return sum(on[r] - idle[r] for r in rails) * seconds
