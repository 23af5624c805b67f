"""What a metric is: a stable name, a direction, and one weighted, vectorized formula.

Every metric is written once, as ``bind(y, s, params) -> kernel`` and ``kernel(w) -> values``,
where ``w`` is a ``(resamples, rows)`` matrix of row weights. The point estimate is the single
all-ones row; a bootstrap passes the multinomial counts of each resample (times any row weights).
One formula serves both, so the interval is always of the very statistic that is reported, and a
test against scikit-learn covers both paths. ``bind`` does the work that does not depend on the
weights (sorting, logarithms, bin codes) once; the kernel runs once per block of resamples.

An undefined value (a single class for a ranking metric, zero variance for R²) comes back as NaN
from the kernel; ``Metric.score`` turns it into an ``InvalidInput`` that says why.

On large sets a resample of every row is slow and unnecessary: a metric may also say how to get
its interval without one, as first-order row effects (``influence``, for a normal interval) or as
a bootstrap over a few per-cell sums (``resample``); ``intervals`` decides when to use them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from keel.errors import InvalidInput
from keel.evaluation._arrays import (
    F64,
    check_labels,
    check_pair,
    check_probabilities,
    check_weights,
    unit_weights,
)
from keel.evaluation.linearization import Linearization

Kind = Literal["binary", "regression"]
Binning = Literal["uniform", "quantile"]
KINDS: tuple[Kind, ...] = ("binary", "regression")
BINNINGS: tuple[Binning, ...] = ("uniform", "quantile")


@dataclass(frozen=True)
class MetricParams:
    """Settings some metrics read: the decision threshold (a score >= threshold is positive) and
    the calibration bins (``uniform``: equal width on [0, 1]; ``quantile``: equal mass)."""

    threshold: float = 0.5
    bins: int = 10
    binning: Binning = "uniform"

    def __post_init__(self) -> None:
        if not math.isfinite(self.threshold):
            raise InvalidInput(
                f"threshold must be a finite number; got {self.threshold}", path="threshold"
            )
        if isinstance(self.bins, bool) or not isinstance(self.bins, int) or self.bins < 1:
            raise InvalidInput(f"bins must be an integer >= 1; got {self.bins!r}", path="bins")
        if self.binning not in BINNINGS:
            raise InvalidInput(
                f"binning must be 'uniform' or 'quantile'; got {self.binning!r}", path="binning"
            )


Kernel = Callable[[F64], F64]
"""``kernel(w) -> values``: ``w`` is (resamples, rows), values is (resamples,), NaN if undefined."""

Bind = Callable[[F64, F64, MetricParams], Kernel]
"""``bind(y, s, params) -> kernel`` for validated vectors ``y`` (labels) and ``s`` (scores)."""

Influence = Callable[[F64, F64, F64, MetricParams], Linearization]
"""``influence(y, s, w, params)``: each row's first-order effect at row weights ``w``."""


class Resample(Protocol):
    """The metric on ``resamples`` bootstrap draws made from per-cell sums instead of rows."""

    def __call__(
        self, y: F64, s: F64, w: F64, params: MetricParams, *, resamples: int, seed: int
    ) -> F64: ...


@dataclass(frozen=True)
class Metric:
    """A registered metric: ``name`` is the stable key used in keel.yaml and stored results."""

    name: str
    kind: Kind
    higher_is_better: bool
    bind: Bind
    needs_probabilities: bool = False
    undefined: str = "the metric is undefined for this input"
    influence: Influence | None = None
    resample: Resample | None = None

    def check(self, y: F64, s: F64, *, field: str = "y_score") -> None:
        """Raise InvalidInput unless ``y`` and ``s`` suit this metric's kind."""
        if self.kind == "binary":
            check_labels(y)
        if self.needs_probabilities:
            check_probabilities(s, field=field)

    def prepare(self, y_true: npt.ArrayLike, y_score: npt.ArrayLike) -> tuple[F64, F64]:
        """Validated float64 vectors for this metric's kind."""
        y, s = check_pair(y_true, y_score)
        self.check(y, s)
        return y, s

    def score(
        self,
        y_true: npt.ArrayLike,
        y_score: npt.ArrayLike,
        params: MetricParams | None = None,
        *,
        weights: npt.ArrayLike | None = None,
    ) -> float:
        """The point estimate on all rows; InvalidInput when the metric is undefined here."""
        y, s = self.prepare(y_true, y_score)
        w = unit_weights(y.size) if weights is None else check_weights(weights, y.size)[None, :]
        value = float(self.bind(y, s, params or MetricParams())(w)[0])
        if math.isnan(value):
            raise InvalidInput(self.why_undefined(y), path="y_true")
        return value

    def why_undefined(self, y: F64) -> str:
        """The message for an undefined value, with what arrived."""
        return f"{self.name} is undefined: {self.undefined}; got {describe(y, self.kind)}"

    def improvement(self, difference: F64 | float) -> F64 | float:
        """A candidate-minus-reference difference, signed so that positive means better."""
        return difference if self.higher_is_better else -difference


def describe(y: F64, kind: Kind) -> str:
    """What ``y_true`` holds, in the words an undefined-metric message needs."""
    if kind == "binary":
        positive = int(np.count_nonzero(y == 1))
        return f"{y.size} rows: {positive} of class 1, {y.size - positive} of class 0"
    return f"{y.size} rows with y_true in [{y.min():g}, {y.max():g}]"
