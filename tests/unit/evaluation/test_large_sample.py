"""Large-sample intervals: row effects are the metric's derivative, and the intervals cover.

The coverage tests draw data with a known population value at ``LARGE_SAMPLE_ROWS`` rows, the
smallest size where ``evaluate`` uses these methods, and count how often the interval holds it.
"""

from __future__ import annotations

from math import sqrt

import numpy as np
import numpy.typing as npt
import pytest

from keel.evaluation import METRICS, MetricParams, evaluate
from keel.evaluation.calibration import bin_codes, bin_edges
from keel.evaluation.intervals import LARGE_SAMPLE_ROWS, MIN_SUPPORT
from keel.evaluation.resampling import Resampling

F64 = npt.NDArray[np.float64]
LEVELS: F64 = 0.115 + 0.04 * np.arange(20, dtype=np.float64)
"""The scores of the simulated binary model: 20 levels, none on a bin edge or the threshold."""
RATE: F64 = 0.75 * LEVELS
"""The true rate of class 1 at each level: the model over-predicts, so the true ECE is large."""
BINARY = ["roc_auc", "pr_auc", "log_loss", "brier", "ece", "accuracy", "f1", "precision", "recall"]


def _levels(n: int, seed: int) -> tuple[F64, F64]:
    """``n`` rows spread evenly over the levels; labels drawn at each level's true rate."""
    rng = np.random.default_rng(seed)
    level = rng.integers(0, LEVELS.size, size=n)
    return (rng.random(n) < RATE[level]).astype(np.float64), LEVELS[level]


def _population() -> dict[str, float]:
    """Each binary metric of the simulated model on its population (every level equally likely)."""
    share = np.full(LEVELS.size, 1.0 / LEVELS.size)
    pos, neg = share * RATE, share * (1 - RATE)
    above = np.cumsum(pos[::-1])[::-1]
    selected = np.cumsum(share[::-1])[::-1]
    beaten = np.concatenate(([0.0], np.cumsum(neg)[:-1])) + neg / 2
    predicted = LEVELS >= 0.5
    tp, p, pp = pos[predicted].sum(), pos.sum(), share[predicted].sum()
    gaps = np.bincount(bin_codes(LEVELS, bin_edges(LEVELS, 10, "uniform")), share * (LEVELS - RATE))
    return {
        "roc_auc": float(np.dot(pos, beaten) / (p * neg.sum())),
        "pr_auc": float(np.dot(pos, above / selected) / p),
        "log_loss": float(-np.dot(share, RATE * np.log(LEVELS) + (1 - RATE) * np.log1p(-LEVELS))),
        "brier": float(np.dot(share, RATE * (1 - LEVELS) ** 2 + (1 - RATE) * LEVELS**2)),
        "ece": float(np.abs(gaps).sum()),
        "accuracy": float(pos[predicted].sum() + neg[~predicted].sum()),
        "f1": float(2 * tp / (p + pp)),
        "precision": float(tp / pp),
        "recall": float(tp / p),
    }


