"""DeLong's standard error of ROC AUC, from both classes' structural components.

For a positive row ``i``, ``V10_i`` is the share of negatives it outscores (ties count one half);
for a negative row ``j``, ``V01_j`` is the share of positives that outscore it. AUC is the mean of
either, and ``Var(AUC) = var(V10) / m + var(V01) / n`` for ``m`` positives and ``n`` negatives
(DeLong, DeLong and Clarke-Pearson, 1988).

With row weights the shares and means are weighted. The same components are ROC AUC's first-order
row effects (see ``linearization``): ``w_i (V10_i - AUC) / W1`` for a positive, ``w_j (V01_j -
AUC) / W0`` for a negative, where ``W1`` and ``W0`` are the class weights; scaled by ``m / (m - 1)``
and ``n / (n - 1)`` per class, their squares sum to DeLong's variance.

A closed form, so monitoring can put an interval on a live AUC without a bootstrap, and
``evaluate`` uses it for ROC AUC on large sets.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from keel.errors import InvalidInput
from keel.evaluation._arrays import F64, check_labels, check_pair
from keel.evaluation.linearization import Linearization, small_sample
from keel.evaluation.spec import MetricParams, describe


def delong_auc_se(y_true: npt.ArrayLike, y_score: npt.ArrayLike) -> float:
    """The DeLong standard error of the ROC AUC of ``y_score`` for binary ``y_true``."""
    y, s = check_pair(y_true, y_score)
    positive = check_labels(y) == 1
    if min(int(positive.sum()), int((~positive).sum())) < 2:
        raise InvalidInput(
            f"the DeLong variance needs at least 2 rows of each class; got {describe(y, 'binary')}",
            path="y_true",
        )
    return auc_influence(y, s, np.ones_like(y), MetricParams()).standard_error()


def auc_influence(y: F64, s: F64, w: F64, params: MetricParams) -> Linearization:
    """ROC AUC's effects (see the module docstring); ``support`` is the smaller class's rows."""
    positive = y == 1
    w1, w0 = w[positive], w[~positive]
    v10 = share_below(s[~positive], w0, s[positive])
    v01 = 1.0 - share_below(s[positive], w1, s[~positive])
    auc = float(np.dot(w1, v10)) / w1.sum()
    m, n = int(np.count_nonzero(w1 > 0)), int(np.count_nonzero(w0 > 0))
    effects = np.empty_like(s)
    effects[positive] = small_sample(w1 * (v10 - auc) / w1.sum(), m)
    effects[~positive] = small_sample(w0 * (v01 - auc) / w0.sum(), n)
    return Linearization(effects, min(m, n), "delong")


def share_below(reference: F64, weights: F64, at: F64) -> F64:
    """For each of ``at``: the weight share of ``reference`` scored below it, ties counting half."""
    order = np.argsort(reference, kind="stable")
    ordered = reference[order]
    cumulative = np.concatenate(([0.0], np.cumsum(weights[order])))
    below = cumulative[np.searchsorted(ordered, at, side="left")]
    upto = cumulative[np.searchsorted(ordered, at, side="right")]
    return np.asarray((below + upto) / (2.0 * cumulative[-1]), dtype=np.float64)
