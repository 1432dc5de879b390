"""`qtdeploy energy bench` and `qtdeploy energy plan` (registered by cli/energy.py).

bench: energy per inference measured on the board (qtdeploy.energy.bench); plan: keep the FPGA
configured between forecasts or power it off (qtdeploy.energy.plan).
"""

from __future__ import annotations

from typing import Any

import click

from qtdeploy.cli.options import board_option, json_option, open_board, port_options
from qtdeploy.cli.output import emit, stderr, stdout


@click.command("bench")
@port_options
@board_option
@click.option(
    "--count",
    "-n",
    type=int,
    required=True,
    help="Inferences per burst (the board runs them with no host in the loop).",
)
@click.option("--engine", type=click.Choice(["fpga", "mcu"]), default="fpga", show_default=True)
@click.option(
    "--repeats", "-r", type=int, default=5, show_default=True, help="Bursts, each after its own idle span."
)
@click.option("--load", is_flag=True, help="MODEL_LOAD the active slot's model onto the engine first.")
@json_option
def bench(
    port: str | None,
    baud: int | None,
    trace: bool,
    board: str | None,
    count: int,
    engine: str,
    repeats: int,
    load: bool,
    as_json: bool,
) -> None:
    """Energy per inference from on-board bursts against an idle baseline: whole board, FPGA rails, increment."""
    from qtdeploy._protocol import Engine, Status
    from qtdeploy.energy import bench as eb
    from qtdeploy.errors import DeviceError
    from qtdeploy.ops.stream import load_model

    eng = Engine[engine.upper()]
    with open_board(port, baud, trace, board) as session, _bar(repeats, not as_json) as progress:
        if load:
            load_model(session, eng)
        try:
            result = eb.run_bench(session, count=count, engine=eng, repeats=repeats, progress=progress)
        except DeviceError as err:
            if err.status == Status.NO_MODEL:
                raise DeviceError(
                    f"No model is loaded on the {engine} engine, so the board cannot run the burst.",
                    "Add --load (MODEL_LOAD of the active slot), or flash a model first (`qtdeploy flash`).",
                    status=err.status,
                ) from None
            raise
    eb.save(result)
    emit(result, as_json, _human_bench)


def _bar(total: int, enabled: bool):
    from contextlib import nullcontext

    if not enabled:
        return nullcontext(None)
    from contextlib import contextmanager

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    @contextmanager
    def bar():
        with Progress(
            TextColumn("bursts"), BarColumn(), TimeElapsedColumn(), console=stderr, transient=True
        ) as p:
            task = p.add_task("bench", total=1.0)
            yield lambda frac: p.update(task, completed=frac)

    return bar()


def _fmt(s: dict[str, Any] | None, unit: str = "uJ") -> str:
    if s is None:
        return "-"
    spread = f" +- {s['sem']:.2g} (sem; sd {s['std']:.2g})" if s.get("sem") is not None else ""
    return f"{s['mean']:.4g} {unit}{spread}"


def _human_bench(r: dict[str, Any]) -> None:
    from rich.table import Table

    m, o = r["model"], r["origin"].upper()
    stdout.print(
        f"[bold]{o}[/] energy bench on {r['board']}, {r['engine']} engine, model ({m['window']},{m['d_model']},"
        f"{m['bits']}) {m['sha256'][:12]}: {r['repeats']} bursts of {r['count']:,} inferences, each after an "
        f"idle span of its length ({r['wall_s']:.1f} s); {r['checked']}",
        highlight=False,
        soft_wrap=True,
    )
    p = r["per_inference"]
    mcu_host = r["engine"] == "mcu" and r["origin"] == "simulated"
    paper = r.get("paper") if r["engine"] == "fpga" else None
    head = f"{r['origin']} (host CPU time: not modelled)" if mcu_host else r["origin"]
    table = Table("per inference", head, "paper (measured)")
    table.add_row("whole board, burst window", _fmt(p["board_uj"]), "")
    table.add_row("whole board, above idle", _fmt(p["board_above_idle_uj"]), "")
    if "fpga_uj" in p:
        table.add_row("FPGA rails, burst window", _fmt(p["fpga_uj"]), "")
        table.add_row("FPGA rails, above idle", _fmt(p["fpga_above_idle_uj"]), "")
        table.add_row(
            "FPGA rails over the latency",
            _fmt(p["fpga_over_latency_uj"]),
            f"{paper['energy_uj']:.0f} uJ" if paper else "",
        )
    table.add_row(
        "latency (board clock)",
        _fmt(p["latency_us"], "us") + f"; min {r['latency_us_min']}, max {r['latency_us_max']}",
        f"{paper['latency_ms'] * 1e3:.0f} us" if paper else "",
    )
    pred = r.get("power_model") or {}
    if mcu_host and pred.get("cpu_time_modelled"):
        table.add_row(
            "[bold]whole board, above idle (MODELLED)[/]",
            f"{pred['board_above_idle_uj']:.4g} uJ over {pred['latency_us'] / 1e3:.3g} ms of Cortex-M0+ time",
            "",
        )
    stdout.print(table)
    idle = r["idle_mw"]
    stdout.print(
        f"idle power: board {idle['board']:.2f} mW"
        + (f", FPGA rails {idle['fpga']:.2f} mW" if "fpga" in idle else "")
        + f" ({r['origin']})",
        highlight=False,
    )
    if r["engine"] == "fpga" and r.get("paper") is None:
        stdout.print("not one of the paper's configs: no paper figure to compare", highlight=False)
    if pred.get("cpu_time_modelled"):
        stdout.print(
            f"model: {pred['what']}: FPGA rails above idle {pred['fpga_above_idle_uj']:.4g} uJ, "
            f"whole board {pred['board_above_idle_uj']:.4g} uJ (MODELLED)",
            highlight=False,
            soft_wrap=True,
        )
    elif pred:
        stdout.print(
            f"[yellow]{pred['what']}[/]; no Cortex-M0+ count is recorded for this model: not modelled",
            highlight=False,
        )
    src = r["sources"]
    if isinstance(src, dict):
        stdout.print("where the simulated figures come from (protocol/power.md §3):", highlight=False)
        for rail, text in src.items():
            stdout.print(f"  {rail}: {text}", highlight=False, soft_wrap=True)
    else:
        stdout.print(f"source: {src}", highlight=False)


