"""Coverage of CBPE's interval with known truth: a model whose scores are not probabilities,
recalibrated on a finite reference, then scored on chunks as large as the reference.

Truth: ``P(y=1) = sigmoid(z)`` and the model's score is ``sigmoid(z)**3`` (ranks right, not
calibrated), so the realized ROC AUC of a chunk varies only by its labels and the interval's
job is the label noise plus the error of the isotonic map fitted on 3,000 labelled rows.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from keel.evaluation import get_metric
from keel.monitoring.performance import PerformanceEstimator

F64 = npt.NDArray[np.float64]
TRIALS = 80


def world(rows: int, rng: np.random.Generator) -> tuple[F64, F64]:
    """Labels and uncalibrated scores."""
    p = 1.0 / (1.0 + np.exp(-(1.5 * rng.normal(size=rows) - 0.3)))
    return (rng.random(rows) < p).astype(np.float64), p**3


def held(resamples: int) -> int:
    """Trials (each a fresh reference and one chunk) whose interval held the realized AUC."""
    count = 0
    for trial in range(TRIALS):
        rng = np.random.default_rng(1000 + trial)
        y_ref, s_ref = world(3000, rng)
        estimator = PerformanceEstimator(
            metrics=["roc_auc"], calibration="isotonic", calibration_resamples=resamples, seed=trial
        ).fit(s_ref, y_ref)
        y, s = world(5000, rng)
        found = estimator.estimate(s).metrics["roc_auc"]
        count += found.low <= get_metric("roc_auc").score(y, s) <= found.high
    return count


def test_the_maps_uncertainty_brings_the_interval_closer_to_its_coverage() -> None:
    """Measured: 70 of 80 (87.5%) with the refitted maps, 58 of 80 (72.5%) with label noise
    alone. The bootstrap of an isotonic map is known to understate its error, so the interval
    still falls short of 95% here. The seeds are fixed; over other seeds, at those true rates,
    P(Binomial(80, 0.875) <= 63) = 1.9% and P(Binomial(80, 0.725) >= 64) = 8%."""
    with_maps, label_noise = held(50), held(0)
    assert with_maps >= 64
    assert label_noise <= 63
