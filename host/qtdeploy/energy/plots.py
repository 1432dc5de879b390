"""The report's PNG: power per rail over time, and the histogram of energy per inference.

Why one figure with two panels: the two questions a field log answers ("what did each rail
draw, and when?" and "what does one inference cost?") read best side by side, and one file is
easy to attach to an issue. The origin (SIMULATED / MEASURED) is in the title of the figure
and of each panel, so a cropped screenshot still says where its numbers came from. Matplotlib
runs headless (Agg); long logs are averaged into at most ~4000 points per rail.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from qtdeploy.energy.reader import LogData

_MAX_POINTS = 4000


def energy_unit(mean_mj: float) -> tuple[float, str]:
    """(factor from mJ, unit) that keeps per-inference figures readable: uJ below 1 mJ."""
    return (1.0, "mJ") if abs(mean_mj) >= 1.0 else (1000.0, "uJ")


def _decimate(t: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bin means, so a spike narrower than a pixel still shows in the mean of its bin."""
    if len(t) <= _MAX_POINTS:
        return t, y
    n = len(t) // _MAX_POINTS + 1
    m = len(t) // n * n
    return t[:m].reshape(-1, n).mean(axis=1), y[:m].reshape(-1, n).mean(axis=1)


def plot_report(
    data: LogData,
    rows: np.ndarray,
    runs: list[slice],
    energies: list[float],
    result: dict[str, Any],
    png: Path,
) -> None:
    from qtdeploy.extras import require_module

    matplotlib = require_module("matplotlib", what="matplotlib (energy report --png)", extra="plot")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    origin = data.origin.upper()
    rails = data.rails
    fig, (ax_p, ax_h) = plt.subplots(1, 2, figsize=(13, 5), gridspec_kw={"width_ratios": [2.2, 1]})
    fig.suptitle(
        f"{origin} energy log: board {result.get('board')}, {result['samples']} samples, "
        f"{result['duration_s']:.1f} s ({data.root.name})",
        fontsize=11,
    )
    t0 = rows[0, 1] if len(rows) else 0.0
    span = (rows[-1, 1] - t0) if len(rows) else 0.0
    scale, unit = (60.0, "min") if span > 600 else (1.0, "s")
    for k, name in enumerate(rails):
        label = f"{name} ({result['rails'][name]['mean_mw']:.1f} mW mean)" if len(rows) else name
        first = True
        for r in runs:  # one line per run: no line drawn across a gap
            tt, pp = _decimate((rows[r, 1] - t0) / scale, rows[r, 2 + 3 * k + 2])
            ax_p.plot(tt, pp, lw=0.8, color=f"C{k % 10}", label=label if first else None)
            first = False
    for g in (e for e in data.events if e.kind == "gap"):
        ax_p.axvspan(
            (g.unix_s - t0) / scale,
            (g.unix_s + (g.duration_s or 0) - t0) / scale,
            color="0.85",
            zorder=0,
            label=None,
        )
    for a, b in result["gaps"].get("unmarked", []):  # between runs: no logger was running
        ax_p.axvspan(
            (a - t0) / scale,
            (b - t0) / scale,
            facecolor="0.96",
            edgecolor="0.75",
            hatch="//",
            lw=0,
            zorder=0,
            label=None,
        )
    ax_p.set_xlabel(
        f"time since log start [{unit}] (host clock; grey: board disconnected, hatched: not logging)"
    )
    ax_p.set_ylabel("power [mW]")
    ax_p.set_title(f"power per rail ({origin.lower()})", fontsize=10)
    ax_p.grid(alpha=0.3)
    if rails and len(rows):
        ax_p.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=4, frameon=False)
    inf = result["inferences"]
    if energies:
        scale, unit = energy_unit(float(np.mean(energies)))
        e = np.array(energies) * scale
        ax_h.hist(e, bins=min(40, max(5, len(e) // 3)), color="C0", edgecolor="white")
        ax_h.axvline(float(np.mean(e)), color="C3", lw=1.2, label=f"mean {np.mean(e):.3g} {unit}")
        ax_h.legend(fontsize=8)
        ax_h.set_xlabel(f"energy per inference [{unit}]\n({inf['source']})", fontsize=9)
        ax_h.set_ylabel("inferences")
    else:
        ax_h.text(
            0.5, 0.5, "no inference markers in this log", ha="center", va="center", transform=ax_h.transAxes
        )
        ax_h.set_xticks([])
        ax_h.set_yticks([])
    ax_h.set_title(f"energy per inference ({origin.lower()}, n={inf['count']})", fontsize=10)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)
