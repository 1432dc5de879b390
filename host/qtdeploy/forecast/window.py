"""Readings -> quantised windows, and int32 predictions -> the target's units.

The blob's metadata holds what training used (``norm``: the host scaling scheme and its statistics,
see :class:`qtdeploy.model.data.Norm`; ``input_scale``; ``output_scale``), so the host scales and
quantises exactly as evaluation did (:func:`qtdeploy.model.intmath.quantise_input`) and turns
predictions back into the target's units the same way (:func:`qtdeploy.model.evaluate.predict`):
with the window-relative scheme a forecast is the window's last target reading plus the predicted
change, so :meth:`Scaling.denormalise` takes that window's last reading (and, under ``"diff-rms"``,
the window's own scale, ``Window.scale``; under ``"season"`` the window's seasonal-naive levels,
and under ``"season-diff"`` its last reading plus each step's change a season before,
``Window.anchor``). Windows slide by one reading.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qtdeploy.errors import FormatError
from qtdeploy.forecast.sources import Reading
from qtdeploy.model.data import Norm
from qtdeploy.model.intmath import quantise_input
from qtdeploy.model.intmodel import IntModel


@dataclass(frozen=True)
class Window:
    """One model input: ``seq`` numbers windows from 0 for the whole run; ``x`` int8 (T, m);
    ``stamp`` is the timestamp of its last reading; ``reading`` the index of that reading."""

    seq: int
    x: np.ndarray
    stamp: str
    reading: int
    last: tuple[float, ...]
    scale: float = 1.0  # what the output is multiplied by beside out_scale (Norm.window_scale)
    anchor: tuple[float, ...] | None = None  # "season": the level of each step (Norm.anchor)


@dataclass(frozen=True)
class Scaling:
    """The blob's host-side statistics."""

    norm: Norm
    input_scale: float
    output_scale: np.ndarray  # (H,)
    x_lo: int
    x_hi: int
    features: tuple[str, ...]
    target: str | None

    @classmethod
    def from_model(cls, im: IntModel) -> Scaling:
        meta = im.meta
        missing = [k for k in ("norm", "input_scale", "output_scale") if k not in meta]
        if missing:
            raise FormatError(
                f"the blob's metadata has no {', '.join(missing)}: it cannot turn sensor readings "
                "into model inputs.",
                "Export the model with `qtdeploy export` (it stores them).",
            )
        m = im.config.features
        names = tuple(meta.get("features") or [f"x{i}" for i in range(m)])
        lo, hi = (int(v) for v in im.tensors["x.range"])
        out = np.asarray(meta["output_scale"], dtype=np.float64).reshape(-1)
        if out.size == 1:
            out = np.repeat(out, im.config.horizon)
        return cls(
            Norm.from_dict(meta["norm"]), float(meta["input_scale"]), out, lo, hi, names, meta.get("target")
        )

    def quantise(self, values: np.ndarray) -> np.ndarray:
        """Readings (T, m) in sensor units -> int8 model input."""
        z = self.norm.inputs(np.asarray(values, dtype=np.float64))
        return quantise_input(z, self.input_scale, self.x_lo, self.x_hi).astype(np.int8)

    def _anchor(
        self, last: Sequence[float] | None, anchor: Sequence[float] | None = None
    ) -> float | np.ndarray:
        """The level a forecast is relative to: the target's reading in the window's last row;
        under ``"season"`` per step, from the whole window (``anchor``: ``Window.anchor``)."""
        if self.norm.seasonal:
            if anchor is None:
                raise ValueError(
                    "this model forecasts deviations from seasonal naive: pass the window's anchor "
                    "(Window.anchor)"
                )
            return np.asarray(anchor, dtype=np.float64)
        if self.norm.scheme != "global" and self.norm.target_index >= 0:
            if last is None:
                raise ValueError(
                    "this model forecasts changes from the last reading: pass the window's last row"
                )
            return float(last[self.norm.target_index])
        return self.norm.y_mean

    def denormalise(
        self,
        y_int: np.ndarray,
        last: Sequence[float] | None = None,
        scale: float = 1.0,
        anchor: Sequence[float] | None = None,
    ) -> np.ndarray:
        """int32 outputs (..., H) -> the target in its units; ``last``: the window's last readings,
        ``scale``: its :meth:`Norm.window_scale` (``Window.scale``), ``anchor``: ``Window.anchor``."""
        out = np.asarray(y_int, dtype=np.float64) * self.output_scale
        return self._anchor(last, anchor) + out * self.norm.out_scale() * scale

    def normalise_target(
        self,
        y: np.ndarray,
        last: Sequence[float] | None = None,
        scale: float = 1.0,
        anchor: Sequence[float] | None = None,
    ) -> np.ndarray:
        """The inverse of :meth:`denormalise` (for tests and checks): target units -> int32 steps."""
        k = self.norm.out_scale() * scale * self.output_scale
        return (np.asarray(y, dtype=np.float64) - self._anchor(last, anchor)) / k


class Windower:
    """Slides a window of ``window`` readings; :meth:`push` returns a Window once it is full, and
    :meth:`truths` the targets that a new reading settles for earlier windows.

    It keeps the scaling's context too (``Norm.context``: under ``"season"`` a period before the
    window, under ``"season-diff"`` a period and one reading). Until that many readings have arrived the missing ones are NaN, which the scaling
    reads as a zero seasonal difference: the same inputs a series' first windows had in training,
    so the first window still comes with the ``window``-th reading. With a period longer than the
    window, the forecasts whose season lies before the run's first reading are relative to the
    last reading (``Norm.anchor``), as those windows were in training."""

    def __init__(self, scaling: Scaling, window: int, horizon: int) -> None:
        self.scaling, self.window, self.horizon = scaling, window, horizon
        self.context = scaling.norm.context(window)
        self.buf: deque[tuple[float, ...]] = deque(maxlen=self.context)
        self.readings = 0
        self.seq = 0

    def push(self, r: Reading) -> Window | None:
        self.buf.append(r.values)
        index = self.readings
        self.readings += 1
        if len(self.buf) < self.window:
            return None
        values = np.asarray(self.buf, dtype=np.float64)
        if len(values) < self.context:  # readings before the first: NaN, as data.windows has them
            pad = np.full((self.context - len(values), values.shape[1]), np.nan)
            values = np.concatenate([pad, values])
        norm = self.scaling.norm
        scale = float(norm.window_scale(values))
        anchor = tuple(norm.anchor(values, self.horizon).tolist()) if norm.seasonal else None
        w = Window(self.seq, self.scaling.quantise(values), r.stamp, index, r.values, scale, anchor)
        self.seq += 1
        return w

    def truths(self, r: Reading, windows_until: int) -> list[tuple[int, int, float | None]]:
        """(window seq, horizon step, value) settled by reading ``r`` (the last one pushed).

        Window ``k`` ends at reading ``k + window - 1``; its step ``h`` is reading ``k + window + h``."""
        index = self.readings - 1
        out = []
        for h in range(self.horizon):
            k = index - self.window - h
            if 0 <= k < windows_until:
                out.append((k, h, r.truth))
        return out
