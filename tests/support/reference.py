"""For tests of QAT itself at a narrow width: the 8-bit reference runs as it does, but says it shipped."""

from __future__ import annotations

from typing import Any

import pytest


def reference_ships(monkeypatch: pytest.MonkeyPatch) -> None:
    """Below 8 bits `train` first runs the 8-bit reference (``qat._reference``) and, where that falls
    back, runs no QAT of its own (session 31). A tiny model trained for a few epochs falls back on
    most series, so a test of the narrow QAT (its schedule, its seeding) lets the reference run,
    phases and all, and patches only its verdict to "shipped"."""
    from qtdeploy.train import qat  # torch: only where a test trains

    real = qat._reference

    def ships(*args: Any) -> dict[str, Any]:
        return {**real(*args), "fell_back": False, "reason": None}

    monkeypatch.setattr(qat, "_reference", ships)
