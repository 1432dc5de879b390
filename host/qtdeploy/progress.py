"""How library code says "this takes a while" without printing.

Why a hook: builds that run on first use (the virtual board's firmware, a Verilated RTL library,
Yosys synthesis) take seconds to minutes inside calls that have no progress of their own to
report. Library code wraps them in ``with progress.status("building ...")``; the CLI points
:data:`status` at a spinner on stderr, and library users get silence (the default).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext


def _silent(what: str) -> AbstractContextManager:
    return nullcontext()


status: Callable[[str], AbstractContextManager] = _silent
