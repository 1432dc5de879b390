"""`qtdeploy rtl report`: resources (Yosys), cycles (simulation), latency, energy (modelled)."""

from __future__ import annotations

import json

from qtdeploy.model.config import PAPER  # the paper's figures; bench/rtl.py imports them from here too
from qtdeploy.rtl import config as rcfg
from qtdeploy.rtl import energy, memory
from qtdeploy.rtl.synth import XC7S15

CLOCK_HZ = 100e6


def simulated_cycles(cfg: rcfg.RtlConfig, window: int, d_model: int, bits: int) -> int | None:
    """Cycles per inference from the Verilated RTL on the config's golden vectors (cached)."""
    from qtdeploy.rtl import sim

    case = rcfg.vectors_case(window, d_model, bits, cfg.ffn)
    if not (case / "model.qtb").is_file():
        return None
    cached = sim.cache_dir() / "cycles" / f"{cfg.key}-{rcfg.source_hash()}.json"
    if cached.is_file():
        return int(json.loads(cached.read_text())["cycles"])
    res = sim.run(cfg, case)
    cycles = int(max(res["cycles"]))
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps({"cycles": cycles}))
    return cycles


def build_report(
    window: int,
    d_model: int,
    bits: int,
    *,
    synth: bool = True,
    simulate: bool = True,
    lanes: int | None = None,
    ffn: int | None = None,
    lutram: int = 0,
) -> dict:
    """One config's report; ``ffn`` None means the paper cases' 4 x d_model (the paper does not
    state its FFN width: other widths are a shape choice, compared with the paper's latency all the same)."""
    cfg = rcfg.config_for(window, d_model, bits, lanes=lanes, ffn=ffn, lutram=lutram)
    out: dict = {
        "config": {"window": window, "d_model": d_model, "bits": bits},
        "rtl": cfg.to_dict(),
        "abi": f"{cfg.abi:#010x}",
        "clock_hz": int(CLOCK_HZ),
        "capacity": dict(XC7S15),
    }
    out["memory"] = memory.budget(cfg)
    res = None
    if synth:
        from qtdeploy.rtl.synth import synthesize

        res = synthesize(cfg)
        out["resources"] = {
            k: res[k] for k in ("lut", "lut_logic", "lut_ram", "ff", "dsp", "ramb36", "ramb18", "bram36")
        }
        out["fits"] = all(res[k] <= XC7S15[k] for k in XC7S15)
    cycles = simulated_cycles(cfg, window, d_model, bits) if simulate else None
    out["cycles"] = cycles
    out["simulated"] = simulate
    paper = PAPER.get((window, d_model, bits))
    out["paper"] = {"latency_ms": paper[0], "energy_mj": paper[1]} if paper else None
    if cycles is not None:
        lat_ms = cycles / CLOCK_HZ * 1e3
        out["latency_ms"] = lat_ms
        out["speedup_vs_paper"] = paper[0] / lat_ms if paper else None
        if res is not None:
            out["energy"] = energy.estimate(res, cycles, CLOCK_HZ)
    return out


def render_lines(r: dict) -> list[str]:
    c = r["config"]
    ffn = r["rtl"]["ffn"]
    shape = "" if ffn == 4 * c["d_model"] else f", ffn {ffn}"
    lines = [
        f"qtd_top for window {c['window']}, d_model {c['d_model']}{shape}, {c['bits']} bit "
        f"(LANES {r['rtl']['lanes']}, ABI {r['abi']}"
        + (f", distributed RAM for {', '.join(r['rtl']['lutram'])}" if r["rtl"].get("lutram") else "")
        + ") on XC7S15"
    ]
    if "resources" in r:
        res, cap = r["resources"], r["capacity"]
        lines.append(
            f"  LUT {res['lut']:,}/{cap['lut']:,} (logic {res['lut_logic']:,}, RAM {res['lut_ram']:,})  "
            f"FF {res['ff']:,}/{cap['ff']:,}  DSP48E1 {res['dsp']}/{cap['dsp']}  "
            f"BRAM {res['bram36']:g}/{cap['bram36']} RAMB36 (RAMB36E1 {res['ramb36']}, RAMB18E1 {res['ramb18']})"
            f"  -> {'fits' if r['fits'] else 'DOES NOT FIT'} (Yosys synth_xilinx counts)"
        )
    mb = r.get("memory")
    if mb:
        b = mb["bits"]
        lines.append(
            f"  contents {mb['total_bits']:,} bits = {mb['total_share_of_bram']:.0%} of the block RAM "
            f"({mb['bram_bits']:,}) at perfect packing: weights {b['weights']:,}, per-channel {b['per_channel']:,}, "
            f"in.bias {b['in_bias']:,}, activations {b['activations']:,}"
            + ("" if mb["bound_fits_bram"] else f"; {mb['overflow_bits']:,} bits must go to distributed RAM")
        )
    if r.get("cycles") is None:
        why = "no golden vectors for this config" if r.get("simulated", True) else "--no-sim"
        lines.append(f"  cycles: not simulated ({why})")
    else:
        s = f"  {r['cycles']:,} cycles = {r['latency_ms']:.4f} ms at 100 MHz (simulated)"
        if r.get("paper"):
            s += f"; paper {r['paper']['latency_ms']} ms -> {r['speedup_vs_paper']:.1f}x faster"
        lines.append(s)
    if r.get("energy"):
        e = r["energy"]
        s = f"  energy {e['energy_mj'] * 1e3:.2f} uJ/inference MODELLED ({e['power_mw']} mW: static {e['static_mw']}, dynamic {e['dynamic_mw']})"
        if r.get("paper"):
            s += f"; paper {r['paper']['energy_mj']} mJ measured"
        lines.append(s)
        lines.append("  model assumptions: " + "; ".join(e["assumptions"]))
    return lines
