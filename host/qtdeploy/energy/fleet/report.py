"""``energy report --from postgresql://...``: the directory report, per board and for the fleet.

Why each log goes through the directory report's own code (``energy.report.report_data``):
energy, gaps and per-inference figures must mean the same thing whether a log is read from its
directory or from the database; only the reading differs. A board's figures add up its logs
(a board re-deployed into a new directory has several); the fleet's add up the boards. Energy
per inference over time is bucketed by the hour (spans up to two days) or the day, per board
and for the fleet, so drift over a month reads as one line per board. Every figure carries
its origin (simulated / measured; "mixed" when a fleet has both).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from qtdeploy.energy.fleet.db import SCHEMA_VERSION, FleetError, SchemaError, connect, redact, schema_version
from qtdeploy.energy.logfile import Event
from qtdeploy.energy.reader import LogData
from qtdeploy.energy.report import report_data


def _inference_times(data: LogData) -> list[float]:
    """Times of the inferences ``inference_energies`` returns figures for, in the same order."""
    board = [e.unix_s for e in data.events if e.kind == "inference" and e.energy_mj is not None]
    if board:
        return board
    return [e.unix_s for e in data.events if e.kind == "inference" and e.duration_s]


def _check(conn: Any, url: str) -> None:
    version = schema_version(conn)
    if version == 0:
        raise FleetError(
            f"the database at {redact(url)} holds no qtdeploy fleet logs (no qtd_schema_version table).",
            "Push a log first (qtdeploy energy push LOGDIR --to URL), or check the URL's database.",
        )
    if version != SCHEMA_VERSION:
        raise SchemaError(
            f"the database has qtdeploy schema version {version}, this qtdeploy reads {SCHEMA_VERSION}.",
            "Migrate it (qtdeploy energy migrate --to URL) or use the qtdeploy that matches it.",
        )


def load_logs(url: str, *, board: str | None = None, since: float | None = None) -> list[LogData]:
    """Every log in the database (of ``board``, from ``since`` unix seconds) as ``LogData``."""
    conn = connect(url)
    try:
        _check(conn, url)
        logs = conn.execute(
            "SELECT log_key, log_id, board, origin, rails, total_rails, rate_hz, sample_power, meta"
            " FROM qtd_logs WHERE (%s::text IS NULL OR board = %s) ORDER BY board, log_key",
            (board, board),
        ).fetchall()
        if board is not None and not logs:
            known = [r[0] for r in conn.execute("SELECT DISTINCT board FROM qtd_logs ORDER BY 1")]
            raise FleetError(
                f"no board {board!r} in the database at {redact(url)}.",
                f"Give one of: {', '.join(known) or '(none pushed yet)'}.",
            )
        lo = -np.inf if since is None else since
        keys = [r[0] for r in logs]
        by_key: dict[int, LogData] = {}
        for key, log_id, bname, origin, rails, total, rate, sp, meta in logs:
            m = dict(meta) | {
                "board": bname, "origin": origin, "rails": list(rails), "total_rails": list(total),
                "rate_hz": rate, "sample_power": sp, "log_id": log_id,
            }  # fmt: skip
            by_key[key] = LogData(Path(bname) / log_id[:12], m)
            by_key[key].columns = ["t_s", "unix_s"] + [f"{r}_{q}" for r in rails for q in ("v", "ma", "mw")]
        for key, ok in conn.execute(
            "SELECT log_key, count(*) FROM qtd_chunks WHERE log_key = ANY(%s) GROUP BY 1", (keys,)
        ):
            by_key[key].chunks_ok = ok
        cur = conn.execute(
            "SELECT log_key, t_s, unix_s, v, ma, mw FROM qtd_samples"
            " WHERE log_key = ANY(%s) AND unix_s >= %s ORDER BY log_key, unix_s",
            (keys, float(lo)),
        )
        for key, t_s, unix_s, v, ma, mw in cur:
            by_key[key].samples.append([t_s, unix_s, *(x for trip in zip(v, ma, mw) for x in trip)])
        cur = conn.execute(
            "SELECT log_key, t_s, unix_s, kind, duration_s, energy_mj, detail FROM qtd_events"
            " WHERE log_key = ANY(%s) AND unix_s >= %s ORDER BY log_key, unix_s",
            (keys, float(lo)),
        )
        for key, t_s, unix_s, kind, dur, mj, detail in cur:
            by_key[key].events.append(Event(t_s, unix_s, kind, dur, mj, detail))
    finally:
        conn.close()
    return list(by_key.values())


def _bucket(times: list[float], energies: list[float], bucket_s: float) -> list[dict[str, Any]]:
    if not times:
        return []
    t = np.array(times)
    e = np.array(energies)
    idx = np.floor(t / bucket_s).astype(np.int64)
    out = []
    for b in np.unique(idx):
        sel = e[idx == b]
        out.append({"start_unix_s": float(b * bucket_s), "count": len(sel), "mean_mj": float(sel.mean())})
    return out


def _rail_energy(part: dict[str, Any]) -> dict[str, float]:
    if "rails_energy_mj" in part:  # a board's summary
        return part["rails_energy_mj"]
    return {rail: v["energy_mj"] for rail, v in part["rails"].items()}  # one log's report


def _sum_up(name: str, parts: list[dict[str, Any]], chunks: int, energies: list[float]) -> dict:
    """A board's figures from its logs' reports, or the fleet's from the boards'."""
    rails: dict[str, float] = defaultdict(float)
    for p in parts:
        for rail, mj in _rail_energy(p).items():
            rails[rail] += mj
    origins = sorted({p["origin"] for p in parts})
    e = np.array(energies)
    return {
        "name": name,
        "origin": origins[0] if len(origins) == 1 else "mixed",
        "logs": sum(p.get("logs", 1) for p in parts),
        "samples": sum(p["samples"] for p in parts),
        "covered_s": float(sum(p["covered_s"] for p in parts)),
        "rails_energy_mj": dict(rails),
        "total_energy_mj": float(sum(p["total_energy_mj"] for p in parts)),
        "gaps": {
            "count": sum(p["gaps"]["count"] for p in parts),
            "seconds": float(sum(p["gaps"]["seconds"] for p in parts)),
        },
        "inferences": {
            "count": len(e),
            "mean_mj": float(e.mean()) if len(e) else None,
            "median_mj": float(np.median(e)) if len(e) else None,
        },
        "chunks": chunks,
    }


def fleet_report(
    url: str, *, board: str | None = None, since: float | None = None, png: str | Path | None = None
) -> dict[str, Any]:
    """The fleet report as a dict (JSON-ready); writes the plots to ``png`` if given."""
    logs = load_logs(url, board=board, since=since)
    per_board: dict[str, list[tuple[dict, list[float], list[float]]]] = defaultdict(list)
    t_all = [r[1] for d in logs for r in d.samples]
    span = (max(t_all) - min(t_all)) if t_all else 0.0
    bucket_s = 3600.0 if span <= 2 * 86400 else 86400.0
    for d in logs:
        rep = report_data(d)
        energies = rep["inferences"].get("energies_mj", [])
        per_board[d.meta["board"]].append((rep, _inference_times(d), energies))
    boards = {}
    for name, items in per_board.items():
        times = [t for _, ts, _ in items for t in ts]
        energies = [x for _, _, es in items for x in es]
        summary = _sum_up(
            name, [r for r, _, _ in items], sum(r["chunks"]["ok"] for r, _, _ in items), energies
        )
        summary["inferences"]["over_time"] = _bucket(times, energies, bucket_s)
        summary["log_ids"] = [r["log"] for r, _, _ in items]
        boards[name] = summary
    times = [t for items in per_board.values() for _, ts, _ in items for t in ts]
    energies = [x for items in per_board.values() for _, _, es in items for x in es]
    fleet = _sum_up("fleet", list(boards.values()), sum(b["chunks"] for b in boards.values()), energies)
    fleet["boards"] = len(boards)
    fleet["inferences"]["over_time"] = _bucket(times, energies, bucket_s)
    result: dict[str, Any] = {
        "database": redact(url),
        "origin": fleet["origin"] if boards else None,
        "board": board,
        "since_unix_s": since,
        "bucket_s": bucket_s,
        "boards": boards,
        "fleet": fleet,
    }
    if png is not None:
        from qtdeploy.energy.fleet.plots import plot_fleet

        plot_fleet(result, Path(png))
        result["png"] = str(png)
    return result
