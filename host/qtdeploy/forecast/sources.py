"""Where readings come from: ``csv:FILE``, ``serial:DEV[?baud=N]`` and ``synthetic:[seed=..,period=..]``.

A source yields :class:`Reading` objects: one time step of the model's input features (in the
sensor's own units; the window module normalises them), plus the target's value when the source
knows it (the truth a forecast is later scored against). Every source is told the model's feature
names first, so a sensor whose columns do not match the blob fails before anything streams.

The serial line format is documented in protocol/sensor-lines.md; :func:`parse_line` is its
implementation. Why our own parser and not a library: the formats sensor boards print (Arduino
``Serial.print`` pairs with units, bare CSV, a leading timestamp) are not one grammar any library
covers; the rules are a few regular expressions, tested line by line in tests/forecast.
"""

from __future__ import annotations

import csv
import math
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs

import numpy as np

from qtdeploy.errors import CompatibilityError, FormatError, LinkError, UsageError

TIME_NAMES = {"t", "ts", "time", "timestamp", "millis", "ms", "date", "datetime"}
MAX_BAD_IN_A_ROW = 20  # consecutive malformed lines before a sensor is declared unreadable

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_NUM_RE = re.compile(rf"^{_NUM}$")
_PAIR_RE = re.compile(rf"([A-Za-z_][\w.\-]*)\s*[=:]\s*({_NUM})(?![\w:])")
_SPLIT_RE = re.compile(r"[,;\t ]+")
_STAMP_RE = re.compile(
    r"^(?:\d{4}-\d{2}-\d{2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
    r"|\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)$"
)


class SensorError(LinkError):
    """The sensor (not the board) failed: unplugged, silent, or not openable."""


class MalformedLine(ValueError):
    """One sensor line that is not a reading (counted and skipped by the sources)."""


class ColumnMismatch(MalformedLine):
    """A well-formed line whose numbers do not match the model's features."""


@dataclass(frozen=True)
class ParsedLine:
    """What one sensor line says: positional numbers, named numbers and a timestamp, if any."""

    values: tuple[float, ...] = ()
    named: dict[str, float] = field(default_factory=dict)
    stamp: str | None = None


@dataclass(frozen=True)
class Reading:
    """One time step: ``values`` in the model's feature order, ``truth`` the target's value (None
    when the source does not carry it), ``stamp`` the source's timestamp or the host's wall clock."""

    values: tuple[float, ...]
    stamp: str
    truth: float | None = None


def parse_line(line: str) -> ParsedLine | None:
    """One line of sensor output (protocol/sensor-lines.md); None for blank and comment lines.

    Raises :class:`MalformedLine` for anything else that holds no number it can place."""
    text = line.strip().lstrip("\ufeff")
    if not text or text.startswith(("#", "//", ";")):
        return None
    pairs = _PAIR_RE.findall(text)
    if pairs:
        named: dict[str, float] = {}
        stamp = None
        for name, value in pairs:
            if name.lower() in TIME_NAMES:
                stamp = value
            else:
                named[name] = float(value)
        if not named:
            raise MalformedLine(f"only a timestamp in {text[:60]!r}")
        return ParsedLine(named=named, stamp=stamp)
    tokens = [t for t in _SPLIT_RE.split(text) if t]
    stamp = None
    if tokens and _STAMP_RE.match(tokens[0]) and not _NUM_RE.match(tokens[0]):
        stamp = tokens.pop(0)
        if tokens and re.match(r"^\d{1,2}:\d{2}", tokens[0]) and stamp and "-" in stamp:
            stamp += " " + tokens.pop(0)  # "2024-01-01 12:00:00": the time split off by the space
    values = []
    for tok in tokens:
        if not _NUM_RE.match(tok):
            raise MalformedLine(f"{tok[:20]!r} is not a number in {text[:60]!r}")
        values.append(float(tok))
    if not values or not all(math.isfinite(v) for v in values):
        raise MalformedLine(f"no finite reading in {text[:60]!r}")
    return ParsedLine(values=tuple(values), stamp=stamp)


