"""Proper scoring rules: log loss and the Brier score, both means of a per-row loss.

Each is minimised in expectation by the true probability, so unlike AUC they reward calibration.
Log loss clips probabilities to ``[eps, 1 - eps]`` (``eps`` the float64 machine epsilon), as
scikit-learn does, so one confident mistake costs about 36 nats instead of infinity.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from keel.evaluation._arrays import F64, weighted_means, with_ones
from keel.evaluation.linearization import Linearization, of_ratio
from keel.evaluation.spec import Influence, Kernel, Metric, MetricParams

EPS = float(np.finfo(np.float64).eps)

Loss = Callable[[F64, F64], F64]
"""``loss(y, s) -> per-row loss``."""


def mean_of(loss: F64) -> Kernel:
    """The kernel of a weighted mean of a fixed per-row ``loss``."""
    columns = with_ones(loss)

    def kernel(w: F64) -> F64:
        return weighted_means(w, columns)[:, 0]

    return kernel


def mean_influence(loss: Loss) -> Influence:
    """The effects of a weighted mean of ``loss``: ``w_i (loss_i - T) / sum w``."""

    def influence(y: F64, s: F64, w: F64, params: MetricParams) -> Linearization:
        return of_ratio(loss(y, s), np.ones_like(y), w)

    return influence


def log_loss_rows(y: F64, s: F64) -> F64:
    """``-(y log p + (1 - y) log(1 - p))`` per row, ``p`` clipped to ``[eps, 1 - eps]``."""
    p = np.clip(s, EPS, 1 - EPS)
    return np.asarray(-(y * np.log(p) + (1 - y) * np.log1p(-p)), dtype=np.float64)


def brier_rows(y: F64, s: F64) -> F64:
    """``(p - y)^2`` per row."""
    return np.asarray((s - y) ** 2, dtype=np.float64)


def bind_log_loss(y: F64, s: F64, params: MetricParams) -> Kernel:
    """Mean of ``-(y log p + (1 - y) log(1 - p))``."""
    return mean_of(log_loss_rows(y, s))


def bind_brier(y: F64, s: F64, params: MetricParams) -> Kernel:
    """Mean of ``(p - y)^2``."""
    return mean_of(brier_rows(y, s))


LOG_LOSS = Metric(
    "log_loss",
    "binary",
    higher_is_better=False,
    bind=bind_log_loss,
    needs_probabilities=True,
    influence=mean_influence(log_loss_rows),
)
BRIER = Metric(
    "brier",
    "binary",
    higher_is_better=False,
    bind=bind_brier,
    needs_probabilities=True,
    influence=mean_influence(brier_rows),
)
METRICS = (LOG_LOSS, BRIER)
