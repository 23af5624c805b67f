"""Decision metrics at a threshold: accuracy, precision, recall and F1.

A row is predicted positive when its score is at or above ``params.threshold`` (default 0.5).
All four come from the same weighted confusion counts, read in one matrix product: the total
weight ``N``, the weight of class 1 ``P``, of predicted positives ``PP`` and of true positives
``TP``. Precision is undefined (NaN) with no predicted positive, recall with no positive, F1 with
neither; scikit-learn reports 0 with a warning there, which would hide the problem.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from keel.evaluation._arrays import F64, ratio
from keel.evaluation.spec import Bind, Kernel, Metric, MetricParams

Formula = Callable[[F64, F64, F64, F64], F64]
"""``formula(N, P, PP, TP) -> values`` on the weighted confusion counts of each resample."""


def from_confusion(formula: Formula) -> Bind:
    """A metric's bind function from its formula on the confusion counts."""

    def bind(y: F64, s: F64, params: MetricParams) -> Kernel:
        predicted = (s >= params.threshold).astype(np.float64)
        columns = np.column_stack((np.ones_like(y), y, predicted, y * predicted))

        def kernel(w: F64) -> F64:
            counts = w @ columns
            return formula(counts[:, 0], counts[:, 1], counts[:, 2], counts[:, 3])

        return kernel

    return bind


def _accuracy(n: F64, p: F64, pp: F64, tp: F64) -> F64:
    return ratio(n - p - pp + 2 * tp, n)


def _precision(n: F64, p: F64, pp: F64, tp: F64) -> F64:
    return ratio(tp, pp)


def _recall(n: F64, p: F64, pp: F64, tp: F64) -> F64:
    return ratio(tp, p)


def _f1(n: F64, p: F64, pp: F64, tp: F64) -> F64:
    return ratio(2 * tp, p + pp)


ACCURACY = Metric("accuracy", "binary", higher_is_better=True, bind=from_confusion(_accuracy))
PRECISION = Metric(
    "precision",
    "binary",
    higher_is_better=True,
    bind=from_confusion(_precision),
    undefined="no row scores at or above the decision threshold",
)
RECALL = Metric(
    "recall",
    "binary",
    higher_is_better=True,
    bind=from_confusion(_recall),
    undefined="it needs at least one row of class 1",
)
F1 = Metric(
    "f1",
    "binary",
    higher_is_better=True,
    bind=from_confusion(_f1),
    undefined="there is no row of class 1 and no row predicted positive",
)
METRICS = (ACCURACY, F1, PRECISION, RECALL)