@dataclass
class Columns:
    """Maps parsed lines onto the model's features (and the target, for truth)."""

    features: tuple[str, ...]
    target: str | None

    def reading(self, p: ParsedLine) -> Reading:
        """The reading a parsed line gives, or MalformedLine when it does not fit the features."""
        m = len(self.features)
        stamp = p.stamp or _now()
        if p.named:
            lower = {k.lower(): v for k, v in p.named.items()}
            if all(f.lower() in lower for f in self.features):
                vals = tuple(lower[f.lower()] for f in self.features)
            elif len(p.named) in (m, m + 1) and not any(f.lower() in lower for f in self.features):
                vals = tuple(p.named.values())[:m]  # unnamed-to-us sensor: by position
            else:
                missing = [f for f in self.features if f.lower() not in lower]
                raise ColumnMismatch(
                    f"no value for feature(s) {', '.join(missing)} (the line names {', '.join(p.named)})"
                )
            truth = lower.get(self.target.lower()) if self.target else None
            if truth is None and self.target in self.features:
                truth = vals[self.features.index(self.target)]
            return Reading(vals, stamp, truth)
        vals = p.values
        if len(vals) == m + 1 and p.stamp is None:
            stamp, vals = _fmt_num(vals[0]), vals[1:]  # a leading numeric timestamp (millis())
        if len(vals) != m:
            raise ColumnMismatch(
                f"{len(p.values)} numbers, the model takes {m} feature(s) "
                f"({', '.join(self.features)}), optionally after a timestamp"
            )
        truth = vals[self.features.index(self.target)] if self.target in self.features else None
        return Reading(tuple(vals), stamp, truth)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _fmt_num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(v)


@dataclass
class SourceStats:
    readings: int = 0
    skipped: int = 0  # malformed lines skipped (each warned about once, counted here)
    bad_in_a_row: int = 0
    last_error: str = ""


class Source:
    """Base: iterate for readings; ``describe`` for the summary; ``close`` releases devices."""

    name = "source"

    def __init__(self, columns: Columns) -> None:
        self.columns = columns
        self.stats = SourceStats()
        self.live = True  # paced by the world (or --rate): stream window by window

    def __iter__(self) -> Iterator[Reading]:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def _bad(self, err: MalformedLine, where: str) -> None:
        s = self.stats
        s.skipped += 1
        s.bad_in_a_row += 1
        s.last_error = f"{where}: {err}"
        if isinstance(err, ColumnMismatch) and s.readings == 0 and s.bad_in_a_row >= 3:
            raise CompatibilityError(
                f"{self.name} does not match the model: {err}.",
                "Use the blob trained for this sensor, or make the sensor print "
                f"{', '.join(self.columns.features)} (protocol/sensor-lines.md).",
            )
        if s.bad_in_a_row >= MAX_BAD_IN_A_ROW:
            raise FormatError(
                f"{s.bad_in_a_row} malformed lines in a row from {self.name} (last: {s.last_error}).",
                "Check the sensor's baud rate and output format (protocol/sensor-lines.md); "
                f"the model expects {', '.join(self.columns.features)}.",
            )

    def _good(self) -> None:
        self.stats.readings += 1
        self.stats.bad_in_a_row = 0


def _pace(rate: float | None) -> Iterator[None]:
    """Yields at ``rate`` Hz (None: at once)."""
    t = time.monotonic()
    while True:
        if rate:
            t += 1.0 / rate
            time.sleep(max(0.0, t - time.monotonic()))
        yield


