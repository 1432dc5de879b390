"""``--check``: every prediction recomputed by the host integer reference, first mismatch fatal.

The board's answer must equal :func:`qtdeploy.model.reference.forward` bit for bit (the
project's contract: one integer model, four places, one answer). Windows are checked in batches
(the reference is vectorised), in window order, so the error names the first mismatching window.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from qtdeploy.errors import DeviceError
from qtdeploy.model import reference
from qtdeploy.model.intmodel import IntModel


class PredictionMismatch(DeviceError):
    """The board's prediction differs from the host integer reference for the same window."""

    def __init__(self, seq: int, board: np.ndarray, host: np.ndarray, engine: str) -> None:
        super().__init__(
            f"window {seq}: the board ({engine} engine) predicted {board.tolist()}, the host integer "
            f"reference {host.tolist()} (int32 outputs).",
            "Re-flash the image (`qtdeploy flash`); if it repeats, report it with the blob and this window "
            "(--out keeps the rows before it).",
        )
        self.seq, self.board, self.host = seq, board, host


class Checker:
    """Collects (seq, window, outputs) in window order and verifies them ``batch`` at a time on a
    worker thread (NumPy's integer loops release the GIL, so the reference overlaps the link work
    on a second core); :attr:`verified_upto` says which rows may be written."""

    def __init__(self, im: IntModel, engine: str, batch: int = 256) -> None:
        self.im, self.engine, self.batch = im, engine, batch
        self.todo: list[tuple[int, np.ndarray, np.ndarray]] = []
        self.futures: deque[Future] = deque()
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="qtd-check") if batch > 1 else None
        self.checked = 0
        self.verified_upto = 0  # every window below this number that had a result is verified

    def add(self, seq: int, x: np.ndarray, outputs: np.ndarray) -> None:
        self.todo.append((seq, x, outputs))
        if len(self.todo) >= self.batch:
            self._submit()
        self.collect(wait=False)

    def _submit(self) -> None:
        if not self.todo:
            return
        work, self.todo = self.todo, []
        if self.pool is None:
            self._finish(self._verify(work))
        else:
            self.futures.append(self.pool.submit(self._verify, work))

    def collect(self, wait: bool) -> None:
        """Take finished batches in order; raises PredictionMismatch for the first bad window."""
        while self.futures and (wait or self.futures[0].done()):
            self._finish(self.futures.popleft().result())

    def finish(self) -> None:
        """Verify everything added so far (the end of a run)."""
        self._submit()
        self.collect(wait=True)

    def close(self) -> None:
        if self.pool is not None:
            for f in self.futures:
                f.cancel()
            self.pool.shutdown(wait=True)

    def _finish(self, done: tuple[int, int]) -> None:
        n, upto = done
        self.checked += n
        self.verified_upto = max(self.verified_upto, upto)

    def _verify(self, work: list[tuple[int, np.ndarray, np.ndarray]]) -> tuple[int, int]:
        xs = np.stack([x for _, x, _ in work]).astype(np.int64)
        want = reference.forward(self.im, xs)
        for (seq, _, got), host in zip(work, want):
            if not np.array_equal(np.asarray(got, dtype=np.int64), host):
                raise PredictionMismatch(seq, np.asarray(got, dtype=np.int64), host, self.engine)
        return len(work), work[-1][0] + 1
