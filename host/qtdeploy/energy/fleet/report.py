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

from qtdeploy.energy.fleet.db import (
    SCHEMA_VERSION,
    FleetError,
    SchemaError,
    classify,
    connect,
    privilege_error,
    psycopg_module,
    redact,
    schema_version,
)
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
    psycopg = psycopg_module()
    conn = connect(url)
    try:
        return _load(conn, url, board, since)
    except psycopg.OperationalError as err:
        raise classify(err, url) from None
    except psycopg.errors.InsufficientPrivilege as err:
        raise privilege_error(err) from None
    except psycopg.Error as err:
        raise FleetError(
            f"the database at {redact(url)} refused the report's queries: {str(err).splitlines()[0]}.",
            "Check the database: qtdeploy energy migrate --to URL checks and updates its schema.",
        ) from None
    finally:
        conn.close()


def _load(conn: Any, url: str, board: str | None, since: float | None) -> list[LogData]:
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
    for nr in sorted({len(d.meta["rails"]) for d in by_key.values()}):
        same = [k for k, d in by_key.items() if len(d.meta["rails"]) == nr]
        for key, rows in _samples(conn, same, nr, float(lo)).items():
            by_key[key].samples = rows  # type: ignore[assignment]  # an array: report_data takes both
    cur = conn.execute(
        "SELECT log_key, t_s, unix_s, kind, duration_s, energy_mj, detail FROM qtd_events"
        " WHERE log_key = ANY(%s) AND unix_s >= %s ORDER BY log_key, unix_s",
        (keys, float(lo)),
    )
    for key, t_s, unix_s, kind, dur, mj, detail in cur:
        by_key[key].events.append(Event(t_s, unix_s, kind, dur, mj, detail))
    return list(by_key.values())


def _samples(conn: Any, keys: list[int], nrails: int, since: float) -> dict[int, np.ndarray]:
    """Sample rows (t_s, unix_s, then V, mA, mW per rail) of these logs, one array per log.

    Why binary COPY into NumPy: a month of one board is millions of rows, and turning each into
    Python floats costs ~20 us a row; binary COPY rows of fixed width are one ``frombuffer``."""
    cols = ", ".join(f"v[{i}], ma[{i}], mw[{i}]" for i in range(1, nrails + 1))
    query = (
        f"COPY (SELECT log_key, t_s, unix_s, {cols} FROM qtd_samples WHERE log_key = ANY(%s) AND unix_s >= %s"
        " ORDER BY log_key, unix_s) TO STDOUT (FORMAT binary)"
    )
    buf = bytearray()
    with conn.cursor().copy(query, (keys, since)) as cp:
        for block in cp:
            buf += block
    n = 2 + 3 * nrails  # float8 columns after log_key
    fields = [("n", ">i2"), ("klen", ">i4"), ("key", ">i4")]
    for i in range(n):
        fields += [(f"l{i}", ">i4"), (f"c{i}", ">f8")]
    dtype = np.dtype(fields)
    body = bytes(buf[19:-2])  # 19-byte header, 2-byte trailer
    if len(body) % dtype.itemsize:
        raise FleetError(
            "the samples table holds rows of another shape.", "Check the database (NULL rails?)."
        )
    rec = np.frombuffer(body, dtype=dtype)
    if len(rec) and not ((rec["n"] == n + 1).all() and all((rec[f"l{i}"] == 8).all() for i in range(n))):
        raise FleetError("the samples table holds NULL or missing rail values.", "Check the database.")
    values = (
        np.stack([rec[f"c{i}"].astype(np.float64) for i in range(n)], axis=1)
        if len(rec)
        else np.zeros((0, n))
    )
    keys_col = rec["key"].astype(np.int64)
    out = {}
    for key in np.unique(keys_col):
        out[int(key)] = values[keys_col == key]
    return out


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
    t_all = [float(x) for d in logs if len(d.samples) for x in (d.samples[0][1], d.samples[-1][1])]
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