class CsvSource(Source):
    """Rows of a CSV file (header optional), replayed at ``rate`` rows/s or as fast as possible.

    With a header, feature columns are found by the blob's feature names (any order, extra columns
    ignored) and a date/time column becomes the timestamp; without one, rows are lines in the
    sensor format."""

    def __init__(self, path: Path, columns: Columns, rate: float | None) -> None:
        super().__init__(columns)
        self.path, self.rate, self.name = path, rate, f"csv:{path}"
        self.live = rate is not None
        if not path.is_file():
            raise UsageError(f"CSV source {path} does not exist.", "Pass csv:PATH to a readable CSV file.")
        self.header: list[str] | None = None
        self.skip = 0  # lines before the header (read only when there is one)
        with path.open(newline="", encoding="utf-8-sig") as f:
            for n, line in enumerate(f):  # a header is the first line that is no comment and no reading
                try:
                    if parse_line(line) is None:
                        continue
                except MalformedLine:
                    self.header, self.skip = [h.strip() for h in next(csv.reader([line]))], n
                break
        if self.header is not None:
            lower = [h.lower() for h in self.header]
            missing = [f for f in columns.features if f.lower() not in lower]
            if missing:
                numeric = len(self.header) - sum(h.lower() in TIME_NAMES for h in self.header)
                raise CompatibilityError(
                    f"{path} has columns {', '.join(self.header)}; the model needs feature(s) "
                    f"{', '.join(columns.features)} ({len(columns.features)} column(s)); missing {', '.join(missing)}"
                    + (
                        f" (the file has {numeric} data column(s))"
                        if numeric != len(columns.features)
                        else ""
                    )
                    + ".",
                    "Use a CSV with those columns (by name), or the blob trained on this data.",
                )
            self.idx = [lower.index(f.lower()) for f in columns.features]
            self.t_idx = next((i for i, h in enumerate(lower) if h in TIME_NAMES), None)
            self.y_idx = (
                lower.index(columns.target.lower())
                if columns.target and columns.target.lower() in lower
                else None
            )

    def __iter__(self) -> Iterator[Reading]:
        pace = _pace(self.rate)
        with self.path.open(newline="", encoding="utf-8-sig") as f:
            if self.header is not None:
                rows = csv.reader(f)
                for _ in range(self.skip + 1):
                    next(rows)
                for n, row in enumerate(rows, start=self.skip + 2):
                    r = self._row(row, n)
                    if r is not None:
                        next(pace)
                        yield r
            else:
                for n, line in enumerate(f, start=1):
                    try:
                        p = parse_line(line)
                        if p is None:
                            continue
                        r = self.columns.reading(p)
                    except MalformedLine as err:
                        self._bad(err, f"line {n}")
                        continue
                    self._good()
                    next(pace)
                    yield r

    def _row(self, row: list[str], n: int) -> Reading | None:
        if not row or not "".join(row).strip():
            return None
        try:
            vals = tuple(float(row[i]) for i in self.idx)
            if not all(math.isfinite(v) for v in vals):
                raise ValueError("not finite")
            truth = float(row[self.y_idx]) if self.y_idx is not None and row[self.y_idx].strip() else None
        except (ValueError, IndexError) as err:
            self._bad(MalformedLine(f"{err}"), f"row {n}")
            return None
        self._good()
        stamp = row[self.t_idx].strip() if self.t_idx is not None and self.t_idx < len(row) else _now()
        return Reading(vals, stamp, truth)


class SerialSource(Source):
    """An attached sensor printing one reading per line over a serial port (pyserial)."""

    def __init__(self, device: str, baud: int, columns: Columns, idle_timeout: float = 10.0) -> None:
        super().__init__(columns)
        import serial

        self.device, self.baud, self.idle_timeout = device, baud, idle_timeout
        self.name = f"serial:{device}"
        try:
            self.port = serial.Serial(device, baud, timeout=0.2)
        except (serial.SerialException, OSError) as err:
            raise SensorError(
                f"Cannot open the sensor on {device}: {err}.",
                "Check the device name (ls /dev/tty*) and that no other program holds it.",
            ) from None

    def __iter__(self) -> Iterator[Reading]:
        import serial

        buf = b""
        last = time.monotonic()
        while True:
            try:
                chunk = self.port.read(self.port.in_waiting or 1)
            except (serial.SerialException, OSError) as err:
                raise SensorError(
                    f"The sensor on {self.device} disappeared after {self.stats.readings} readings ({err}).",
                    "Plug it back in and run forecast again; the rows so far are written.",
                ) from None
            if not chunk:
                if time.monotonic() - last > self.idle_timeout:
                    raise SensorError(
                        f"No line from the sensor on {self.device} for {self.idle_timeout:g} s.",
                        "Check that it prints readings and the baud rate (serial:DEV?baud=N).",
                    )
                continue
            last = time.monotonic()
            buf += chunk
            *lines, buf = re.split(rb"\r\n|\r|\n", buf)
            for raw in lines:
                try:
                    p = parse_line(raw.decode("utf-8"))
                    if p is None:
                        continue
                    r = self.columns.reading(p)
                except UnicodeDecodeError:
                    self._bad(MalformedLine(f"not UTF-8 text: {raw[:20]!r}"), self.device)
                    continue
                except MalformedLine as err:
                    self._bad(err, self.device)
                    continue
                self._good()
                yield r

    def close(self) -> None:
        try:
            self.port.close()
        except OSError:
            pass


