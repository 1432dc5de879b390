"""protocol/link.md's byte tables and status table must match the code (no drift).

Each `#### `Name`` table in link.md §7 is compared with the Struct of the same name in
qtdeploy.link.payloads: field names in order, offsets, and the size of every fixed-size field.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from construct import Construct, Padding, SizeofError, Struct

from qtdeploy.link import payloads as P
from qtdeploy.link.vectors import link_md_with_table

_HEADING = re.compile(r"^#### `(\w+)`(?: \((\d+) bytes\))?")


def doc_tables(text: str) -> dict[str, tuple[int | None, list[list[str]]]]:
    """Name -> (declared size or None, rows of [offset, size, type, field, meaning])."""
    tables: dict[str, tuple[int | None, list[list[str]]]] = {}
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = _HEADING.match(line)
        if not m:
            continue
        rows = []
        for row in lines[i + 3 :]:
            if not row.startswith("|"):
                break
            rows.append([c.strip() for c in row.strip("|").split("|")][:5])
        tables[m.group(1)] = (int(m.group(2)) if m.group(2) else None, rows)
    return tables


@pytest.fixture(scope="module")
def tables(root: Path) -> dict[str, tuple[int | None, list[list[str]]]]:
    return doc_tables((root / "protocol/link.md").read_text())


def _fixed_size(sub: Construct) -> int | None:
    try:
        return sub.sizeof()
    except SizeofError:
        return None


def test_every_documented_table_has_a_struct_and_back(tables) -> None:
    documented = set(tables)
    structs = {name for name in dir(P) if isinstance(getattr(P, name), Struct)}
    undocumented_ok = {"Empty", "PingPayload", "FlashReadResponse", "FlashHash"}  # described in prose
    assert documented <= structs, f"tables without a Struct: {documented - structs}"
    assert structs - documented <= undocumented_ok, (
        f"Structs without a table: {structs - documented - undocumented_ok}"
    )


@pytest.mark.parametrize(
    "name", sorted(doc_tables(Path(__file__).parents[2].joinpath("protocol/link.md").read_text()))
)
def test_table_matches_struct(name: str, tables) -> None:
    declared, rows = tables[name]
    struct = getattr(P, name)
    subcons = struct.subcons
    assert [r[3] for r in rows] == [s.name for s in subcons], f"{name}: field names/order differ"
    offset = 0
    for row, sub in zip(rows, subcons):
        if offset is not None:
            assert row[0] == str(offset), f"{name}.{sub.name}: offset {row[0]} != {offset}"
        size = _fixed_size(sub)
        if size is not None:
            assert row[1] == str(size), f"{name}.{sub.name}: size {row[1]} != {size}"
            offset = offset + size if offset is not None else None
        else:
            offset = None  # everything after a variable field is relative
    if declared is not None:
        assert _fixed_size(struct) == declared or declared == _prefix_size(struct), (
            f"{name}: declared {declared} bytes"
        )


def _prefix_size(struct: Construct) -> int:
    """Bytes before the first variable-size field (the '(N + ...)' headings)."""
    total = 0
    for sub in struct.subcons:
        size = _fixed_size(sub)
        if size is None:
            break
        total += size
    return total


def test_reserved_fields_are_padding() -> None:
    for name in dir(P):
        obj = getattr(P, name)
        if isinstance(obj, Struct):
            for sub in obj.subcons:
                if sub.name == "reserved":
                    assert isinstance(sub.subcon, type(Padding(1))), f"{name}.reserved is not Padding"


def test_status_table_is_generated_from_the_toml(root: Path) -> None:
    text = (root / "protocol/link.md").read_text()
    assert link_md_with_table(text) == text, "run: python -m qtdeploy.link.vectors --write"


def test_every_command_has_a_layout_and_a_section(root: Path) -> None:
    from qtdeploy._protocol import Command

    text = (root / "protocol/link.md").read_text()
    for cmd in Command:
        assert cmd in P.COMMANDS, cmd.name
        assert re.search(rf"^### 7\.\d+ {cmd.name} \(0x{cmd.value:02X}\)", text, re.M), (
            f"link.md lacks §7 {cmd.name}"
        )


def test_rerun_marks_agree_and_cached_answers_are_small(root: Path) -> None:
    """The board caches only non-re-run answers, each within LINK_DETAIL_MAX (link.md §5)."""
    from qtdeploy._protocol import LINK_DETAIL_MAX, Command

    text = (root / "protocol/link.md").read_text()
    for cmd, spec in P.COMMANDS.items():
        heading = re.search(rf"^### 7\.\d+ {cmd.name} \(0x{cmd.value:02X}\)(.*)$", text, re.M)
        assert heading and ("re-run" in heading.group(1)) == spec.rerun, cmd.name
        if not spec.rerun:
            size = _fixed_size(spec.response)
            assert size is not None and size <= LINK_DETAIL_MAX, f"{cmd.name} answer is not small and fixed"
    assert Command.FLASH_WRITE in P.COMMANDS
