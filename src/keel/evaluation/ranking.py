"""Ranking metrics: ROC AUC and average precision, with tied scores handled exactly.

Rows are taken class 0 first, then class 1, each in ascending score order, and the positives are
grouped into levels of equal score. With ``P_g`` the positive weight at level ``g``, ``Cn(k)``
the weight of the ``k`` lowest-scored negatives, ``below_g`` / ``upto_g`` the number of negatives
scored below / at or below level ``g``, and ``Wp``, ``Wn`` the class totals:

* ROC AUC is the weighted Mann-Whitney statistic, a tie counting one half:
  ``sum_g P_g (Cn(below_g) + Cn(upto_g)) / 2 / (Wp Wn)``. It equals the trapezoidal area under
  the ROC curve (what scikit-learn reports) and is undefined (NaN) when a class has no weight.
* Average precision is ``sum_g P_g precision_g / Wp``, where ``precision_g`` is the positive
  share of the weight scored at or above level ``g``: scikit-learn's step-wise, un-interpolated
  AP. It is undefined when there is no positive weight.

Per block of resamples this is one cumulative sum over the negative columns and one gather at the
positive levels, so the kernel reads about one pass of the weight matrix.

Large-sample effects: ROC AUC's are DeLong's components (``delong``). For average precision write
``AP = Q / Wp`` with ``Q = sum_g P_g H_g / S_g``, where ``H_g`` and ``S_g`` are the positive and
the total weight scored at or above level ``g``. A row scored ``s`` enters ``S_g`` (and, if
positive, ``H_g``) of every level ``g`` at or below ``s``, and a positive also its own ``P_g``, so
``dQ/dw = y (precision_own + sum_{g <= s} P_g / S_g) - sum_{g <= s} P_g H_g / S_g^2`` and
``dAP/dw = (dQ/dw - y AP) / Wp``: two cumulative sums over the levels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from keel.evaluation._arrays import F64, I64, class_order, ratio, run_starts
from keel.evaluation.delong import auc_influence
from keel.evaluation.linearization import Linearization, small_sample
from keel.evaluation.spec import Kernel, Metric, MetricParams


@dataclass(frozen=True)
class ClassSplit:
    """Where the negatives end, how the positives group into score levels, what lies below."""

    order: I64 | None
    negatives: int
    levels: I64 | None
    below: I64
    upto: I64 | None

    @classmethod
    def of(cls, y: F64, s: F64) -> ClassSplit:
        """The split of rows ``y``, ``s``; ``levels`` / ``upto`` are None when nothing ties."""
        order = class_order(y, s)
        if order is not None:
            y, s = y[order], s[order]
        negatives = int(np.count_nonzero(y == 0))
        scores = s[negatives:]
        starts = run_starts(scores) if scores.size else np.zeros(0, dtype=np.int64)
        level_scores = scores[starts]
        below = np.searchsorted(s[:negatives], level_scores, side="left").astype(np.int64)
        upto = np.searchsorted(s[:negatives], level_scores, side="right").astype(np.int64)
        return cls(
            order,
            negatives,
            None if starts.size == scores.size else starts,
            below,
            None if np.array_equal(below, upto) else upto,
        )

    def arrange(self, w: F64) -> tuple[F64, F64]:
        """``Cn`` as ``(resamples, negatives + 1)`` from 0, and ``P`` as ``(resamples, levels)``."""
        if self.order is not None:
            w = w[:, self.order]
        cumulative = np.zeros((w.shape[0], self.negatives + 1))
        np.cumsum(w[:, : self.negatives], axis=1, out=cumulative[:, 1:])
        positive = w[:, self.negatives :]
        if self.levels is not None:
            positive = np.add.reduceat(positive, self.levels, axis=1)
        return cumulative, positive


def bind_roc_auc(y: F64, s: F64, params: MetricParams) -> Kernel:
    """ROC AUC as the weighted Mann-Whitney statistic (see the module docstring)."""
    split = ClassSplit.of(y, s)

    def kernel(w: F64) -> F64:
        cumulative, positive = split.arrange(w)
        beaten = cumulative[:, split.below]
        if split.upto is not None:
            beaten = 0.5 * (beaten + cumulative[:, split.upto])
        wins = np.einsum("ij,ij->i", positive, beaten)
        return ratio(wins, positive.sum(axis=1) * cumulative[:, -1])

    return kernel


def bind_average_precision(y: F64, s: F64, params: MetricParams) -> Kernel:
    """Average precision over the positive score levels (see the module docstring)."""
    split = ClassSplit.of(y, s)

    def kernel(w: F64) -> F64:
        cumulative, positive = split.arrange(w)
        hits = np.cumsum(positive[:, ::-1], axis=1)[:, ::-1]
        selected = hits + cumulative[:, -1:] - cumulative[:, split.below]
        precision = np.zeros_like(hits)
        np.divide(hits, selected, out=precision, where=selected > 0)
        return ratio(np.einsum("ij,ij->i", positive, precision), positive.sum(axis=1))

    return kernel


def average_precision_influence(y: F64, s: F64, w: F64, params: MetricParams) -> Linearization:
    """Average precision's effects (see the module docstring); ``support`` is the positive rows."""
    levels, at_level, above, selected = precision_levels(y, s, w)
    total = float(at_level.sum())
    precision = above / selected
    value = float(np.dot(at_level, precision)) / total
    gains = np.concatenate(([0.0], np.cumsum(at_level / selected)))
    losses = np.concatenate(([0.0], np.cumsum(at_level * above / selected**2)))
    index = np.searchsorted(levels, s, side="right")
    own = np.where(y == 1, precision[np.maximum(index - 1, 0)], 0.0)
    derivative = (y * (own + gains[index] - value) - losses[index]) / total
    support = int(np.count_nonzero((y == 1) & (w > 0)))
    return Linearization(small_sample(w * derivative, support), support)


def precision_levels(y: F64, s: F64, w: F64) -> tuple[F64, F64, F64, F64]:
    """Per positive score level, ascending: its score, its positive weight ``P_g``, the positive
    weight at or above it ``H_g``, and all weight at or above it ``S_g`` (1 where that is 0, a
    level whose every term is then 0)."""
    positive = y == 1
    order = np.argsort(s[positive], kind="stable")
    scores = s[positive][order]
    starts = run_starts(scores)
    at_level = np.add.reduceat(w[positive][order], starts)
    above = at_level.sum() - np.concatenate(([0.0], np.cumsum(at_level)[:-1]))
    negatives = np.argsort(s[~positive], kind="stable")
    cumulative = np.concatenate(([0.0], np.cumsum(w[~positive][negatives])))
    below = cumulative[np.searchsorted(s[~positive][negatives], scores[starts], side="left")]
    selected = above + cumulative[-1] - below
    return scores[starts], at_level, above, np.where(selected > 0, selected, 1.0)


ROC_AUC = Metric(
    "roc_auc",
    "binary",
    higher_is_better=True,
    bind=bind_roc_auc,
    undefined="it needs rows of both classes",
    influence=auc_influence,
)
PR_AUC = Metric(
    "pr_auc",
    "binary",
    higher_is_better=True,
    bind=bind_average_precision,
    undefined="it needs at least one row of class 1",
    influence=average_precision_influence,
)
METRICS = (ROC_AUC, PR_AUC)
