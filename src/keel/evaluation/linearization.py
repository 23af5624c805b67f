"""First-order (delta-method) effects of rows on a metric, for normal intervals on large sets.

A metric ``T(w)`` is a function of the row weights, unchanged when every weight is scaled. The
effect of row ``i`` is ``g_i = w_i dT/dw_i``: the infinitesimal-jackknife linearization. Since a
bootstrap resample changes the weights by multinomial counts, the bootstrap distribution of ``T``
is, to first order, normal with variance ``sum_i g_i^2`` (the ``sum g`` term vanishes because
``T`` is scale-free). For a mean this is the textbook ``s^2 / n``; for ROC AUC it is DeLong's
variance. Each metric's effects include its own small-sample factor (``n / (n - 1)`` over the
rows its denominator rests on), so that ``sum g^2`` is the variance estimate itself.

The normal interval ``T +- z * sqrt(sum g^2)`` is valid when the metric is smooth in the weights
and enough rows back it: ``support`` is that number (every row for a mean, each class for a
ranking metric, the predicted positives for precision).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from keel.evaluation._arrays import F64

LinearMethod = Literal["delta", "delong"]


@dataclass(frozen=True, eq=False)
class Linearization:
    """Per-row effects whose squares sum to the variance estimate, and the rows behind them."""

    effects: F64
    support: int
    method: LinearMethod = "delta"

    def standard_error(self) -> float:
        """``sqrt(sum g^2)``: the metric's large-sample standard error."""
        return float(np.sqrt(np.dot(self.effects, self.effects)))


def small_sample(effects: F64, rows: int) -> F64:
    """``effects`` scaled by ``sqrt(rows / (rows - 1))``: the variance of a mean uses ``n - 1``."""
    return effects * np.sqrt(rows / (rows - 1)) if rows > 1 else effects


def of_ratio(u: F64, v: F64, w: F64) -> Linearization:
    """Effects for ``T = sum(w u) / sum(w v)``: ``g_i = w_i (u_i - T v_i) / sum(w v)``.

    Every mean (``v = 1``) and every confusion-count metric (precision: ``u = y * predicted``,
    ``v = predicted``) is such a ratio. ``support`` counts the weighted rows with ``v != 0``.
    """
    denominator = float(np.dot(w, v))
    value = float(np.dot(w, u)) / denominator
    support = int(np.count_nonzero((v != 0) & (w > 0)))
    return Linearization(small_sample(w * (u - value * v) / denominator, support), support)
