"""Decision metrics at a threshold: accuracy, precision, recall and F1.

A row is predicted positive when its score is at or above ``params.threshold`` (default 0.5).
All four come from the same weighted confusion counts, read in one matrix product: the total
weight ``N``, the weight of class 1 ``P``, of predicted positives ``PP`` and of true positives
``TP``. Each is a ratio of two linear combinations of these counts (accuracy is
``(N - P - PP + 2 TP) / N``), so its large-sample effects are those of a ratio of means.
Precision is undefined (NaN) with no predicted positive, recall with no positive, F1 with
neither; scikit-learn reports 0 with a warning there, which would hide the problem.
"""

from __future__ import annotations

import numpy as np

from keel.evaluation._arrays import F64, ratio
from keel.evaluation.linearization import Linearization, of_ratio
from keel.evaluation.spec import Bind, Influence, Kernel, Metric, MetricParams

Combination = tuple[float, float, float, float]
"""Coefficients of ``(N, P, PP, TP)``."""


def confusion_columns(y: F64, s: F64, params: MetricParams) -> F64:
    """Per row: ``(1, y, predicted, y * predicted)``; a weighted column sum is the counts."""
    predicted = (s >= params.threshold).astype(np.float64)
    return np.column_stack((np.ones_like(y), y, predicted, y * predicted))


def from_confusion(numerator: Combination, denominator: Combination) -> Bind:
    """A metric's bind function: the ratio of two combinations of the confusion counts."""
    top, bottom = np.array(numerator), np.array(denominator)

    def bind(y: F64, s: F64, params: MetricParams) -> Kernel:
        columns = confusion_columns(y, s, params)

        def kernel(w: F64) -> F64:
            counts = w @ columns
            return ratio(counts @ top, counts @ bottom)

        return kernel

    return bind


def confusion_influence(numerator: Combination, denominator: Combination) -> Influence:
    """The effects of the same ratio, as a ratio of per-row means."""
    top, bottom = np.array(numerator), np.array(denominator)

    def influence(y: F64, s: F64, w: F64, params: MetricParams) -> Linearization:
        columns = confusion_columns(y, s, params)
        return of_ratio(columns @ top, columns @ bottom, w)

    return influence


def _metric(name: str, numerator: Combination, denominator: Combination, undefined: str) -> Metric:
    return Metric(
        name,
        "binary",
        higher_is_better=True,
        bind=from_confusion(numerator, denominator),
        undefined=undefined,
        influence=confusion_influence(numerator, denominator),
    )


ACCURACY = _metric(
    "accuracy", (1, -1, -1, 2), (1, 0, 0, 0), "the metric is undefined for this input"
)
PRECISION = _metric(
    "precision", (0, 0, 0, 1), (0, 0, 1, 0), "no row scores at or above the decision threshold"
)
RECALL = _metric("recall", (0, 0, 0, 1), (0, 1, 0, 0), "it needs at least one row of class 1")
F1 = _metric(
    "f1", (0, 0, 0, 2), (0, 1, 1, 0), "there is no row of class 1 and no row predicted positive"
)
METRICS = (ACCURACY, F1, PRECISION, RECALL)
