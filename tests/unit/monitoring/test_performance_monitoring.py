"""Realized and estimated performance per chunk, and the calibration check CBPE relies on."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from keel.evaluation import get_metric
from keel.features.errors import NotFittedError
from keel.monitoring.performance import (
    PerformanceEstimator,
    check_calibration,
    estimate_performance,
    realized_performance,
)
from keel.monitoring.performance.estimated import expected_auc

F64 = npt.NDArray[np.float64]


def calibrated(rows: int, seed: int, spread: float = 1.5) -> tuple[F64, F64]:
    """Probabilities from a logistic model and labels drawn from them: calibrated by design."""
    rng = np.random.default_rng(seed)
    p = 1.0 / (1.0 + np.exp(-(spread * rng.normal(size=rows) - 0.3)))
    return (rng.random(rows) < p).astype(np.float64), p


def test_estimated_auc_is_close_to_the_realized_one_on_a_calibrated_model() -> None:
    errors, covered = [], 0
    for seed in range(30):
        y, p = calibrated(3000, seed)
        estimate = estimate_performance(p, metrics=["roc_auc"], seed=seed).metrics["roc_auc"]
        realized = get_metric("roc_auc").score(y, p)
        errors.append(abs(estimate.value - realized))
        covered += estimate.low <= realized <= estimate.high
    assert float(np.mean(errors)) < 0.01
    assert covered >= 25  # a 95% interval: about 28.5 of 30 expected


def test_expected_auc_is_the_auc_of_each_row_as_both_classes_weighted() -> None:
    rng = np.random.default_rng(0)
    p = rng.random(300)
    s = np.round(p, 1)  # ties
    y = np.concatenate((np.ones(300), np.zeros(300)))
    weights = np.concatenate((p, 1 - p))
    with_self_pairs = get_metric("roc_auc").score(y, np.concatenate((s, s)), weights=weights)
    self_pairs = float(np.dot(p, 1 - p))
    total = float(p.sum() * (1 - p).sum())
    expected = (with_self_pairs * total - 0.5 * self_pairs) / (total - self_pairs)
    assert expected_auc(p, s) == pytest.approx(expected, rel=1e-12)


def test_expected_confusion_metrics_match_their_definitions() -> None:
    _, p = calibrated(2000, seed=1)
    found = estimate_performance(p, threshold=0.4, simulations=100).metrics
    predicted = p >= 0.4
    assert found["accuracy"].value == pytest.approx(
        (p[predicted].sum() + (1 - p[~predicted]).sum()) / p.size
    )
    assert found["precision"].value == pytest.approx(p[predicted].mean())
    assert found["recall"].value == pytest.approx(p[predicted].sum() / p.sum())


def test_estimator_alerts_when_the_chunk_separates_worse_than_the_reference() -> None:
    y, p = calibrated(5000, seed=2)
    estimator = PerformanceEstimator(metrics=["roc_auc"]).fit(p, y)
    assert estimator.estimate(calibrated(3000, seed=3)[1]).alerts == ()
    harder = calibrated(3000, seed=4, spread=0.6)[1]  # applicants the model tells apart less well
    found = estimator.estimate(harder)
    assert found.alerts == ("roc_auc",)
    assert found.metrics["roc_auc"].reference == pytest.approx(estimator.reference_["roc_auc"])


def test_estimator_recalibrates_raw_scores_on_the_reference() -> None:
    y, p = calibrated(8000, seed=5)
    raw = p**3  # ranks the same, not probabilities
    estimator = PerformanceEstimator(metrics=["accuracy"], calibration="isotonic").fit(raw, y)
    chunk_y, chunk_p = calibrated(4000, seed=6)
    found = estimator.estimate(chunk_p**3).metrics["accuracy"]
    realized = get_metric("accuracy").score(chunk_y, chunk_p**3)
    assert found.value == pytest.approx(realized, abs=0.03)
    with pytest.raises(NotFittedError):
        PerformanceEstimator().estimate(raw)


def test_realized_performance_reads_labelled_rows_and_reports_coverage() -> None:
    y, p = calibrated(1000, seed=7)
    y[::4] = np.nan  # a quarter of the outcomes have not arrived
    found = realized_performance(y, p, metrics=["roc_auc", "accuracy"], resamples=200)
    assert found.labelled == 750 and found.coverage == 0.75
    labelled = ~np.isnan(y)
    assert found.metrics["roc_auc"].value == pytest.approx(
        get_metric("roc_auc").score(y[labelled], p[labelled])
    )


def test_realized_metrics_are_absent_with_a_reason_when_labels_are_few_or_one_class() -> None:
    y, p = calibrated(1000, seed=8)
    few = realized_performance(np.where(np.arange(1000) < 10, y, np.nan), p, min_labels=50)
    assert few.metrics == {} and "10 labelled rows" in few.absent["roc_auc"]
    one_class = realized_performance(
        np.zeros(1000), p, metrics=["roc_auc", "accuracy"], resamples=0
    )
    assert "roc_auc" in one_class.absent and "accuracy" in one_class.metrics


def test_calibration_check_holds_on_a_calibrated_model_and_fails_on_a_shifted_one() -> None:
    y, p = calibrated(4000, seed=9)
    assert check_calibration(y, p).holds
    found = check_calibration(y, np.clip(p * 1.25, 0, 1))
    assert not found.holds and found.p_value < 0.005
