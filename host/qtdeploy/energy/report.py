"""`energy report`: per-rail mean power and energy, energy per inference, and the plots.

Why these definitions: a field log has holes (board restarts, cable pulls) and the reader
drops damaged chunks, so energy is integrated (trapezoid) only inside runs of samples closer
than ``gap_factor`` sample periods; nothing is interpolated across a hole. A board's
POWER_STREAM samples are means over the interval since the previous sample
(``meta.json`` ``sample_power: interval_mean``): a late sample still covers its whole
interval, so runs break only at sessions and reconnects, and each sample adds its power times
its own interval (the board's accumulated energy, exactly). Energy per
inference is the board's own figure (POWER_ENERGY since a POWER_MARK) whenever ``inference``
events carry one (those without are then left out of the statistics), else the integral of the summed ``total_rails`` over the inference's span.
Every number and every plot carries the log's origin: simulated or measured.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from qtdeploy.energy.reader import LogData, read_log

# Interval-mean logs: a silence this long means the stream stopped (the BoardSource gives up on
# a board after max(3 s, 5 periods) without samples and reconnects, which a gap event marks).
MEAN_SILENCE_S = 10.0


def _runs(t: np.ndarray, rate_hz: float, gap_factor: float) -> list[slice]:
    """Index ranges of samples without a hole longer than gap_factor sample periods."""
    if len(t) == 0:
        return []
    limit = max(gap_factor / max(rate_hz, 1e-9), 1e-6)
    breaks = np.nonzero(np.diff(t) > limit)[0] + 1
    edges = [0, *breaks.tolist(), len(t)]
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def _mean_runs(t: np.ndarray, events: list, limit_s: float) -> list[slice]:
    """Runs of interval-mean samples: one stream each. A new stream starts at every session and
    every reconnect (their events), and after a silence longer than the logger tolerates."""
    if len(t) == 0:
        return []
    cuts = np.array(sorted(e.unix_s for e in events if e.kind in ("session", "gap")))
    after = np.searchsorted(cuts, t[:-1], side="right")  # an event in (t[k-1], t[k]] cuts there
    cut = (np.diff(t) > limit_s) | ((after < len(cuts)) & (cuts[np.minimum(after, len(cuts) - 1)] <= t[1:]))
    edges = [0, *(np.nonzero(cut)[0] + 1).tolist(), len(t)]
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def _holes(t: np.ndarray, runs: list[slice], gaps: list, rate_hz: float) -> list[tuple[float, float]]:
    """(from, to) unix times of silences between runs that no gap event covers: a logger that was
    killed, or a forecast whose board lost power, before the next run resumed the log. They count
    as gaps: the log holds no samples there."""
    period = 1.0 / max(rate_hz, 1e-9)
    out = []
    for prev, nxt in zip(runs, runs[1:]):
        a, b = (
            float(t[prev.stop - 1]),
            float(t[nxt.start]) - period,
        )  # the next run's first sample covers one period
        if b - a <= 1.5 * period:
            continue
        if any(g.unix_s < b and g.unix_s + (g.duration_s or 0) > a for g in gaps):
            continue
        out.append((a, b))
    return out


def _integrate(t: np.ndarray, p_mw: np.ndarray, runs: list[slice], interval_mean: bool = False) -> float:
    """mJ over each run (a lone sample contributes nothing). Interval-mean samples (the board's
    POWER_STREAM: each the mean since the previous one) add power x their own interval, which is
    exactly the board's energy; instantaneous samples are joined by trapezoids."""
    if interval_mean:
        return float(sum(np.sum(p_mw[r][1:] * np.diff(t[r])) for r in runs if r.stop - r.start > 1))
    return float(sum(np.trapezoid(p_mw[r], t[r]) for r in runs if r.stop - r.start > 1))


def inference_energies(data: LogData, t: np.ndarray, total_mw: np.ndarray) -> tuple[list[float], str]:
    """Energy (mJ) of each inference event, and where the figures come from."""
    board = [float(e.energy_mj) for e in data.events if e.kind == "inference" and e.energy_mj is not None]
    if board:  # the board's own accumulator: preferred whenever the log has it
        return (
            board,
            "board energy over each request's span (POWER_MARK .. POWER_ENERGY, host round trip included)",
        )
    infs = [e for e in data.events if e.kind == "inference" and e.duration_s]
    out = []
    for e in infs:
        a, b = e.unix_s, e.unix_s + float(e.duration_s or 0)
        i0, i1 = np.searchsorted(t, [a, b])
        if i1 - i0 < 2 and len(t) >= 2:  # span shorter than two samples: interpolate its ends
            grid = np.array([a, b])
            out.append(float(np.trapezoid(np.interp(grid, t, total_mw), grid)))
            continue
        tt = np.concatenate(([a], t[i0:i1], [b]))
        out.append(float(np.trapezoid(np.interp(tt, t, total_mw), tt)))
    return out, "integrated from the logged samples"


def report(logdir: str | Path, *, png: str | Path | None = None, gap_factor: float = 3.0) -> dict[str, Any]:
    """The report of a log as a dict (JSON-ready); writes the plots to ``png`` if given."""
    return report_data(read_log(logdir), png=png, gap_factor=gap_factor)


