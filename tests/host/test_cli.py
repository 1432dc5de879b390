"""The CLI shell: every subcommand listed, unfinished ones refuse clearly with a non-zero exit."""

from __future__ import annotations

import subprocess
import sys

from qtdeploy.cli.main import main

SUBCOMMANDS = [
    "info",
    "flash",
    "forecast",
    "energy",
    "train",
    "export",
    "eval",
    "pack",
    "inspect",
    "sim",
    "rtl",
]


def test_help_lists_every_subcommand(capsys) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in SUBCOMMANDS:
        assert f"  {name} " in out, name


def test_console_script_runs() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "qtdeploy.cli.main", "--version"], capture_output=True, text=True
    )
    assert proc.returncode == 0 and "qtdeploy" in proc.stdout


def test_unknown_option_is_a_usage_error(capsys) -> None:
    assert main(["info", "--no-such-option"]) == 2
    assert "No such option" in capsys.readouterr().err
