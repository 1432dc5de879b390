"""A virtual gateway for the fleet load test and bench: a log written while it is pushed.

Why generated samples through the real writer, not the virtual board: fifty firmware
processes would measure the machine's CPU, not the pusher. Each gateway writes its log with
the real ``LogWriter`` (the same CSV segments, manifest and checksums a board's log has) from
a deterministic sample generator, one chunk every ``pause_s``, while a ``ContinuousPusher``
ships the chunks; then it drains and exits 0 when every committed chunk is in the database
(3 if the drain timed out), printing its push statistics as JSON. A gateway killed and started again resumes its log in a new
session, like ``energy log`` does::

    python -m qtdeploy.energy.fleet.loadgen OUT URL BOARD CHUNKS ROWS PAUSE_S [UNTIL_FILE]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from qtdeploy.energy.fleet.continuous import ContinuousPusher
from qtdeploy.energy.logfile import Event, LogWriter, Sample

RAILS = ("mcu", "fpga_vccint", "fpga_vccaux", "fpga_vccio")
VOLTS = (3.3, 1.0, 1.8, 3.3)
RATE_HZ = 100


def sample(k: int, t0: float) -> Sample:
    """Sample k of a gateway: every value a function of k (exact in the log's decimals)."""
    rails = tuple(
        (v, 10.0 * (j + 1) + (k % 7) * 0.5, v * (10.0 * (j + 1) + (k % 7) * 0.5)) for j, v in enumerate(VOLTS)
    )
    return Sample(k / RATE_HZ, t0 + k / RATE_HZ, rails)


def write_log(
    writer: LogWriter,
    start_k: int,
    chunks: int,
    rows: int,
    t0: float,
    pause_s: float = 0.0,
    until: Path | None = None,
) -> int:
    """Append ``chunks`` chunks of ``rows`` samples (and an inference event per chunk), and go
    on until the file ``until`` exists (a test's signal: the faults are over)."""
    k = start_k
    n = 0
    while n < chunks or (until is not None and not until.exists()):
        n += 1
        for _ in range(rows):
            writer.add_sample(sample(k, t0))
            k += 1
        writer.add_event(
            Event(k / RATE_HZ, t0 + k / RATE_HZ, "inference", 0.002, 0.08 + (k % 5) * 0.001, "loadgen")
        )
        writer.flush()
        if pause_s:
            time.sleep(pause_s)
    return k


def open_log(out: str, board: str) -> LogWriter:
    return LogWriter.open(
        out,
        board=board,
        origin="simulated",
        rails=RAILS,
        rate_hz=RATE_HZ,
        durable=False,
        sample_power="instantaneous",
    )


def main(argv: list[str]) -> int:
    out, url, board = argv[0], argv[1], argv[2]
    chunks, rows, pause_s = int(argv[3]), int(argv[4]), float(argv[5])
    until = Path(argv[6]) if len(argv) > 6 else None
    writer = open_log(out, board)
    t0 = 1_800_000_000.0 + writer.session * 10_000  # sessions never overlap in time
    writer.add_event(Event(0.0, t0, "session", detail=f"session {writer.session} simulated"))
    pusher = ContinuousPusher(out, url, board=board, interval_s=0.1, backoff_max_s=1.0, batch_rows=2000)
    pusher.start()
    try:
        write_log(writer, 0, chunks, rows, t0, pause_s, until)
    finally:
        writer.close()
    done = pusher.stop(drain_s=120.0)
    pusher.close()
    stats = pusher.stats.to_dict() if pusher.stats else {}
    print(
        json.dumps({"complete": done, "errors": pusher.errors, "pushes": pusher.pushes} | stats), flush=True
    )
    return 0 if done else 3


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
