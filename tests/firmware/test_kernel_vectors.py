"""The firmware's MCU kernel (firmware/core/kernel.c) against the golden model vectors and the
host integer reference: bit-exact on every intermediate tensor, for every committed config.

The C driver (firmware/tests/run_model.c) opens each model.qtb exactly as the firmware does
(qtd_blob_open + qtd_model_bind), runs the windows and prints every traced row."""

from __future__ import annotations

import json
import subprocess
import zlib
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from qtdeploy.formats.blob import unpack
from qtdeploy.model import intmodel, reference
from qtdeploy.paths import repo_root

VECTORS = repo_root() / "protocol" / "vectors" / "model"
CASES = sorted(p.name for p in VECTORS.iterdir() if (p / "model.qtb").is_file())


def read_ints(path: Path) -> np.ndarray:
    lines = [ln for ln in path.read_text().splitlines() if ln and not ln.startswith("#")]
    return np.array(" ".join(lines).split(), dtype=np.int64)


def run_driver(exe: Path, model: Path, x: Path, trace: bool = True) -> tuple[dict, dict]:
    """Returns ({(window, name): flat values}, {window: y})."""
    proc = subprocess.run(
        [str(exe), str(model), str(x)] + (["--trace"] if trace else []),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    rows: dict[tuple[int, str], list[int]] = defaultdict(list)
    ys: dict[int, list[int]] = {}
    for line in proc.stdout.splitlines():
        f = line.split()
        if f[0] == "T":
            rows[(int(f[1]), f[2])].extend(map(int, f[3:]))
        elif f[0] == "Y":
            ys[int(f[1])] = list(map(int, f[2:]))
    return rows, ys


@pytest.fixture(scope="module")
def driver(fw_build) -> Path:
    return fw_build / "tests" / "run_model"


def test_cases_present():
    assert {"w6_d64_b8", "w12_d64_b6", "w12_d32_b4", "w12_d32_b2", "w12_d32_b5"} <= set(CASES)


@pytest.mark.parametrize("case", CASES)
def test_every_intermediate_bit_exact(driver, case):
    d = VECTORS / case
    index = json.loads((d / "index.json").read_text())
    windows = index["windows"]
    rows, ys = run_driver(driver, d / "model.qtb", d / "x.txt")
    assert sorted(ys) == list(range(windows))
    checked = 0
    for t in index["tensors"]:
        if t["name"] == "x":
            continue
        want = read_ints(d / t["file"]).reshape(windows, -1)
        for w in range(windows):
            got = np.array(rows[(w, t["name"])], dtype=np.int64)
            assert got.shape == want[w].shape, (case, t["name"], w)
            bad = np.nonzero(got != want[w])[0]
            assert bad.size == 0, (
                f"{case} {t['name']} window {w}: first mismatch at {bad[0]}: "
                f"{got[bad[0]]} != {want[w][bad[0]]}"
            )
            checked += 1
    assert checked == windows * (len(index["tensors"]) - 1)
    y = read_ints(d / "y.txt").reshape(windows, -1)
    assert [ys[w] for w in range(windows)] == y.tolist()


@pytest.mark.parametrize("case", ["w12_d32_b2", "w12_d64_b6", "w6_d64_b8"])
def test_random_windows_match_reference(driver, case, tmp_path):
    """Full-range random windows (not just the data's): the kernel and reference.py agree on
    every tensor; this drives clamping and the softmax table's tail that real data rarely hits."""
    d = VECTORS / case
    im = intmodel.load(d / "model.qtb")
    lo, hi = (int(v) for v in im.tensors["x.range"])
    cfg = im.config
    rng = np.random.default_rng(zlib.crc32(case.encode()))
    x = rng.integers(lo, hi + 1, size=(24, cfg.window, cfg.features))
    x[0] = lo  # the extremes too
    x[1] = hi
    xf = tmp_path / "x.txt"
    xf.write_text("# x\n" + "\n".join(" ".join(map(str, r)) for r in x.reshape(-1, cfg.features)) + "\n")
    rows, ys = run_driver(driver, d / "model.qtb", xf)
    ref = reference.forward(im, x, trace=True)
    for name, arr in ref.items():
        if name == "x":
            continue
        for w in range(x.shape[0]):
            assert rows[(w, name)] == arr[w].ravel().tolist(), (case, name, w)
    assert [ys[w] for w in range(x.shape[0])] == ref["y"].tolist()


def test_input_outside_x_range_is_refused(driver, tmp_path):
    d = VECTORS / "w12_d32_b2"
    im = intmodel.load(d / "model.qtb")
    hi = int(im.tensors["x.range"][1])
    xf = tmp_path / "x.txt"
    xf.write_text(" ".join([str(hi + 1)] * (im.config.window * im.config.features)) + "\n")
    proc = subprocess.run([str(driver), str(d / "model.qtb"), str(xf)], capture_output=True, text=True)
    assert proc.returncode == 4 and "BAD_ARGUMENT" in proc.stderr


@pytest.mark.parametrize(
    "blob", ["tests/data/blob/tiny.qtb"] + [f"protocol/vectors/model/{c}/model.qtb" for c in CASES]
)
def test_c_reader_unpacks_like_the_host(driver, blob):
    """Every tensor and LUT, every width present (2..8, 16, 32), element for element."""
    data = (repo_root() / blob).read_bytes()
    proc = subprocess.run([str(driver), "--dump", str(repo_root() / blob)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "MISMATCH" not in proc.stdout  # the kernel's row unpacker agrees with the element reader
    got = {
        f[1]: (int(f[2]), f[3] == "s", list(map(int, f[5:])))
        for f in (ln.split() for ln in proc.stdout.splitlines() if ln.startswith("E "))
    }
    b = unpack(data)
    items = list(b.tensors) + list(b.luts)
    assert list(got) == [t.name for t in items]
    for t in items:
        assert got[t.name] == (t.bits, t.signed, np.asarray(t.data).ravel().tolist()), t.name


HOST_CASES = sorted(p.parent.name for p in (VECTORS.parent / "host").glob("*/model.qtb"))


@pytest.mark.parametrize("case", HOST_CASES)
def test_host_scaling_cases_bit_exact(driver, case):
    # protocol/vectors/host: cases the shape-named ones do not cover (horizon 3, "diff-rms" scaling)
    d = VECTORS.parent / "host" / case
    windows = json.loads((d / "index.json").read_text())["windows"]
    _, ys = run_driver(driver, d / "model.qtb", d / "x.txt", trace=False)
    want = read_ints(d / "y.txt").reshape(windows, -1)
    assert want.shape[1] == json.loads((d / "index.json").read_text())["config"]["horizon"]
    assert [ys[w] for w in range(windows)] == want.tolist()
