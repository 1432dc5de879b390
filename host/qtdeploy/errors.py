"""The error hierarchy: every failure a user can meet, with the problem and the fix.

Library code raises these; only ``qtdeploy.cli.main`` turns them into a message and an exit
code. Each error carries ``problem`` (what is wrong, naming the file/field/value) and ``fix``
(what the user should do), so a message is never just "invalid input".
"""

from __future__ import annotations


class QtdeployError(Exception):
    """Root of every error qtdeploy raises on purpose."""

    exit_code = 1

    def __init__(self, problem: str, fix: str = "") -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem}" + (f" Fix: {fix}" if fix else ""))


class UsageError(QtdeployError):
    """Bad command-line arguments or option combinations."""

    exit_code = 2


class NotAvailableError(QtdeployError):
    """This installation cannot do it: an optional tool is missing (an extra such as ``[rtl]`` or
    ``[train]`` is not installed; the fix names it), or the RTL does not build this design.

    Never a fake result. ``status`` is the protocol Status code where one names the condition
    (RTL_UNSUPPORTED), so callers branch on it and not on the message text.
    """

    exit_code = 3

    def __init__(self, problem: str, fix: str = "", *, status: int | None = None) -> None:
        super().__init__(problem, fix)
        self.status = status


class FormatError(QtdeployError):
    """A file (blob, bitstream, vectors, CSV) is malformed, truncated or inconsistent."""

    exit_code = 4


class BoardFileError(FormatError):
    """A boards/*.toml file is malformed or describes an impossible board."""


class CompatibilityError(QtdeployError):
    """Well-formed inputs that do not fit together: wrong part, ABI mismatch, image too large."""

    exit_code = 5


class LinkError(QtdeployError):
    """The link to the board failed: no answer, too many corrupted frames, port gone."""

    exit_code = 6


class DeviceError(QtdeployError):
    """The board answered with a non-OK status; ``status`` is the protocol Status code."""

    exit_code = 7

    def __init__(self, problem: str, fix: str = "", *, status: int | None = None) -> None:
        super().__init__(problem, fix)
        self.status = status