@click.command("plan")
@click.option("--period", required=True, help="One forecast every PERIOD: 60s, 10m, 1h, 250ms.")
@board_option
@click.option(
    "--load-ms",
    type=float,
    default=None,
    help="Model load time after each reconfiguration (default: from a cached bench's model, else 0).",
)
@click.option(
    "--inference-uj",
    type=float,
    default=None,
    help="FPGA energy per inference above idle (default: a cached bench's, else 0).",
)
@json_option
def plan(
    period: str, board: str | None, load_ms: float | None, inference_uj: float | None, as_json: bool
) -> None:
    """Energy per forecast and average FPGA power: configured and idle vs power-gated and reconfigured."""
    from qtdeploy.boards import load_board
    from qtdeploy.energy import bench as eb
    from qtdeploy.energy.plan import parse_period
    from qtdeploy.energy.plan import plan as make_plan

    seconds = parse_period(period)
    bf = load_board(board or "env5")
    last = eb.latest_for_board(bf.id)
    kw: dict[str, Any] = {}
    if last is not None and "fpga" in last["idle_mw"]:
        kw["idle_uw"] = last["idle_mw"]["fpga"] * 1e3
        kw["idle_source"] = f"{last['origin']} by `energy bench` (model {last['model']['sha256'][:12]})"
    if inference_uj is None and last is not None and last["engine"] == "fpga":
        inference_uj = last["per_inference"]["fpga_above_idle_uj"]["mean"]
    if load_ms is None and last is not None:
        from qtdeploy.energy.mcu_model import load_cost

        lc = load_cost(last["model"])
        load_ms = lc["seconds"] * 1e3 if lc else None
    result = make_plan(
        bf, seconds, load_us=int((load_ms or 0.0) * 1e3), inference_uj=inference_uj or 0.0, **kw
    )
    emit(result, as_json, _human_plan)


def _human_plan(r: dict[str, Any]) -> None:
    c, g, i = r["configured"], r["power_gated"], r["inputs"]
    stdout.print(
        f"[bold]MODELLED[/] duty cycle on {r['board']}: one forecast every {r['period_s']:g} s ({r['scope']})",
        highlight=False,
        soft_wrap=True,
    )
    stdout.print(
        f"  configured and idle : {c['energy_per_forecast_uj'] / 1e3:.4g} mJ per forecast, {c['average_mw']:.4g} mW average",
        highlight=False,
    )
    stdout.print(
        f"  power-gated         : {g['energy_per_forecast_uj'] / 1e3:.4g} mJ per forecast, {g['average_mw']:.4g} mW average "
        f"(power-up + configuration + load {g['switch_uj'] / 1e3:.4g} mJ over {g['on_ms']:.1f} ms)",
        highlight=False,
    )
    stdout.print(
        f"  winner: [bold]{r['winner'].replace('_', '-')}[/]; crossover period {r['crossover_s']:.3g} s (power-gating wins above it)",
        highlight=False,
    )
    stdout.print(
        f"  inputs: idle {i['idle_mw']:.3g} mW ({i['idle_source']}), configuring {i['configuring_mw']:.3g} mW for "
        f"{i['config_ms']:.1f} ms ({i['config_from']}), power-up {i['power_up_ms']:.0f} ms, load {i['load_ms']:.1f} ms at "
        f"{i['loading_mw']:.3g} mW, inference {i['inference_uj']:.3g} uJ above idle; source: {i['source']}",
        highlight=False,
        soft_wrap=True,
    )
