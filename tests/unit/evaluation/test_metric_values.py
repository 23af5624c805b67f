"""Every metric equals scikit-learn's value: on all rows, with weights, and on bootstrap counts."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest
from sklearn import metrics as skm

from keel.evaluation import METRICS, MetricParams

F64 = npt.NDArray[np.float64]
Scored = tuple[F64, F64, F64]
Make = Callable[..., Scored]
Reference = Callable[[F64, F64, F64 | None], float]


def _at(threshold: float, fn: Callable[..., float]) -> Reference:
    return lambda y, s, w: fn(y, s >= threshold, sample_weight=w)


def _ece(y: F64, s: F64, w: F64 | None) -> float:
    """ECE written out bin by bin: weighted |mean prediction - observed rate| over 10 bins."""
    w = np.ones_like(y) if w is None else w
    total = 0.0
    for b in range(10):
        lo, hi = b / 10, (b + 1) / 10
        inside = (s > lo) & (s <= hi) if b else (s <= hi)
        total += abs(float(np.sum(w[inside] * (s[inside] - y[inside]))))
    return total / float(w.sum())


REFERENCES: dict[str, Reference] = {
    "roc_auc": lambda y, s, w: skm.roc_auc_score(y, s, sample_weight=w),
    "pr_auc": lambda y, s, w: skm.average_precision_score(y, s, sample_weight=w),
    "log_loss": lambda y, s, w: skm.log_loss(y, s, sample_weight=w),
    "brier": lambda y, s, w: skm.brier_score_loss(y, s, sample_weight=w),
    "ece": _ece,
    "accuracy": _at(0.5, skm.accuracy_score),
    "f1": _at(0.5, skm.f1_score),
    "precision": _at(0.5, skm.precision_score),
    "recall": _at(0.5, skm.recall_score),
    "rmse": lambda y, s, w: skm.root_mean_squared_error(y, s, sample_weight=w),
    "mae": lambda y, s, w: skm.mean_absolute_error(y, s, sample_weight=w),
    "r2": lambda y, s, w: skm.r2_score(y, s, sample_weight=w),
}


@pytest.fixture
def data_for(make_binary: Make, make_regression: Make) -> Callable[[str, bool], Scored]:
    """Rows that suit the named metric: binary labels and probabilities, or a regression."""

    def data(name: str, ties: bool) -> Scored:
        if METRICS[name].kind == "regression":
            return make_regression(500, seed=11, ties=ties)
        return make_binary(600, seed=7, ties=ties)

    return data


DataFor = Callable[[str, bool], Scored]


def test_every_metric_has_a_reference() -> None:
    assert set(REFERENCES) == set(METRICS)


@pytest.mark.parametrize("name", list(REFERENCES), ids=str)
@pytest.mark.parametrize("ties", [False, True], ids=["continuous", "ties"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_score_matches_sklearn(name: str, ties: bool, weighted: bool, data_for: DataFor) -> None:
    y, s, w = data_for(name, ties)
    weights = w if weighted else None
    expected = REFERENCES[name](y, s, weights)
    assert METRICS[name].score(y, s, weights=weights) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("name", list(REFERENCES), ids=str)
@pytest.mark.parametrize("ties", [False, True], ids=["continuous", "ties"])
def test_kernel_on_bootstrap_counts_matches_sklearn(
    name: str, ties: bool, data_for: DataFor
) -> None:
    """A block of resample counts gives, row by row, the metric of that resample."""
    y, s, _ = data_for(name, ties)
    rng = np.random.default_rng(3)
    draws = rng.integers(0, y.size, size=(4, y.size))
    counts = np.stack([np.bincount(row, minlength=y.size) for row in draws]).astype(np.float64)
    values = METRICS[name].bind(y, s, MetricParams())(counts)
    expected = [REFERENCES[name](y, s, row) for row in counts]
    np.testing.assert_allclose(values, expected, rtol=1e-10)


@pytest.mark.parametrize("name", list(REFERENCES), ids=str)
def test_kernel_does_not_depend_on_row_order(name: str, data_for: DataFor) -> None:
    """Kernels bound on shuffled rows (the gather path) agree with those on sorted rows."""
    y, s, _ = data_for(name, True)
    order = np.lexsort((s, y))
    weights = np.random.default_rng(5).integers(0, 3, size=(3, y.size)).astype(np.float64)
    shuffled = METRICS[name].bind(y, s, MetricParams())(weights)
    ordered = METRICS[name].bind(y[order], s[order], MetricParams())(weights[:, order])
    np.testing.assert_allclose(shuffled, ordered, rtol=1e-12)


@pytest.mark.parametrize("name", ["accuracy", "f1", "precision", "recall"], ids=str)
def test_threshold_metrics_use_the_threshold(name: str, make_binary: Make) -> None:
    y, s, _ = make_binary(400, seed=2, ties=True)
    params = MetricParams(threshold=0.3)
    expected = _at(0.3, getattr(skm, f"{name}_score"))(y, s, None)
    assert METRICS[name].score(y, s, params) == pytest.approx(expected, rel=1e-12)


def test_a_score_on_the_threshold_is_positive() -> None:
    assert METRICS["recall"].score([1, 1], [0.5, 0.2]) == 0.5


def test_roc_auc_counts_a_tie_as_one_half() -> None:
    assert METRICS["roc_auc"].score([0, 1, 0, 1], [0.2, 0.2, 0.1, 0.9]) == 0.875


def test_roc_auc_accepts_raw_margins() -> None:
    assert METRICS["roc_auc"].score([0, 1, 0, 1], [-3.0, 2.5, 0.0, 7.0]) == 1.0


def test_log_loss_clips_certain_mistakes() -> None:
    value = METRICS["log_loss"].score([1, 0], [0.0, 0.0])
    assert value == pytest.approx(skm.log_loss([1, 0], [0.0, 0.0], labels=[0, 1]))
    assert np.isfinite(value)


def test_ece_with_quantile_bins_is_zero_when_calibrated_per_bin() -> None:
    y = np.array([0, 1, 0, 1, 1, 1, 0, 0], dtype=np.float64)
    s = np.array([0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5])
    params = MetricParams(bins=4, binning="quantile")
    assert METRICS["ece"].score(y, s, params) == 0.0
