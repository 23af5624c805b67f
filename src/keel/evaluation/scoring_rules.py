"""Proper scoring rules: log loss and the Brier score, both means of a per-row loss.

Each is minimised in expectation by the true probability, so unlike AUC they reward calibration.
Log loss clips probabilities to ``[eps, 1 - eps]`` (``eps`` the float64 machine epsilon), as
scikit-learn does, so one confident mistake costs about 36 nats instead of infinity.
"""

from __future__ import annotations

import numpy as np

from keel.evaluation._arrays import F64, weighted_means, with_ones
from keel.evaluation.spec import Kernel, Metric, MetricParams

EPS = float(np.finfo(np.float64).eps)


def mean_of(loss: F64) -> Kernel:
    """The kernel of a weighted mean of a fixed per-row ``loss``."""
    columns = with_ones(loss)

    def kernel(w: F64) -> F64:
        return weighted_means(w, columns)[:, 0]

    return kernel


def bind_log_loss(y: F64, s: F64, params: MetricParams) -> Kernel:
    """Mean of ``-(y log p + (1 - y) log(1 - p))``."""
    p = np.clip(s, EPS, 1 - EPS)
    return mean_of(-(y * np.log(p) + (1 - y) * np.log1p(-p)))


def bind_brier(y: F64, s: F64, params: MetricParams) -> Kernel:
    """Mean of ``(p - y)^2``."""
    return mean_of((s - y) ** 2)


LOG_LOSS = Metric(
    "log_loss", "binary", higher_is_better=False, bind=bind_log_loss, needs_probabilities=True
)
BRIER = Metric("brier", "binary", higher_is_better=False, bind=bind_brier, needs_probabilities=True)
METRICS = (LOG_LOSS, BRIER)
