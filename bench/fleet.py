"""Fleet ingest: samples/s that `energy push` lands in PostgreSQL against the server's bare COPY.

    python bench/fleet.py                        # 50 gateways x 4000 samples of 4 rails
    python bench/fleet.py --gateways 10 --samples 20000

What runs: a throwaway PostgreSQL 15 on loopback (qtdeploy.energy.fleet.localserver; fsync
off, as in the tests), logs written beforehand with the real LogWriter (loadgen's generated
samples, 4 rails, 50-sample chunks). Three figures, each MEASURED on this machine (a shared
2-core box: expect noise, compare ratios within one run):

- bare COPY: the same rows, already in COPY text form, in one COPY on one connection into the
  same samples table (same BRIN index): what the server takes with no ledger, no reading of
  logs, no checksums;
- one pusher: one process pushes every log in turn (read, SHA-256, convert, ledger + COPY per
  batch of chunks): the cost of exactly-once on one stream;
- N gateways: N processes push their own log at once (released together once connected).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import tempfile
import time
from pathlib import Path

from qtdeploy.energy.fleet.chunks import ManifestCursor, read_chunk
from qtdeploy.energy.fleet.db import connect, ensure_schema
from qtdeploy.energy.fleet.loadgen import RAILS, open_log, write_log
from qtdeploy.energy.fleet.localserver import LocalServer
from qtdeploy.energy.fleet.push import SAMPLE_COLS, LogPusher, copy_samples_text


def make_logs(root: Path, gateways: int, samples: int, chunk_rows: int) -> list[Path]:
    dirs = []
    for g in range(gateways):
        out = root / f"gw{g:02d}"
        w = open_log(str(out), f"gw{g:02d}")
        write_log(w, 0, samples // chunk_rows, chunk_rows, 1_800_000_000.0 + g)
        w.close()
        dirs.append(out)
    return dirs


def bare_copy(url: str, dirs: list[Path]) -> tuple[int, float]:
    """Rows and seconds of one COPY of every log's samples, converted beforehand."""
    text = []
    for key, d in enumerate(dirs, start=1):
        entries, _ = ManifestCursor(d).new_entries()
        for e in entries:
            if e.kind == "samples":
                text.append(copy_samples_text(key, e, read_chunk(d, e), len(RAILS)))  # type: ignore[arg-type]
    data = "".join(text).encode()
    rows = data.count(b"\n")
    conn = connect(url)
    ensure_schema(conn)
    t = time.perf_counter()
    with conn.transaction():
        with conn.cursor().copy(f"COPY qtd_samples ({SAMPLE_COLS}) FROM STDIN") as cp:
            cp.write(data)
    dt = time.perf_counter() - t
    conn.close()
    return rows, dt


def _gateway(d: str, url: str, ready: mp.Barrier, out: mp.Queue) -> None:
    p = LogPusher(d, url, board=Path(d).name)
    p.open()
    ready.wait()
    s = p.push()
    out.put((s.samples, time.perf_counter()))
    p.close()


def concurrent_push(url: str, dirs: list[Path]) -> tuple[int, float]:
    ctx = mp.get_context("spawn")
    ready = ctx.Barrier(len(dirs) + 1)
    out = ctx.Queue()
    procs = [ctx.Process(target=_gateway, args=(str(d), url, ready, out)) for d in dirs]
    for p in procs:
        p.start()
    ready.wait()
    t0 = time.perf_counter()
    results = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    return sum(r[0] for r in results), max(r[1] for r in results) - t0


def one_pusher(url: str, dirs: list[Path]) -> tuple[int, float]:
    conn = connect(url)
    ensure_schema(conn)
    conn.close()
    t = time.perf_counter()
    rows = 0
    for d in dirs:
        p = LogPusher(d, url, board=d.name)
        rows += p.push().samples
        p.close()
    return rows, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gateways", type=int, default=50)
    ap.add_argument("--samples", type=int, default=4000, help="samples per gateway's log")
    ap.add_argument("--chunk-rows", type=int, default=50, help="samples per chunk (0.5 s at 100/s)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="qtd-fleet-bench-") as tmp:
        dirs = make_logs(Path(tmp), args.gateways, args.samples, args.chunk_rows)
        server = LocalServer().start()
        try:
            rows_b, dt_b = bare_copy(server.create_database("bare"), dirs)
            rows_1, dt_1 = one_pusher(server.create_database("one"), dirs)
            rows_n, dt_n = concurrent_push(server.create_database("fleet"), dirs)
        finally:
            server.destroy()
    assert rows_b == rows_1 == rows_n, (rows_b, rows_1, rows_n)
    bare, one, fleet = rows_b / dt_b, rows_1 / dt_1, rows_n / dt_n
    print(f"fleet ingest, MEASURED on this machine (PostgreSQL 15 on loopback, fsync off), {args.gateways} logs "
          f"x {args.samples} samples of {len(RAILS)} rails, {args.chunk_rows}-sample chunks:")  # fmt: skip
    print(
        f"  bare COPY, 1 connection, pre-converted rows : {bare:12,.0f} samples/s ({rows_b} in {dt_b:.2f} s)"
    )
    print(f"  energy push, 1 process, all logs in turn    : {one:12,.0f} samples/s  ratio {one / bare:.2f}")
    print(
        f"  energy push, {args.gateways} gateway processes at once : {fleet:12,.0f} samples/s  ratio {fleet / bare:.2f}"
    )


if __name__ == "__main__":
    main()
