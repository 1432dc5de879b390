"""A first-order energy-per-inference MODEL for the accelerator on an XC7S15 (no silicon measured).

    E = (P_static + P_clock + P_dyn) * latency
    P_dyn = f_MHz * (LUT * a_logic * c_lut + FF * a_logic * c_ff + DSP * a_mac * c_dsp
                     + BRAM36 * a_mac * c_bram)

Assumptions (all stated in the report; replace with XPE or a PAC1934 measurement when available):

* P_static = 32 mW: device static power of a Spartan-7 XC7S15 at Tj = 25 C, the order of magnitude
  Xilinx Power Estimator gives for the smallest 7-series parts (it rises steeply with temperature).
* P_clock = 2 mW: global clock buffer and spine at 100 MHz.
* a_logic = 0.125: XPE's default toggle rate for logic and flip-flops.
* a_mac = the fraction of engine cycles that stream weights (taken as 0.9: the sequencer spends
  the rest in softmax and pipeline drains); DSPs and block RAM are enabled that fraction of cycles.
* Per-resource energy at 100 % activity, per MHz: LUT incl. routing 0.8 uW, flip-flop 0.15 uW,
  DSP48E1 10 uW, RAMB36 (read every cycle) 25 uW. Typical 7-series magnitudes at VCCINT = 1.0 V.

The paper's figures were measured on the board's FPGA rails; these are modelled, not measured.
"""

from __future__ import annotations

P_STATIC_MW = 32.0
P_CLOCK_MW = 2.0
ACT_LOGIC = 0.125
ACT_MAC = 0.9
C_LUT_UW_MHZ = 0.8
C_FF_UW_MHZ = 0.15
C_DSP_UW_MHZ = 10.0
C_BRAM_UW_MHZ = 25.0

ASSUMPTIONS = [
    f"static {P_STATIC_MW:g} mW (XC7S15, Tj 25 C, XPE order of magnitude), clock tree {P_CLOCK_MW:g} mW",
    f"toggle rate {ACT_LOGIC:g} for LUTs/FFs (XPE default); DSP and BRAM active {ACT_MAC:g} of cycles",
    f"per MHz at full activity: LUT {C_LUT_UW_MHZ} uW, FF {C_FF_UW_MHZ} uW, DSP48E1 {C_DSP_UW_MHZ} uW, "
    f"RAMB36 {C_BRAM_UW_MHZ} uW",
]


def estimate(res: dict, cycles: int, clock_hz: float = 100e6) -> dict:
    """Modelled power (mW) and energy per inference (mJ) from Yosys counts and simulated cycles."""
    f_mhz = clock_hz / 1e6
    dyn_uw = f_mhz * (
        res["lut"] * ACT_LOGIC * C_LUT_UW_MHZ
        + res["ff"] * ACT_LOGIC * C_FF_UW_MHZ
        + res["dsp"] * ACT_MAC * C_DSP_UW_MHZ
        + res["bram36"] * ACT_MAC * C_BRAM_UW_MHZ
    )
    p_mw = P_STATIC_MW + P_CLOCK_MW + dyn_uw / 1000.0
    latency_s = cycles / clock_hz
    return {
        "power_mw": round(p_mw, 1),
        "dynamic_mw": round(dyn_uw / 1000.0, 1),
        "static_mw": P_STATIC_MW,
        "energy_mj": p_mw * latency_s,
        "modelled": True,
        "assumptions": ASSUMPTIONS,
    }
