"""Load a repository script that is not part of the package (bench/, firmware/tools/, examples/)
as a module, so that a test calls the very functions the script runs."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def load_script(path: Path, name: str | None = None) -> ModuleType:
    """``path`` as a module named ``name`` (default: the file's stem), registered in sys.modules
    so that the script's own dataclasses and pickling find it."""
    name = name or path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, path
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod
