"""`qtdeploy energy push`, `energy migrate`, and the fleet halves of `energy log` / `energy report`.

Kept apart from cli/energy.py, which registers these with a few lines: pushing a log to
PostgreSQL (qtdeploy.energy.fleet) is one concern with its own options and errors. psycopg is
imported only when a command needs it, so the base install (no `fleet` extra) still runs
every other energy command and gets "install qtdeploy[fleet]" when it asks for a database.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import click
from rich.markup import escape

from qtdeploy.cli.options import json_option
from qtdeploy.cli.output import emit, stderr, stdout
from qtdeploy.errors import CompatibilityError, FormatError, UsageError

F = TypeVar("F", bound=Callable[..., Any])


# ---- energy push ---------------------------------------------------------------------------
@click.command("push")
@click.argument("logdir", type=click.Path(file_okay=False))
@click.option("--to", "url", required=True, metavar="URL", help="postgresql://USER:PASSWORD@HOST:PORT/DB")
@click.option("--board", default=None, help="The board's name in the fleet (default: its id @ this host).")
@click.option(
    "--retry-for",
    default="30s",
    show_default=True,
    help="How long to keep retrying a server that does not answer (0 = fail at once).",
)
@json_option
def push(logdir: str, url: str, board: str | None, retry_for: str, as_json: bool) -> None:
    """Ship a log's verified chunks to PostgreSQL; each lands once, however often you push."""
    from qtdeploy.cli.options import parse_duration
    from qtdeploy.energy.fleet.db import ServerUnreachable
    from qtdeploy.energy.fleet.push import LogPusher

    patience = parse_duration(retry_for) or 0.0
    pusher = LogPusher(logdir, url, board=board)  # FormatError now if it is not a log
    deadline = time.monotonic() + patience
    delay = 0.5
    with _bar(not as_json, "pushing chunks") as progress:
        while True:
            try:
                stats = pusher.push(progress)
                break
            except ServerUnreachable:
                if time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 10.0)
    pusher.close()
    result = stats.to_dict()
    emit(result, as_json, _human_push)
    if stats.damaged:
        raise FormatError(
            f"{len(stats.damaged)} damaged chunk(s) of {logdir} were not pushed (listed above).",
            "Inspect them with `qtdeploy energy report LOGDIR`; the good chunks are in the database.",
        )
    if stats.conflicts:
        raise CompatibilityError(
            f"{len(stats.conflicts)} chunk(s) differ from what the database holds under this log's id.",
            "The directory was altered or copied over another log; push it as a new log (a fresh --out).",
        )


def _human_push(r: dict[str, Any]) -> None:
    if r["log_id"] is None:
        stdout.print(f"{r['log']}: nothing committed yet, nothing to push")
        return
    stdout.print(
        f"{r['log']} -> {r['database']} as board {r['board']}: {r['chunks_pushed']} chunk(s) pushed "
        f"({r['samples_pushed']} samples, {r['events_pushed']} events), "
        f"{r['chunks_already_there']} already there",
        highlight=False,
    )
    for d in r["damaged"]:
        stdout.print(f"  [bold red]damaged, not pushed:[/] {d['where']}: {d['reason']}", highlight=False)
    for c in r["conflicts"]:
        stdout.print(f"  [bold red]conflict:[/] {c}", highlight=False)


class _bar:
    """A rich progress bar on stderr fed by ``progress(done, total)``; silent when disabled."""

    def __init__(self, enabled: bool, what: str) -> None:
        self.enabled, self.what = enabled, what
        self.bar: Any = None
        self.task: Any = None

    def __enter__(self) -> Callable[[int, int], None] | None:
        if not self.enabled:
            return None
        from rich.progress import Progress

        self.bar = Progress(console=stderr, transient=True)
        self.bar.__enter__()
        self.task = self.bar.add_task(self.what, total=None)
        return lambda done, total: self.bar.update(self.task, completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


# ---- energy migrate ------------------------------------------------------------------------
@click.command("migrate")
@click.option("--to", "url", required=True, metavar="URL", help="postgresql://USER:PASSWORD@HOST:PORT/DB")
@json_option
def migrate(url: str, as_json: bool) -> None:
    """Bring the fleet database's schema to this qtdeploy's version (creates it when empty)."""
    from qtdeploy.energy.fleet.db import SCHEMA_VERSION, connect, ensure_schema, redact

    conn = connect(url)
    try:
        before, after = ensure_schema(conn, migrate=True)
    finally:
        conn.close()
    result = {"database": redact(url), "from_version": before, "to_version": after, "latest": SCHEMA_VERSION}
    emit(result, as_json, lambda r: stdout.print(
        f"{r['database']}: schema version {r['from_version']} -> {r['to_version']}", highlight=False
    ))  # fmt: skip


# ---- energy log --push ---------------------------------------------------------------------
def push_options(f: F) -> F:
    f = click.option("--push-as", default=None, help="With --push: the board's name in the fleet.")(f)
    return click.option(
        "--push",
        "push_url",
        default=None,
        metavar="URL",
        help="Also push committed chunks to this PostgreSQL while logging (the local log stays the truth).",
    )(f)


def check_push(url: str | None) -> None:
    """Before the board is opened: a refused login, a wrong schema or no psycopg fails now, while
    nothing is written; an unreachable server only warns (the pusher catches up later)."""
    if url is None:
        return
    from qtdeploy.energy.fleet.db import ServerUnreachable, connect, ensure_schema, psycopg_module

    psycopg_module()
    try:
        conn = connect(url)
        try:
            ensure_schema(conn)
        finally:
            conn.close()
    except ServerUnreachable as err:
        stderr.print(
            f"[yellow]warning:[/] {escape(err.problem)} Logging anyway; pushing will retry.",
            highlight=False,
            soft_wrap=True,
        )


def start_push(url: str | None, out: str, name: str | None) -> Any:
    """A running ContinuousPusher for ``out`` (after ``check_push``), or None."""
    if url is None:
        return None
    from qtdeploy.energy.fleet.continuous import ContinuousPusher

    pusher = ContinuousPusher(out, url, board=name)
    pusher.start()
    return pusher


def finish_push(pusher: Any, drain_s: float = 10.0) -> dict[str, Any]:
    """Stop the pusher after pushing what is left; the part of the log command's result."""
    if pusher is None:
        return {}
    complete = pusher.stop(drain_s=drain_s)
    stats = pusher.stats
    pusher.close()
    out = stats.to_dict() if stats else {}
    out |= {"complete": complete, "last_error": pusher.last_error.problem if pusher.last_error else None}
    if not complete:
        stderr.print(
            "[yellow]warning:[/] not every chunk reached the database; it is all in the local log: "
            f"push it later with `qtdeploy energy push {pusher.root} --to URL`.",
            highlight=False,
            soft_wrap=True,
        )
    return {"push": out}


def human_push_summary(p: dict[str, Any]) -> None:
    """The `energy log --push` line: what reached the database."""
    state = "[green]all pushed[/]" if p["complete"] else f"[yellow]incomplete[/] ({p['last_error']})"
    stdout.print(
        f"pushed to {p.get('database')}: {p.get('chunks_pushed', 0)} chunk(s), "
        f"{p.get('samples_pushed', 0)} samples, {state}",
        highlight=False,
    )


# ---- energy report --from ------------------------------------------------------------------
def report_options(f: F) -> F:
    f = click.option("--since", default=None, help="With --from: from this time (2026-11-01, or 7d ago).")(f)
    f = click.option("--board", "fleet_board", default=None, help="With --from: only this board.")(f)
    return click.option(
        "--from", "from_url", default=None, metavar="URL", help="Report the fleet database at this URL."
    )(f)


def parse_since(text: str | None) -> float | None:
    """ISO date/time (UTC unless it says otherwise) or a duration back from now -> unix seconds."""
    if text is None:
        return None
    try:
        dt = datetime.fromisoformat(text)
        return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()
    except ValueError:
        pass
    from qtdeploy.cli.options import parse_duration

    try:
        return time.time() - float(parse_duration(text) or 0.0)
    except UsageError:
        raise UsageError(
            f"--since {text!r} is neither a date nor a duration.", "Write 2026-11-01, 2026-11-01T08:00 or 7d."
        ) from None


def fleet_report_cmd(
    logdir: str | None, url: str | None, board: str | None, since: str | None, png: str | None, as_json: bool
) -> bool:
    """Run the fleet report if --from was given; False when this is a directory report."""
    if url is None:
        if board or since:
            raise UsageError("--board and --since work with --from URL only.", "Add --from postgresql://...")
        return False
    if logdir is not None:
        raise UsageError("give a LOGDIR or --from URL, not both.", "Report one directory, or the database.")
    from qtdeploy.energy.fleet.report import fleet_report

    emit(fleet_report(url, board=board, since=parse_since(since), png=png), as_json, _human_fleet)
    return True


def _human_fleet(r: dict[str, Any]) -> None:
    from rich.table import Table

    f = r["fleet"]
    stdout.print(
        f"[bold]{str(r['origin'] or 'no data').upper()}[/] fleet energy in {r['database']}: {f['boards']} board(s), "
        f"{f['logs']} log(s), {f['samples']} samples",
        highlight=False,
    )
    table = Table("board", "origin", "logs", "samples", "hours", "gaps", "gap s", "energy J", "mJ/inference")
    rows = list(r["boards"].values()) + ([f] if len(r["boards"]) > 1 else [])
    for b in rows:
        inf = b["inferences"]
        table.add_row(
            b["name"], b["origin"], str(b["logs"]), str(b["samples"]), f"{b['covered_s'] / 3600:.2f}",
            str(b["gaps"]["count"]), f"{b['gaps']['seconds']:.1f}", f"{b['total_energy_mj'] / 1000:.3f}",
            f"{inf['mean_mj']:.4g} (n={inf['count']})" if inf["count"] else "-",
        )  # fmt: skip
    stdout.print(table)
    rails = ", ".join(f"{k} {v / 1000:.3f} J" for k, v in f["rails_energy_mj"].items())
    stdout.print(f"fleet energy per rail: {rails or '-'}", highlight=False)
    over = f["inferences"]["over_time"]
    if over:
        stdout.print(f"fleet energy per inference per {r['bucket_s'] / 3600:g} h (UTC):")
        for p in over[-24:]:
            at = datetime.fromtimestamp(p["start_unix_s"], UTC).strftime("%Y-%m-%d %H:%M")
            stdout.print(f"  {at}  {p['mean_mj']:.4g} mJ  (n={p['count']})", highlight=False)
    if r.get("png"):
        stdout.print(f"plots: {r['png']}")


def register(group: click.Group) -> None:
    """Add push and migrate to the `energy` group."""
    group.add_command(push)
    group.add_command(migrate)