def _regression(n: int, seed: int, noise: float = 0.8) -> tuple[F64, F64]:
    """``y = x + e`` predicted by ``x``, with ``x ~ N(0, 1)`` and ``e ~ N(0, noise^2)``."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return x + noise * rng.normal(size=n), x


def _covered(truth: dict[str, float], draws: int, sample) -> dict[str, int]:  # type: ignore[no-untyped-def]
    hits = dict.fromkeys(truth, 0)
    for seed in range(draws):
        y, s = sample(seed)
        found = evaluate(y, s, list(truth), resamples=300, seed=seed)
        for name, estimate in found.items():
            assert estimate.low is not None and estimate.high is not None
            hits[name] += estimate.low <= truth[name] <= estimate.high
    return hits


def test_binary_intervals_cover_the_population_value() -> None:
    truth = _population()
    hits = _covered(truth, 200, lambda seed: _levels(LARGE_SAMPLE_ROWS, seed))
    assert all(180 <= count <= 199 for count in hits.values()), hits


def test_regression_intervals_cover_the_population_value() -> None:
    noise = 0.8
    truth = {
        "rmse": noise,
        "mae": noise * sqrt(2 / np.pi),
        "r2": 1 - noise**2 / (1 + noise**2),
    }
    hits = _covered(truth, 200, lambda seed: _regression(LARGE_SAMPLE_ROWS, seed, noise))
    assert all(180 <= count <= 199 for count in hits.values()), hits


def test_each_metric_says_which_method_made_its_interval() -> None:
    y, s = _levels(LARGE_SAMPLE_ROWS, seed=0)
    found = evaluate(y, s, BINARY, resamples=200)
    methods = {name: e.method for name, e in found.items()}
    assert methods == dict.fromkeys(BINARY, "delta") | {
        "roc_auc": "delong",
        "ece": "bin-bootstrap",
    }
    assert found["roc_auc"].resamples == 0 and found["ece"].resamples == 200


def test_small_sets_keep_the_row_bootstrap() -> None:
    y, s = _levels(LARGE_SAMPLE_ROWS - 1, seed=0)
    found = evaluate(y, s, ["roc_auc", "ece", "brier"], resamples=100)
    assert {e.method for e in found.values()} == {"bootstrap"}


def test_a_rare_class_keeps_the_row_bootstrap_where_it_backs_the_metric() -> None:
    """600 positives in 20,000 rows: too few behind ROC AUC and recall, plenty for Brier."""
    rng = np.random.default_rng(0)
    y = np.zeros(20_000)
    y[rng.choice(y.size, MIN_SUPPORT - 400, replace=False)] = 1.0
    s = np.clip(0.05 + 0.3 * y + rng.normal(0, 0.1, y.size), 0, 1)
    found = evaluate(y, s, ["roc_auc", "recall", "brier"], resamples=100)
    assert {name: e.method for name, e in found.items()} == {
        "roc_auc": "bootstrap",
        "recall": "bootstrap",
        "brier": "delta",
    }


def test_no_resamples_means_no_interval_on_large_sets_too() -> None:
    y, s = _levels(LARGE_SAMPLE_ROWS, seed=0)
    found = evaluate(y, s, ["roc_auc", "ece"], resamples=0)
    assert {(e.low, e.high, e.method) for e in found.values()} == {(None, None, "none")}


@pytest.mark.parametrize("metric", ["roc_auc", "pr_auc", "log_loss", "ece", "f1", "accuracy"])
def test_large_sample_interval_matches_the_row_bootstrap(metric: str) -> None:
    """Both describe the same bootstrap distribution: the endpoints agree to a fraction of the
    width (the row bootstrap's own Monte Carlo error with 1,000 resamples is a few percent)."""
    rng = np.random.default_rng(5)
    n = 30_000
    y = (rng.random(n) < 0.2).astype(np.float64)
    s = 1.0 / (1.0 + np.exp(-(rng.normal(size=n) + 1.5 * y - 2.0)))
    weights = rng.integers(1, 4, size=n).astype(np.float64)
    fast = evaluate(y, s, [metric], weights=weights)[metric]
    draws = Resampling(1000).run({metric: METRICS[metric].bind(y, s, MetricParams())}, n, weights)
    low, high, _ = Resampling(1000).interval(draws[metric])
    assert fast.method != "bootstrap"
    assert fast.low is not None and fast.high is not None and low is not None and high is not None
    width = high - low
    assert abs(fast.low - low) < 0.12 * width and abs(fast.high - high) < 0.12 * width


def _support_factors(name: str, y: F64, w: F64, support: int) -> F64:
    """The small-sample factor each metric's effects carry: per class for DeLong."""
    if name != "roc_auc":
        return np.full(y.size, sqrt(support / (support - 1)))
    m, n = int((y == 1).sum()), int((y == 0).sum())
    return np.where(y == 1, sqrt(m / (m - 1)), sqrt(n / (n - 1)))


@pytest.mark.parametrize("name", [n for n, m in METRICS.items() if m.influence is not None])
def test_effects_are_the_weighted_derivative_of_the_metric(name: str) -> None:
    """``g_i = w_i dT/dw_i`` by finite differences of the metric's own kernel, ties and weights
    included; they sum to zero since scaling every weight leaves a metric unchanged."""
    rng = np.random.default_rng(3)
    n = 300
    metric = METRICS[name]
    if metric.kind == "binary":
        y = (rng.random(n) < 0.3).astype(np.float64)
        s = np.round(1.0 / (1.0 + np.exp(-(rng.normal(size=n) + 1.2 * y - 0.8))), 2)
    else:
        y = np.round(rng.normal(size=n), 1)
        s = y + rng.normal(size=n)
    w = rng.integers(1, 5, size=n).astype(np.float64)
    params = MetricParams()
    linear = metric.influence(y, s, w, params)  # type: ignore[misc]
    kernel = metric.bind(y, s, params)
    step = 1e-6
    bumped = np.tile(w, (n, 1)) + step * np.eye(n)
    numeric = (kernel(bumped) - kernel(w[None, :])[0]) / step * w
    scaled = numeric * _support_factors(name, y, w, linear.support)
    np.testing.assert_allclose(linear.effects, scaled, rtol=1e-4, atol=1e-7)
    assert abs(linear.effects.sum()) < 1e-12
