"""Option groups shared by subcommands, so every command spells them the same way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from qtdeploy.errors import UsageError

F = Callable[..., Any]


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout.")(f)


def board_option(f: F) -> F:
    return click.option(
        "--board",
        default=None,
        metavar="NAME|FILE",
        help="Board file: a name under boards/ (env5, virtual) or a path to a .toml. "
        "Default: what the board reports, else env5.",
    )(f)


def port_options(f: F) -> F:
    """--port, --baud and --trace: everything that opens a link to a board."""
    f = click.option("--trace", is_flag=True, help="Log every frame sent and received to stderr.")(f)
    f = click.option("--baud", type=int, default=None, help="UART baud rate (default: the board file's).")(f)
    f = click.option(
        "--port",
        default=None,
        metavar="PORT",
        help="Serial port (/dev/ttyACM0, COM3), 'sim' or a sim:// URL for the virtual board. "
        "Default: auto-detect by the board file's USB VID:PID.",
    )(f)
    return f


def setup_trace(trace: bool) -> None:
    """--trace: every frame the link sends or receives, logged by ``qtdeploy.link`` to stderr."""
    if not trace:
        return
    import logging

    logger = logging.getLogger("qtdeploy.link")
    if not any(getattr(h, "_qtd_trace", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(relativeCreated)9.1f ms  %(message)s"))
        handler._qtd_trace = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)


def open_board(port: str | None, baud: int | None, trace: bool, board: str | None) -> Any:
    """The board session for a command's --port/--baud/--trace/--board (qtdeploy.ops.Board)."""
    from qtdeploy.ops import Board

    setup_trace(trace)
    return Board.open(port, board=board, baud=baud)


def parse_duration(text: str | None) -> float | None:
    """'90s', '10m', '3h', '2d' or plain seconds -> seconds."""
    if text is None:
        return None
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        if text[-1:] in units:
            return float(text[:-1]) * units[text[-1]]
        return float(text)
    except ValueError:
        raise UsageError(
            f"--duration {text!r} is not a duration.", "Write it as 90s, 10m, 3h or 2d."
        ) from None
