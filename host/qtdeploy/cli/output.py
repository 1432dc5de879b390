"""Printing results: JSON for scripts, rich tables for people, progress on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

stdout = Console()
stderr = Console(stderr=True)


def emit(result: Any, as_json: bool, human: Callable[[Any], None]) -> None:
    """Print ``result`` as JSON (stdout, nothing else) or through ``human`` for a person."""
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2, sort_keys=False, default=_default) + "\n")
    else:
        human(result)


def _default(obj: Any) -> Any:
    if isinstance(obj, bytes):
        return obj.hex()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


@contextmanager
def byte_progress(description: str, total: int, enabled: bool = True) -> Iterator[Callable[[int], None]]:
    """A bytes/s progress bar on stderr; yields a callback taking the bytes done so far.

    Library code reports progress through such a callback and stays silent itself.
    """
    if not enabled:
        yield lambda done: None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=stderr, transient=False) as progress:
        task = progress.add_task(description, total=total)
        yield lambda done: progress.update(task, completed=done)
