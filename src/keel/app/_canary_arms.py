"""What the canary's ROC AUC metrics read beside the logged requests: each arm's calibrated
probabilities (for CBPE) and the outcomes arrived so far (for the realized AUC).

* **Probabilities**: each version's scores on the frozen benchmark rows, with their labels,
  fit the same ``PerformanceEstimator`` the monitor fits for the champion (its calibration
  checked and, when it fails, isotonic recalibration); the arm's logged scores are then mapped
  through it. Each arm is calibrated on its own model's benchmark scores, so a canary that ranks
  worse gets probabilities that say so.
* **Outcomes**: joined to the logged predictions as the monitor joins them
  (``join_outcomes``: by prediction id, else by entity id); null until one arrives.

A request the canary's route answered by a fallback carries another model's score: it counts
among the canary's failures (error and fallback rates) but gets no probability and no label
here, so neither AUC reads another model's score as the canary's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

if TYPE_CHECKING:
    from keel.automation.canary import F64
    from keel.wiring import Keel


def calibration(keel: Keel, version: int) -> Callable[[F64], F64] | None:
    """Scores to calibrated probabilities for ``version``, fitted on its benchmark rows; None
    when it has no frozen benchmark (the estimate then holds, and the step's deadline ends
    it)."""
    from keel.monitoring.performance import PerformanceEstimator  # noqa: PLC0415

    registry = keel.registry()
    model = registry.model(version)
    benchmark = registry.policy.benchmark or next(iter(model.benchmarks), None)
    with keel.reader() as unit:
        frozen = unit.benchmarks.get(keel.project.name, benchmark) if benchmark else None
    if frozen is None:
        return None
    target = registry.target
    frame = keel.rows.read(frozen.digest).filter(pl.col(target.column).is_not_null())
    estimator = PerformanceEstimator(
        metrics=("roc_auc",), threshold=registry.metric_params.threshold
    ).fit(registry.bundle(version).score(frame), target.labels(frame[target.column]))

    def apply(scores: F64) -> F64:
        found = np.full(scores.size, np.nan)
        finite = np.isfinite(scores)
        if finite.any():
            found[finite] = estimator.probabilities(scores[finite])
        return found

    return apply


def with_outcomes(keel: Keel, frame: pl.LazyFrame) -> pl.LazyFrame:
    """The logged requests with the latest outcome of each (``label``, null until one)."""
    from keel.store.tables.outcome_log import join_outcomes  # noqa: PLC0415

    outcomes = keel.outcome_log()
    try:
        joined = join_outcomes(frame, outcomes.scan()).collect().lazy()
    finally:
        outcomes.close()
    return joined


def own(frame: pl.DataFrame, label: str, values: F64) -> F64:
    """``values`` where the arm's own model gave the score, NaN where a fallback did."""
    mine = (frame["model"] == label).fill_null(value=False).to_numpy()
    return np.where(mine, values, np.nan)
