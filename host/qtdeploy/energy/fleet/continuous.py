"""``energy log --push``: a background thread that pushes the log's chunks while it grows.

Why a thread beside the logger and not pushes inside its loop: the logger's promise (a chunk
committed at least every second) must not wait for a database across a field network. The
pusher only reads what the logger has committed (manifest lines and their bytes), so the local
log stays the source of truth: while the server is away the log keeps growing, and the pusher
retries with a backoff (up to ``backoff_max_s``) and catches up. Login and schema errors are
told at start, before logging begins, because no retry mends them.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from qtdeploy.energy.fleet.db import FleetError, ServerUnreachable
from qtdeploy.energy.fleet.push import LogPusher, PushStats
from qtdeploy.errors import QtdeployError


class ContinuousPusher:
    """Pushes ``root`` every ``interval_s`` until ``stop``; never raises into the logger."""

    def __init__(
        self,
        root: str | Path,
        url: str,
        *,
        board: str | None = None,
        interval_s: float = 1.0,
        backoff_max_s: float = 10.0,
        batch_rows: int = 20000,
    ) -> None:
        self.root, self.url, self.board = Path(root), url, board
        self.interval_s, self.backoff_max_s, self.batch_rows = interval_s, backoff_max_s, batch_rows
        self.pusher: LogPusher | None = None
        self.last_error: QtdeployError | None = None
        self.errors = 0
        self.pushes = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def check(self) -> bool:
        """Try the server once: raises for a refused login, a wrong schema or no driver; returns
        False when it is only unreachable (logging goes on, pushing catches up later)."""
        try:
            self._attempt()
            return True
        except ServerUnreachable as err:
            self.last_error = err
            return False

    def _attempt(self) -> PushStats | None:
        with self._lock:
            if self.pusher is None:
                if not (self.root / "meta.json").exists():
                    return None  # the logger has not created the log yet
                self.pusher = LogPusher(self.root, self.url, board=self.board, batch_rows=self.batch_rows)
            stats = self.pusher.push()
            self.pushes += 1
            self.last_error = None
            return stats

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="qtd-fleet-push", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        delay = self.interval_s
        while not self._stop.wait(delay):
            try:
                self._attempt()
                delay = self.interval_s
            except QtdeployError as err:  # unreachable, refused, schema: retried, the log goes on
                self.last_error, self.errors = err, self.errors + 1
                delay = min(max(delay * 2, 0.2), self.backoff_max_s)
            except Exception as err:  # never end the thread silently: say it, and retry
                self.last_error = FleetError(f"pushing failed: {type(err).__name__}: {err}")
                self.errors += 1
                delay = self.backoff_max_s

    def stop(self, *, drain_s: float = 10.0) -> bool:
        """Stop the thread, then push what is left, retrying for up to ``drain_s``; True when
        every committed chunk is in the database."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        deadline = time.monotonic() + drain_s
        delay = 0.2
        while True:
            try:
                self._attempt()
                return True
            except QtdeployError as err:
                self.last_error, self.errors = err, self.errors + 1
                if time.monotonic() + delay > deadline:
                    return False
                time.sleep(delay)
                delay = min(delay * 2, self.backoff_max_s)

    def close(self) -> None:
        if self.pusher is not None:
            self.pusher.close()

    @property
    def stats(self) -> PushStats | None:
        return self.pusher.stats if self.pusher else None
