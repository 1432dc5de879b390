"""The generated Python module and C header must match protocol/*.toml (one source of truth)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from qtdeploy import _protocol, codegen


def test_generated_files_are_fresh(root: Path) -> None:
    for rel, text in codegen.outputs(root).items():
        assert (root / rel).read_text() == text, f"{rel} is stale: run `python -m qtdeploy.codegen`"


def test_check_flag_detects_a_stale_header(tmp_path: Path, root: Path, monkeypatch) -> None:
    shutil.copytree(root / "protocol", tmp_path / "protocol", ignore=shutil.ignore_patterns("vectors"))
    monkeypatch.setenv("QTDEPLOY_ROOT", str(tmp_path))
    assert codegen.main([]) == 0
    assert codegen.main(["--check"]) == 0
    toml = tmp_path / "protocol" / "protocol.toml"
    toml.write_text(toml.read_text().replace("MAX_WINDOW = 32", "MAX_WINDOW = 31"))
    assert codegen.main(["--check"]) == 1


def test_duplicate_codes_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(
        '[enums.X]\nc_prefix = "X_"\nmembers = [{name = "A", value = 1}, {name = "B", value = 1}]\n'
    )
    with pytest.raises(ValueError, match="repeats"):
        codegen.load_spec(tmp_path)


def test_every_status_has_meaning_and_action() -> None:
    for status in _protocol.Status:
        info = _protocol.STATUS_INFO[status]
        assert info["meaning"].strip() and info["action"].strip(), status.name


@pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler to check the header compiles")
def test_c_header_compiles_and_agrees(tmp_path: Path, root: Path) -> None:
    """Compile a C program that prints every code through the header; compare with Python."""
    src = tmp_path / "t.c"
    lines = ["#include <stdio.h>", '#include "qtd/protocol.h"', "int main(void) {"]
    for status in _protocol.Status:
        lines.append(f'printf("%d %s\\n", QTD_ST_{status.name}, qtd_status_name(QTD_ST_{status.name}));')
    for cmd in _protocol.Command:
        lines.append(f'printf("%d %s\\n", QTD_CMD_{cmd.name}, qtd_command_name(QTD_CMD_{cmd.name}));')
    lines += ["return 0; }"]
    src.write_text("\n".join(lines))
    exe = tmp_path / "t"
    subprocess.run(
        [
            "cc",
            "-std=c11",
            "-Wall",
            "-Werror",
            "-I",
            str(root / "firmware/include"),
            str(src),
            "-o",
            str(exe),
        ],
        check=True,
    )
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.split("\n")
    expected = [f"{s.value} {s.name}" for s in _protocol.Status] + [
        f"{c.value} {c.name}" for c in _protocol.Command
    ]
    assert out[: len(expected)] == expected
