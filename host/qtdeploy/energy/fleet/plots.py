"""The fleet report's PNG: energy per rail per board, and energy per inference over time.

Why these two panels: the questions of a field study are "which node spent how much, on which
rail" (stacked bars, one per board) and "does an inference get dearer over the weeks" (one
line per board over the report's time buckets). The origin (SIMULATED / MEASURED / MIXED)
is in every title, as in the directory report's figure.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from qtdeploy.energy.plots import energy_unit


def plot_fleet(result: dict[str, Any], png: Path) -> None:
    from qtdeploy.extras import require_module

    matplotlib = require_module("matplotlib", what="matplotlib (energy report --png)", extra="plot")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    origin = str(result.get("origin") or "no data").upper()
    boards = result["boards"]
    fig, (ax_e, ax_i) = plt.subplots(1, 2, figsize=(13, 5))
    fleet = result["fleet"]
    fig.suptitle(
        f"{origin} fleet energy: {len(boards)} board(s), {fleet['samples']} samples, "
        f"{fleet['total_energy_mj'] / 1000:.3g} J in total ({result['database']})",
        fontsize=10,
    )
    names = list(boards)
    rails = sorted({r for b in boards.values() for r in b["rails_energy_mj"]})
    bottom = [0.0] * len(names)
    for k, rail in enumerate(rails):
        vals = [boards[n]["rails_energy_mj"].get(rail, 0.0) / 1000 for n in names]
        ax_e.bar(range(len(names)), vals, bottom=bottom, label=rail, color=f"C{k % 10}")
        bottom = [a + b for a, b in zip(bottom, vals)]
    ax_e.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=7)
    ax_e.set_ylabel("energy [J]")
    ax_e.set_title(f"energy per rail and board ({origin.lower()})", fontsize=10)
    if rails:
        ax_e.legend(fontsize=7, ncol=2)
    means = [p["mean_mj"] for b in boards.values() for p in b["inferences"]["over_time"]]
    if means:
        scale, unit = energy_unit(sum(means) / len(means))
        for k, (name, b) in enumerate(boards.items()):
            pts = b["inferences"]["over_time"]
            x = [datetime.fromtimestamp(p["start_unix_s"], UTC) for p in pts]
            ax_i.plot(
                x, [p["mean_mj"] * scale for p in pts], marker=".", lw=0.8, color=f"C{k % 10}", label=name
            )
        pts = fleet["inferences"]["over_time"]
        x = [datetime.fromtimestamp(p["start_unix_s"], UTC) for p in pts]
        ax_i.plot(x, [p["mean_mj"] * scale for p in pts], color="k", lw=2, label="fleet")
        ax_i.set_ylabel(f"mean energy per inference [{unit}]")
        ax_i.set_xlabel(f"time (UTC), buckets of {result['bucket_s'] / 3600:g} h")
        ax_i.legend(fontsize=7, ncol=2)
        fig.autofmt_xdate()
    else:
        ax_i.text(0.5, 0.5, "no inference markers", ha="center", va="center", transform=ax_i.transAxes)
    ax_i.set_title(f"energy per inference over time ({origin.lower()})", fontsize=10)
    ax_i.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)
