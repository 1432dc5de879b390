"""``--check``: every prediction recomputed by the host integer reference, first mismatch fatal.

The board's answer must equal :func:`qtdeploy.model.reference.forward` bit for bit (the
project's contract: one integer model, four places, one answer). Windows are checked in batches
(the reference is vectorised), in window order, so the error names the first mismatching window.
"""

from __future__ import annotations

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
            "(--out keeps the rows before it).")
        self.seq, self.board, self.host = seq, board, host


class Checker:
    """Collects (seq, window, outputs) and verifies them ``batch`` at a time."""

    def __init__(self, im: IntModel, engine: str, batch: int = 256) -> None:
        self.im, self.engine, self.batch = im, engine, batch
        self.todo: list[tuple[int, np.ndarray, np.ndarray]] = []
        self.checked = 0

    def add(self, seq: int, x: np.ndarray, outputs: np.ndarray) -> None:
        self.todo.append((seq, x, outputs))

    @property
    def full(self) -> bool:
        return len(self.todo) >= self.batch

    def verify(self) -> int:
        """Check everything added; raises PredictionMismatch on the first (lowest seq) difference."""
        if not self.todo:
            return 0
        xs = np.stack([x for _, x, _ in self.todo]).astype(np.int64)
        want = reference.forward(self.im, xs)
        for (seq, _, got), host in zip(self.todo, want):
            if not np.array_equal(np.asarray(got, dtype=np.int64), host):
                self.todo.clear()
                raise PredictionMismatch(seq, np.asarray(got, dtype=np.int64), host, self.engine)
        n = len(self.todo)
        self.checked += n
        self.todo.clear()
        return n