class SyntheticSource(Source):
    """A daily-cycle-like sine per feature in the blob's units (mean + std * sin) plus seeded noise,
    for demos and tests; the truth is the target column of the next readings."""

    def __init__(
        self,
        columns: Columns,
        norm,
        seed: int = 0,
        period: float = 24.0,
        noise: float = 0.05,
        rate: float | None = None,
    ) -> None:
        super().__init__(columns)
        self.norm, self.seed, self.period, self.noise, self.rate = norm, seed, period, noise, rate
        self.name = f"synthetic:seed={seed},period={period:g}"
        self.live = rate is not None

    def __iter__(self) -> Iterator[Reading]:
        rng = np.random.default_rng(self.seed)
        m = len(self.columns.features)
        phase = rng.uniform(0, 2 * np.pi, m)
        mean, std = np.asarray(self.norm.x_mean, float), np.asarray(self.norm.x_std, float)
        pace = _pace(self.rate)
        t = 0
        while True:
            z = np.sin(2 * np.pi * t / self.period + phase) * 1.2 + rng.normal(0, self.noise, m)
            vals = tuple(float(v) for v in np.round(mean + std * z, 3))
            truth = (
                vals[self.columns.features.index(self.columns.target)]
                if self.columns.target in self.columns.features
                else None
            )
            self._good()
            next(pace)
            yield Reading(vals, str(t), truth)
            t += 1


def _options(text: str, what: str, allowed: set[str]) -> dict[str, str]:
    """``a=1,b=2`` or ``?a=1&b=2`` into a dict, refusing keys not in ``allowed``."""
    text = text.lstrip("?[").rstrip("]")
    opts = {k: v[-1] for k, v in parse_qs(text.replace(",", "&"), keep_blank_values=True).items()}
    bad = set(opts) - allowed
    if bad:
        raise UsageError(
            f"unknown {what} option(s): {', '.join(sorted(bad))}.", f"Use {', '.join(sorted(allowed))}."
        )
    return opts


def open_source(spec: str, columns: Columns, *, norm, rate: float | None = None) -> Source:
    """The source for ``--source`` (csv:FILE, serial:DEV[?baud=N], synthetic:[seed=..,period=..])."""
    kind, _, rest = spec.partition(":")
    if rate is not None and rate <= 0:
        raise UsageError(f"--rate {rate} is not positive.", "Pass readings per second > 0, or leave it out.")
    try:
        if kind == "csv" and rest:
            return CsvSource(Path(rest), columns, rate)
        if kind == "serial" and rest:
            dev, _, query = rest.partition("?")
            opts = _options(query, "serial", {"baud"})
            return SerialSource(dev, int(opts.get("baud", 115200)), columns)
        if kind == "synthetic":
            opts = _options(rest, "synthetic", {"seed", "period", "noise"})
            return SyntheticSource(
                columns,
                norm,
                seed=int(opts.get("seed", 0)),
                period=float(opts.get("period", 24)),
                noise=float(opts.get("noise", 0.05)),
                rate=rate,
            )
    except ValueError as err:
        raise UsageError(
            f"--source {spec!r}: {err}.", "Options are numbers, e.g. synthetic:seed=1,period=24."
        ) from None
    raise UsageError(
        f"--source {spec!r} is not csv:FILE, serial:DEV[?baud=N] or synthetic:[seed=N,period=P].",
        "For example --source csv:readings.csv or --source serial:/dev/ttyUSB0?baud=115200.",
    )