def report_data(data: LogData, *, png: str | Path | None = None, gap_factor: float = 3.0) -> dict[str, Any]:
    """The report of log data however it was read (a directory, or the fleet database)."""
    rails = data.rails
    rows = np.array(data.samples, dtype=float).reshape(-1, 2 + 3 * len(rails))
    t = rows[:, 1]
    rate = float(data.meta.get("rate_hz") or 1)
    interval_mean = data.meta.get("sample_power") == "interval_mean"
    runs = _mean_runs(t, data.events, MEAN_SILENCE_S) if interval_mean else _runs(t, rate, gap_factor)
    covered = float(sum(t[r.stop - 1] - t[r.start] for r in runs))
    per_rail: dict[str, Any] = {}
    for k, name in enumerate(rails):
        p = rows[:, 2 + 3 * k + 2]
        per_rail[name] = {
            "mean_mw": float(p.mean()) if len(p) else None,
            "energy_mj": _integrate(t, p, runs, interval_mean),
            "mean_v": float(rows[:, 2 + 3 * k].mean()) if len(p) else None,
            "mean_ma": float(rows[:, 2 + 3 * k + 1].mean()) if len(p) else None,
        }
    total_rails = [r for r in data.meta.get("total_rails", rails) if r in rails]
    total = sum((rows[:, 2 + 3 * rails.index(r) + 2] for r in total_rails), np.zeros(len(t)))
    energies, source = inference_energies(data, t, total)
    gaps = [e for e in data.events if e.kind == "gap"]
    holes = _holes(t, runs, gaps, rate)
    result: dict[str, Any] = {
        "log": str(data.root),
        "origin": data.origin,
        "board": data.meta.get("board"),
        "samples": len(t),
        "start_unix_s": float(t[0]) if len(t) else None,
        "duration_s": float(t[-1] - t[0]) if len(t) else 0.0,
        "covered_s": covered,
        "rails": per_rail,
        "total_rails": total_rails,
        "total_mean_mw": float(total.mean()) if len(t) else None,
        "total_energy_mj": _integrate(t, total, runs, interval_mean),
        "gaps": {
            "count": len(gaps) + len(holes),
            "seconds": float(sum(g.duration_s or 0 for g in gaps) + sum(b - a for a, b in holes)),
            "marked": len(gaps),
            "unmarked": [[a, b] for a, b in holes],
        },
        "inferences": _stats(energies, source) | _above_baseline(data, total, energies) | _bench(data),
        "chunks": {
            "ok": data.chunks_ok,
            "damaged": [{"where": d.where, "reason": d.reason} for d in data.damaged],
        },
        "uncommitted_bytes": dict(data.uncommitted_bytes),
    }
    if png is not None:
        from qtdeploy.energy.plots import plot_report

        plot_report(data, rows, runs, energies, result, Path(png))
        result["png"] = str(png)
    return result


def _above_baseline(data: LogData, total_mw: np.ndarray, energies: list[float]) -> dict[str, Any]:
    """Each inference's energy less the baseline (the log's median total power) over its span.

    Why: the board's figure covers POWER_MARK .. POWER_ENERGY, i.e. the whole board for the host
    round trip (milliseconds), mostly idle power; the work of the inference itself (what the paper's
    84 uJ at 1.33 ms counts) is what rises above that baseline. Per inference that excess is
    within the monitor's noise over a span this long, so only the mean (with its standard error)
    is given. A modelled split, and labelled so."""
    infs = [e for e in data.events if e.kind == "inference" and e.energy_mj is not None and e.duration_s]
    if not infs or len(infs) != len(energies) or not len(total_mw):
        return {}
    base = float(np.median(total_mw))
    extra = np.array([float(e.energy_mj or 0.0) - base * float(e.duration_s or 0.0) for e in infs])
    span = np.array([float(e.duration_s or 0.0) for e in infs])  # both checked in infs
    return {
        "baseline_mw": base,
        "span_ms_median": float(np.median(span) * 1e3),
        "above_baseline_mean_mj": float(extra.mean()),
        "above_baseline_sem_mj": float(extra.std(ddof=1) / np.sqrt(len(extra))) if len(extra) > 1 else None,
    }


def _bench(data: LogData) -> dict[str, Any]:
    """The on-board bench's increment per inference (`energy bench`), when the forecast that wrote
    this log had one for its model: what the inference itself adds, beside the request's span."""
    marks = [(e, e.energy_mj) for e in data.events if e.kind == "bench" and e.energy_mj is not None]
    if not marks:
        return {}
    last, mj = marks[-1]
    return {"bench_above_idle_mj": float(mj or 0.0), "bench_label": last.detail}


def _stats(energies: list[float], source: str) -> dict[str, Any]:
    if not energies:
        return {"count": 0, "source": None}
    e = np.array(energies)
    return {
        "count": len(e),
        "source": source,
        "mean_mj": float(e.mean()),
        "median_mj": float(np.median(e)),
        "std_mj": float(e.std()),
        "min_mj": float(e.min()),
        "max_mj": float(e.max()),
        "energies_mj": e.tolist(),
    }
