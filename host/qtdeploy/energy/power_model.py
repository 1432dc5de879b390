"""What the virtual board's power model says, and where each of its figures comes from.

The model is the board file's (boards/env5.toml: each rail's ``sim_ua`` and ``sim_source``,
[power.sim]); firmware/tools/board_header.py compiles the same table into hal/posix's PAC1934
models. This module is its host-side view for two jobs: naming the *source* of every rail's figure
next to a simulated number (protocol/power.md §3 shows the table, checked against the board file
by tests/energy/test_power_model.py), and predicting what a bench *should* measure on the virtual
board (the FPGA rails' increment over the accelerator's active time), which
tests/e2e/test_power_bench.py compares with what the board measures.

Every figure here is a model input, not a measurement. None comes from a Xilinx Power Estimator
run or a silicon measurement of this design: the FPGA's inferring total is the paper's measured
63-79 mW average, split across the rails by assumption; the rest are assumptions of the right
order (see ``sources``).
"""

from __future__ import annotations

from functools import cache

from qtdeploy.boards import SIM_STATES, Board, load_board
from qtdeploy.errors import BoardFileError

#: The board whose model the virtual boards run (boards/virtual.toml extends env5).
DEFAULT_BOARD = "virtual"


@cache
def _default() -> Board:
    return load_board(DEFAULT_BOARD)


def _modelled(board: Board | None) -> Board:
    b = board or _default()
    if b.power_sim is None:
        raise BoardFileError(
            f"board {b.id!r} has no power model ([power.sim]).",
            "Add [power.sim] and each rail's sim_ua (see boards/env5.toml), or predict on a virtual board.",
        )
    return b


def sources(board: Board | None = None) -> dict[str, str]:
    """Rail -> where its model figures come from (the board file's ``sim_source``)."""
    return {r.name: r.sim_source for r in _modelled(board).rails}


def power_uw(state: str, board: Board | None = None) -> dict[str, int]:
    """Per-rail power of a state in uW, in power_model.c's integer steps (the upstream rail's
    current is the others' power through the regulators, truncated to whole uA as the C does)."""
    b = _modelled(board)
    k = SIM_STATES.index(state)
    eff = b.power_sim.regulator_efficiency_pct  # type: ignore[union-attr]  # _modelled checked it
    down_uw = sum(r.nominal_mv * r.sim_ua[k] // 1000 for r in b.rails if r.sim_ua is not None)
    out = {}
    for r in b.rails:
        ua = r.sim_ua[k] if r.sim_ua is not None else down_uw * 100 * 1000 // (eff * r.nominal_mv)
        out[r.name] = r.nominal_mv * ua // 1000
    return out


def increment_uj(state: str, rails: tuple[str, ...], seconds: float, board: Board | None = None) -> float:
    """Energy ``rails`` draw above idle while in ``state`` for ``seconds`` (uJ)."""
    on, idle = power_uw(state, board), power_uw("idle", board)
    return sum(on[r] - idle[r] for r in rails) * seconds
