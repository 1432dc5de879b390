"""Energy tests: the fixture source beside them is imported by the tests and run as the
logging subprocess the kill tests SIGKILL."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
