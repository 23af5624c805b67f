"""Realized performance per chunk, once outcomes have arrived, with label coverage.

Outcomes join predictions late and not all at once, so a chunk's labels are a subset of its
rows: ``y_true`` carries NaN (or None) where no label has arrived yet. The metrics are those of
``keel.evaluation.evaluate`` on the labelled rows, with its intervals; coverage says how much of
the chunk they speak for. Below ``min_labels`` labelled rows, or where a metric is undefined (one
class only), the metric is absent with the reason instead of a misleading number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from keel.errors import InvalidInput
from keel.evaluation import Estimate, MetricParams, evaluate


@dataclass(frozen=True)
class RealizedPerformance:
    """Metrics on a chunk's labelled rows, and the share of rows that had a label."""

    rows: int
    labelled: int
    metrics: dict[str, Estimate]
    absent: dict[str, str] = field(default_factory=dict)

    @property
    def coverage(self) -> float:
        """Labelled rows over all rows of the chunk."""
        return self.labelled / self.rows if self.rows else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "rows": self.rows,
            "labelled": self.labelled,
            "coverage": self.coverage,
            "metrics": {name: estimate.to_dict() for name, estimate in self.metrics.items()},
            "absent": dict(self.absent),
        }


def realized_performance(
    y_true: npt.ArrayLike,
    y_score: npt.ArrayLike,
    *,
    metrics: Sequence[str] = ("roc_auc",),
    min_labels: int = 50,
    params: MetricParams | None = None,
    resamples: int = 500,
    confidence: float = 0.95,
    seed: int = 0,
) -> RealizedPerformance:
    """The chunk's metrics on its labelled rows (``y_true`` NaN or None where unlabelled)."""
    y = np.asarray(y_true, dtype=np.float64)
    s = np.asarray(y_score, dtype=np.float64)
    if y.shape != s.shape or y.ndim != 1:
        raise InvalidInput(
            f"y_true and y_score must be 1-D and of one length; got {y.shape} and {s.shape}",
            path="y_true",
        )
    labelled = ~np.isnan(y)
    count = int(labelled.sum())
    if count < min_labels:
        reason = f"{count} labelled rows; realized metrics need at least min_labels={min_labels}"
        return RealizedPerformance(y.size, count, {}, dict.fromkeys(metrics, reason))
    found: dict[str, Estimate] = {}
    absent: dict[str, str] = {}
    for name in metrics:
        try:
            found.update(
                evaluate(
                    y[labelled],
                    s[labelled],
                    [name],
                    params=params,
                    resamples=resamples,
                    confidence=confidence,
                    seed=seed,
                )
            )
        except InvalidInput as undefined:
            if undefined.path not in ("y_true", None):
                raise
            absent[name] = undefined.message
    return RealizedPerformance(y.size, count, found, absent)
