"""Numeric features: learned per-column state and its vectorized application.

A numeric value (an input column or a derived feature) goes through, in order:

1. missing: null, NaN and +-inf are missing (a division by zero in a derived feature is too);
2. log: ``sign(x) * log1p(|x|)`` for the columns listed in ``features.numeric.log``;
3. clip to the training quantiles ``features.numeric.clip_quantiles`` (of the logged values);
4. impute missing values with the training median, mean or zero (``none`` leaves NaN);
5. standardize with the training mean and standard deviation (linear models only).

A column with gaps in training also gets a 0/1 ``<name>__missing`` indicator. A column that is
entirely missing in training imputes 0 (NaN with ``impute: none``) and gets no indicator.

All steps work on one (rows, columns) block at once, with per-column parameters broadcast, so the
cost per call is a handful of NumPy operations whatever the number of rows or columns.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from keel.features.spec import NumericSpec

F64 = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]
Index = npt.NDArray[np.intp]

INDICATOR_SUFFIX = "__missing"


@dataclass(frozen=True)
class NumericState:
    """What ``fit`` learned about one numeric feature."""

    name: str
    log: bool
    low: float
    """Lower clip bound (-inf: no clipping)."""
    high: float
    """Upper clip bound (+inf: no clipping)."""
    fill: float
    """Value for missing entries (NaN with ``impute: none``)."""
    indicator: bool
    """Whether a ``<name>__missing`` feature is emitted (the column had gaps in training)."""
    center: float = 0.0
    """Subtracted after imputation (the training mean when standardizing)."""
    scale: float = 1.0
    """Divides after centering (the training standard deviation when standardizing)."""


def learn_numeric(
    columns: Iterable[tuple[str, F64]],
    rows: int,
    *,
    spec: NumericSpec,
    standardize: bool,
    unclipped: Collection[str] = (),
) -> tuple[NumericState, ...]:
    """Learn each column's state from its raw values (steps 1-2 happen here).

    Columns come one at a time, so fitting never holds a block of every column: on large frames
    the allocation of such a block costs more than the statistics.
    """
    return tuple(
        _learn_one(
            _observed(values, log=name in spec.log),
            rows=rows,
            name=name,
            spec=spec,
            standardize=standardize,
            clip=spec.clip_quantiles is not None and name not in unclipped,
        )
        for name, values in columns
    )


def _observed(values: F64, *, log: bool) -> F64:
    """A copy of the finite values (steps 1-2: anything else is missing), logged if asked."""
    observed = values[np.isfinite(values)]
    return signed_log1p(observed) if log else observed


def _learn_one(
    observed: F64, *, rows: int, name: str, spec: NumericSpec, standardize: bool, clip: bool
) -> NumericState:
    log = name in spec.log
    if observed.size == 0:
        fill = math.nan if spec.impute == "none" else 0.0
        return NumericState(name, log, -math.inf, math.inf, fill, indicator=False)
    low, high, median = _order_statistics(observed, spec, clip=clip)
    indicator = spec.missing_indicator and observed.size < rows
    if not standardize:
        fill = _fill(observed, spec.impute, low, high, median)
        return NumericState(name, log, low, high, fill, indicator)
    clipped = np.clip(observed, low, high)
    fill = _fill(clipped, spec.impute, low, high, median)
    gaps = rows - observed.size
    center = (float(clipped.sum()) + gaps * fill) / rows
    variance = (float(np.square(clipped - center).sum()) + gaps * (fill - center) ** 2) / rows
    scale = math.sqrt(variance)
    if not math.isfinite(scale) or scale <= 0.0:
        scale = 1.0
    return NumericState(name, log, low, high, fill, indicator, center, scale)


def _order_statistics(observed: F64, spec: NumericSpec, *, clip: bool) -> tuple[float, float, F64]:
    """Clip bounds (infinite when not clipping) and the middle value(s) of ``observed``, which
    is reordered in place (the caller's own copy).

    One partition at every rank needed finds all of them, where a quantile call and a median
    call each copy and partition the column (the loan example's 12 numeric features on 640,000
    rows: 0.23 s -> 0.12 s). Quantiles interpolate linearly between ranks, as NumPy's default
    method does.
    """
    size = observed.size
    middle = [(size - 1) // 2, size // 2] if spec.impute == "median" else []
    positions = np.array(spec.clip_quantiles if clip and spec.clip_quantiles else [], dtype=float)
    positions *= size - 1
    below = np.floor(positions).astype(np.intp)
    above = np.minimum(below + 1, size - 1)
    ranks = sorted({*below.tolist(), *above.tolist(), *middle})
    if ranks:
        observed.partition(ranks)
    low, high = -math.inf, math.inf
    if positions.size:
        weight = positions - below
        low, high = (observed[below] + (observed[above] - observed[below]) * weight).tolist()
    return low, high, observed[middle]


def _fill(values: F64, impute: str, low: float, high: float, middle: F64) -> float:
    """The imputed value, from the (clipped) values; the median is that of the clipped values."""
    if impute == "median":
        return float(np.mean(np.clip(middle, low, high)))
    if impute == "mean":
        return float(values.mean())
    return 0.0 if impute == "zero" else math.nan


def signed_log1p(values: F64) -> F64:
    """``sign(x) * log1p(|x|)``: a log that keeps the sign and maps 0 to 0 (NaN stays NaN)."""
    result: F64 = np.sign(values) * np.log1p(np.abs(values))
    return result


@dataclass(frozen=True, eq=False)
class NumericPlan:
    """Per-column states as broadcastable arrays, built once in ``fit`` or ``from_dict``."""

    log: Index
    clip: bool
    low: F64
    high: F64
    fill: F64
    standardize: bool
    center: F64
    scale: F64
    indicators: Index
    """Columns (of the numeric block) that emit a missing indicator."""

    @classmethod
    def build(cls, states: Sequence[NumericState], *, standardize: bool) -> NumericPlan:
        """The plan for ``states``, in block column order."""

        def column(attribute: str) -> F64:
            return np.array([getattr(state, attribute) for state in states], dtype=np.float64)

        low, high = column("low"), column("high")
        return cls(
            log=np.flatnonzero([state.log for state in states]),
            clip=bool(np.isfinite(low).any() or np.isfinite(high).any()),
            low=low,
            high=high,
            fill=column("fill"),
            standardize=standardize,
            center=column("center"),
            scale=column("scale"),
            indicators=np.flatnonzero([state.indicator for state in states]),
        )

    @staticmethod
    def prepare(block: F64, log: Index) -> Mask:
        """Steps 1-2 in place: the missing mask (non-finite values), then logged columns.

        Non-finite values are left as they are: ``finish`` overwrites every masked entry.
        """
        missing = np.isfinite(block)
        np.logical_not(missing, out=missing)
        if log.size:
            block[:, log] = signed_log1p(block[:, log])
        return missing

    def finish(self, block: F64, missing: Mask) -> None:
        """Steps 3-5 in place: clip, impute, standardize."""
        if self.clip:
            np.clip(block, self.low, self.high, out=block)
        np.copyto(block, self.fill, where=missing)
        if self.standardize:
            block -= self.center
            block /= self.scale
