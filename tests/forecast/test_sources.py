"""Sensor lines (protocol/sensor-lines.md) and the csv:/serial:/synthetic: sources, without a board."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest

from qtdeploy.errors import CompatibilityError, FormatError, LinkError, UsageError
from qtdeploy.forecast.sources import (
    MAX_BAD_IN_A_ROW,
    Columns,
    MalformedLine,
    ParsedLine,
    open_source,
    parse_line,
)
from qtdeploy.model.data import Norm

ONE = Columns(("temp",), "temp")
WX = Columns(("temp_max", "temp_min", "precipitation", "wind"), "temp_max")
NORM1 = Norm(np.array([50.0]), np.array([10.0]), 50.0, 10.0)


@pytest.mark.parametrize(
    "line,values",
    [
        ("21.5", (21.5,)),
        ("21.5\r\n", (21.5,)),
        ("1,2,3,4", (1, 2, 3, 4)),
        ("1 2 3 4", (1, 2, 3, 4)),
        ("1\t2\t3\t4", (1, 2, 3, 4)),
        ("1;2;3;4", (1, 2, 3, 4)),
        ("1, 2 ,3 ;4", (1, 2, 3, 4)),
        ("-1.5e2,+.5,3.,0", (-150, 0.5, 3, 0)),
    ],
)
def test_positional(line, values):
    assert parse_line(line) == ParsedLine(values=tuple(float(v) for v in values))


@pytest.mark.parametrize(
    "line,stamp",
    [
        ("2024-05-01T12:00:00Z,21.5", "2024-05-01T12:00:00Z"),
        ("2024-05-01 12:00:00 21.5", "2024-05-01 12:00:00"),
        ("12:00:03.250 21.5", "12:00:03.250"),
    ],
)
def test_leading_timestamp(line, stamp):
    p = parse_line(line)
    assert p.stamp == stamp and p.values == (21.5,)
    assert ONE.reading(p).stamp == stamp


def test_numeric_timestamp_only_when_one_extra_column():
    # Arduino: Serial.print(millis()); Serial.print(','); Serial.println(t);
    r = ONE.reading(parse_line("123456,21.5"))
    assert r.values == (21.5,) and r.stamp == "123456" and r.truth == 21.5
    with pytest.raises(MalformedLine, match="3 numbers"):
        ONE.reading(parse_line("1,2,3"))


@pytest.mark.parametrize(
    "line",
    [
        "temp=21.5",
        "temp: 21.5",
        "Temp:21.5 F",
        "t=1000 temp=21.5 humidity=40",  # extra names ignored, t is a timestamp
        "ms:1000, temp:21.5",
        "temp = 21.5 °F",
    ],
)
def test_named(line):
    r = ONE.reading(parse_line(line))
    assert r.values == (21.5,) and r.truth == 21.5


def test_named_any_order_and_units():
    line = "Wind: 3.2 m/s  temp_min: 8.1 C  precipitation=0  temp_max: 16.5 C"
    r = WX.reading(parse_line(line))
    assert r.values == (16.5, 8.1, 0.0, 3.2) and r.truth == 16.5
    with pytest.raises(MalformedLine, match="temp_min"):
        WX.reading(parse_line("temp_max=1 wind=2 precipitation=3 humidity=4"))


def test_named_unknown_names_map_by_position():
    assert ONE.reading(parse_line("T0: 21.5")).values == (21.5,)


@pytest.mark.parametrize("line", ["", "   ", "# header", "// comment", "; note"])
def test_blank_and_comments(line):
    assert parse_line(line) is None


@pytest.mark.parametrize("line", ["hello", "21.5abc", "%$#@!", "1,,x", "nan", "inf,1", "t=5", "--"])
def test_malformed(line):
    with pytest.raises(MalformedLine):
        parse_line(line)


def test_csv_with_header_by_name(tmp_path):
    f = tmp_path / "wx.csv"
    f.write_text(
        "date,precipitation,temp_max,temp_min,wind,weather\n"
        "2012-01-01,0.0,12.8,5.0,4.7,drizzle\n2012-01-02,10.9,10.6,2.8,4.5,rain\n"
        "2012-01-03,oops,11.7,7.2,2.3,rain\n2012-01-04,20.3,12.2,5.6,4.7,rain\n"
    )
    src = open_source(f"csv:{f}", WX, norm=None)
    rows = list(src)
    assert [r.values for r in rows] == [(12.8, 5.0, 0.0, 4.7), (10.6, 2.8, 10.9, 4.5), (12.2, 5.6, 20.3, 4.7)]
    assert rows[0].stamp == "2012-01-01" and rows[1].truth == 10.6
    assert src.stats.skipped == 1 and "row 4" in src.stats.last_error


def test_csv_missing_columns_is_a_compatibility_error(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("date,temp\n2010-01-01,40\n")
    with pytest.raises(CompatibilityError, match="missing temp_max, temp_min, precipitation, wind"):
        open_source(f"csv:{f}", WX, norm=None)


def test_csv_without_header_uses_line_format(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("# from a logger\n1000,40.5\n1001,41\n\ngarbage\n1002,41.5\n")
    src = open_source(f"csv:{f}", ONE, norm=None)
    assert [r.values for r in src] == [(40.5,), (41.0,), (41.5,)]
    assert src.stats.skipped == 1


def test_too_many_bad_lines_in_a_row(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("40\n" + "x\n" * MAX_BAD_IN_A_ROW + "41\n")
    with pytest.raises(FormatError, match=f"{MAX_BAD_IN_A_ROW} malformed lines in a row"):
        list(open_source(f"csv:{f}", ONE, norm=None))


def test_wrong_feature_count_fails_before_any_reading(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("1,2,3,4\n" * 5)
    with pytest.raises(CompatibilityError, match="model takes 1 feature"):
        list(open_source(f"csv:{f}", ONE, norm=None))


@pytest.mark.parametrize("spec", ["csv:", "nope:x", "serial:", "synthetic:color=red", "synthetic:seed=x"])
def test_bad_specs(spec):
    with pytest.raises(UsageError):
        open_source(spec, ONE, norm=NORM1)


def test_missing_csv(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        open_source(f"csv:{tmp_path / 'no.csv'}", ONE, norm=NORM1)


def test_synthetic_is_seeded_and_in_units():
    a = [r.values[0] for _, r in zip(range(48), open_source("synthetic:seed=3,period=24", ONE, norm=NORM1))]
    b = [r.values[0] for _, r in zip(range(48), open_source("synthetic:seed=3,period=24", ONE, norm=NORM1))]
    c = [r.values[0] for _, r in zip(range(48), open_source("synthetic:seed=4", ONE, norm=NORM1))]
    assert a == b and a != c
    assert 30 < min(a) < 45 and 55 < max(a) < 70  # mean 50 +- 1.2 std


def test_rate_paces_replay():
    src = open_source("synthetic:seed=1", ONE, norm=NORM1, rate=50)
    t = time.monotonic()
    list(zip(range(11), src))
    assert time.monotonic() - t >= 0.19


def _pty():
    master, slave = os.openpty()
    return master, os.ttyname(slave), slave


def test_serial_lines_over_a_pty():
    master, dev, slave = _pty()
    src = open_source(f"serial:{dev}?baud=9600", ONE, norm=None)
    os.write(master, b"# boot\r\ntemp: 40.5 F\r\ngarbage\xff\r\n41\r\n123,41.5\r\nTemp=4")
    it = iter(src)
    got = [next(it) for _ in range(3)]
    assert [r.values for r in got] == [(40.5,), (41.0,), (41.5,)]
    assert got[2].stamp == "123" and src.stats.skipped == 1
    os.write(master, b"2.25\n")
    assert next(it).values == (42.25,)  # a line split across reads
    src.close()
    os.close(master)
    os.close(slave)


def test_serial_unplugged_is_a_link_error():
    master, dev, slave = _pty()
    src = open_source(f"serial:{dev}", ONE, norm=None)
    it = iter(src)
    os.write(master, b"40\n")
    assert next(it).values == (40.0,)
    threading.Timer(0.2, lambda: (os.close(master), os.close(slave))).start()
    with pytest.raises(LinkError, match="disappeared after 1 readings"):
        next(it)
    src.close()


def test_serial_missing_device():
    with pytest.raises(LinkError, match="Cannot open the sensor"):
        open_source("serial:/dev/does-not-exist-qtd", ONE, norm=None)
