"""A source wrapper for the forecast fault tests: something happens to the board at a reading."""

from __future__ import annotations

from collections.abc import Callable


class EventAfter:
    """The readings of ``inner``; before handing out reading ``k``, ``action()`` runs: another
    session's HELLO (ends the board's streams as a reset does; RESET itself is refused while a
    window stream runs), a RESET between one-at-a-time windows, or the board's power going."""

    def __init__(self, inner, k: int, action: Callable[[], object]) -> None:
        self.inner, self.k, self.action = inner, k, action
        self.live, self.stats, self.name = inner.live, inner.stats, inner.name

    def __iter__(self):
        for i, r in enumerate(self.inner):
            if i == self.k:
                self.action()
            yield r

    def close(self) -> None:
        self.inner.close()
