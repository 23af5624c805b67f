"""Realized and estimated performance per chunk, and the calibration check CBPE relies on."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from keel.evaluation import MetricParams, get_metric
from keel.features.errors import NotFittedError
from keel.monitoring.performance import (
    PerformanceEstimator,
    check_calibration,
    decision_threshold,
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


def outside_model(rows: int, seed: int) -> tuple[F64, F64]:
    """Labels and the scores of a model trained elsewhere: it ranks as well as the truth but is
    overconfident and shifted (score = sigmoid(2.5 z + 1) where P(y=1) = sigmoid(z))."""
    rng = np.random.default_rng(seed)
    z = 1.5 * rng.normal(size=rows) - 0.3
    y = (rng.random(rows) < 1.0 / (1.0 + np.exp(-z))).astype(np.float64)
    return y, 1.0 / (1.0 + np.exp(-(2.5 * z + 1.0)))


def _covered(estimator: PerformanceEstimator, metric: str, chunks: int = 10) -> tuple[int, int]:
    """How many stationary chunks' realized ``metric`` fall in the interval, and alerts."""
    covered = alerts = 0
    for seed in range(chunks):
        y, s = outside_model(2000, 100 + seed)
        found = estimator.estimate(s)
        realized = get_metric(metric).score(y, s, MetricParams(threshold=estimator.threshold))
        estimate = found.metrics[metric]
        covered += estimate.low <= realized <= estimate.high
        alerts += metric in found.alerts
    return covered, alerts


@pytest.mark.parametrize("metric", ["roc_auc", "accuracy", "precision", "recall", "f1"])
def test_uncalibrated_outside_scores_are_recalibrated_and_the_estimates_cover(metric: str) -> None:
    y, s = outside_model(6000, seed=11)
    estimator = PerformanceEstimator(metrics=[metric]).fit(s, y)
    assert estimator.calibration_used_ == "isotonic"
    assert estimator.calibration_check_ is not None and not estimator.calibration_check_.holds
    covered, alerts = _covered(estimator, metric)
    assert covered >= 8 and alerts == 0  # a 95% interval: 9.5 of 10 expected, 1% false alarms
    assert "recalibrated (isotonic)" in estimator.estimate(s).notes[0]


@pytest.mark.parametrize("metric", ["roc_auc", "accuracy", "f1"])
def test_uncalibrated_scores_used_as_they_are_miss_the_realized_value(metric: str) -> None:
    """The known truth the default guards against: read as probabilities, the overconfident
    scores promise a better model than it is (a real drop would hide under the gap)."""
    y, s = outside_model(6000, seed=11)
    estimator = PerformanceEstimator(metrics=[metric], calibration="none").fit(s, y)
    covered, _ = _covered(estimator, metric)
    assert covered <= 2
    assert estimator.estimate(s).metrics[metric].value > estimator.reference_[metric] + 0.05


def test_calibrated_scores_are_used_as_they_are() -> None:
    y, p = calibrated(6000, seed=12)
    estimator = PerformanceEstimator(metrics=["accuracy"]).fit(p, y)
    assert estimator.calibration_used_ == "none" and estimator.calibration_note_ == ""
    assert estimator.estimate(p).notes == ()


def test_estimates_follow_the_models_own_decisions_not_half() -> None:
    """A model that flags only scores >= 0.8: its predicted labels give its accuracy and F1."""
    covered = {"accuracy": 0, "f1": 0}
    y_ref, p_ref = calibrated(6000, seed=13)
    estimator = PerformanceEstimator(metrics=["accuracy", "f1"]).fit(
        p_ref, y_ref, y_pred=p_ref >= 0.8
    )
    assert estimator.reference_["f1"] == pytest.approx(
        get_metric("f1").score(y_ref, p_ref, MetricParams(threshold=0.8))
    )
    for seed in range(10):
        y, p = calibrated(2000, seed=200 + seed)
        found = estimator.estimate(p, y_pred=p >= 0.8).metrics
        for name in covered:
            realized = get_metric(name).score(y, p, MetricParams(threshold=0.8))
            covered[name] += found[name].low <= realized <= found[name].high
    assert covered["accuracy"] >= 8 and covered["f1"] >= 8
    half = estimate_performance(p, simulations=100).metrics["f1"].value
    assert abs(half - found["f1"].value) > 0.05  # the 0.5 rule would estimate another model


def test_decision_threshold_is_read_from_predicted_labels() -> None:
    _, p = calibrated(500, seed=14)
    assert decision_threshold(p, p >= 0.7) == pytest.approx(p[p >= 0.7].min())
    assert decision_threshold(p, np.arange(500) % 2) is None  # no threshold reproduces these
