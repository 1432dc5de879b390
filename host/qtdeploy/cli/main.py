"""Entry point: the one place where a QtdeployError becomes a message and an exit code."""

from __future__ import annotations

import sys

import click
from rich.markup import escape

from qtdeploy import __version__
from qtdeploy import progress as _progress
from qtdeploy.cli import energy, export, firmware, flash, forecast, info, inspect, pack, rtl, sim, train
from qtdeploy.cli import eval as eval_
from qtdeploy.cli.output import stderr
from qtdeploy.errors import QtdeployError
from qtdeploy.sim import register as _register_sim

_register_sim()  # sim:// for every command's serial_for_url (--port sim)
_progress.status = lambda what: stderr.status(what)  # first-use builds show a spinner on stderr


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="qtdeploy")
def cli() -> None:
    """Deploy integer-only quantized Transformer forecasters to MCU + FPGA sensor nodes.

    Every command also works against the virtual board: pass --port sim.
    """


for _module in (info, flash, forecast, energy, train, export, eval_, pack, inspect, sim, rtl, firmware):
    cli.add_command(_module.command)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1-7 by error class, 2 usage)."""
    try:
        cli.main(args=argv, prog_name="qtdeploy", standalone_mode=False)
    except QtdeployError as err:
        # escape: a message is text, not markup ("pip install 'qtdeploy[rtl]'" lost its [rtl])
        stderr.print(f"[bold red]error:[/] {escape(err.problem)}", highlight=False, soft_wrap=True)
        if err.fix:
            stderr.print(f"[bold]fix:[/] {escape(err.fix)}", highlight=False, soft_wrap=True)
        return err.exit_code
    except click.exceptions.Abort:
        stderr.print("aborted")
        return 130
    except click.ClickException as err:
        err.show()
        return err.exit_code
    except click.exceptions.Exit as err:
        return err.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
