"""The accelerator against the paper's design for its three configurations.

    python bench/rtl.py            # Yosys + simulation results (cached: minutes the first time)
    python bench/rtl.py --json

Resources are Yosys `synth_xilinx -family xc7` counts; cycles come from the Verilated RTL on each
config's golden vectors; energy is MODELLED (qtdeploy.rtl.energy), the paper's is measured.
"""

from __future__ import annotations

import argparse
import json

from qtdeploy.rtl.report import PAPER, build_report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-synth", action="store_true")
    args = ap.parse_args()
    # each paper config at the default lanes (72 / bits: one RAMB36 word per cycle), then the d_model 64
    # configs with more lanes (10x and more, at the price of a wider weight memory and more LUTs)
    runs = [(w, d, b, None) for (w, d, b) in PAPER] + [(6, 64, 8, 16), (12, 64, 6, 24)]
    rows = [build_report(w, d, b, synth=not args.no_synth, lanes=lanes) for (w, d, b, lanes) in runs]
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    hdr = (f"{'config (W,D,B)':<15}{'lanes':>6}{'LUT':>7}{'FF':>7}{'DSP':>5}{'BRAM36':>8}{'fits':>6}"
           f"{'cycles':>9}{'lat ms':>9}{'paper ms':>9}{'speedup':>9}{'E uJ*':>8}{'paper uJ':>9}{'mem%**':>8}")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        c, res = r["config"], r.get("resources") or {}
        e = r.get("energy")
        print(f"{c['window']},{c['d_model']},{c['bits']:<9}{r['rtl']['lanes']:>6}{res.get('lut', '-'):>7}{res.get('ff', '-'):>7}"
              f"{res.get('dsp', '-'):>5}{res.get('bram36', '-'):>8}{('yes' if r.get('fits') else 'NO') if res else '-':>6}"
              f"{r['cycles']:>9,}{r['latency_ms']:>9.4f}{r['paper']['latency_ms']:>9}{r['speedup_vs_paper']:>8.1f}x"
              f"{(e['energy_mj'] * 1e3 if e else float('nan')):>8.2f}{r['paper']['energy_mj'] * 1e3:>9.0f}"
              f"{r['memory']['total_share_of_bram']:>8.0%}")
    print("* energy modelled (static + dynamic from resources, qtdeploy.rtl.energy), not measured; "
          "XC7S15: 8,000 LUT, 16,000 FF, 20 DSP48E1, 10 RAMB36; 100 MHz")
    print("** contents (weights at their width, per-channel int32/int32/uint8, in.bias, activations) at perfect "
          "packing as a share of the XC7S15's 368,640 block-RAM bits (qtdeploy.rtl.memory): over 100 % cannot fit "
          "in block RAM with run-time-loaded weights")


if __name__ == "__main__":
    main()
