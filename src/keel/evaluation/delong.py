"""DeLong's standard error of ROC AUC, from both classes' structural components.

For a positive row ``i``, ``V10_i`` is the share of negatives it outscores (ties count one half);
for a negative row ``j``, ``V01_j`` is the share of positives that outscore it. AUC is the mean of
either, and ``Var(AUC) = var(V10) / m + var(V01) / n`` for ``m`` positives and ``n`` negatives
(DeLong, DeLong and Clarke-Pearson, 1988). The components come from mid-ranks: ``V10_i`` is the
rank of ``i`` among all rows minus its rank among the positives, divided by ``n``.

A closed form, so monitoring can put an interval on a live AUC without a bootstrap.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from keel.errors import InvalidInput
from keel.evaluation._arrays import check_labels, check_pair
from keel.evaluation.spec import describe


def delong_auc_se(y_true: npt.ArrayLike, y_score: npt.ArrayLike) -> float:
    """The DeLong standard error of the ROC AUC of ``y_score`` for binary ``y_true``."""
    y, s = check_pair(y_true, y_score)
    positive = check_labels(y) == 1
    m, n = int(positive.sum()), int((~positive).sum())
    if min(m, n) < 2:
        raise InvalidInput(
            f"the DeLong variance needs at least 2 rows of each class; got {describe(y, 'binary')}",
            path="y_true",
        )
    ranks = rankdata(s)
    v10 = (ranks[positive] - rankdata(s[positive])) / n
    v01 = 1.0 - (ranks[~positive] - rankdata(s[~positive])) / m
    return math.sqrt(float(np.var(v10, ddof=1)) / m + float(np.var(v01, ddof=1)) / n)


def rankdata(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """1-based ranks, ties sharing their average rank (``scipy.stats.rankdata``'s default).

    Written out here because importing ``scipy.stats`` costs most of a second at start-up.
    """
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return np.asarray((ends - (counts - 1) / 2.0)[inverse], dtype=np.float64)
