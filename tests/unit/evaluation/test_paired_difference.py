"""paired_difference: metric(b) - metric(a) on the same resampled rows."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from keel.errors import InvalidInput
from keel.evaluation import METRICS, evaluate, paired_difference

F64 = npt.NDArray[np.float64]


def _models(n: int, seed: int, noise_a: float, noise_b: float) -> tuple[F64, F64, F64]:
    """Labels and two models' probabilities that share a signal; the noisier model is worse."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.4).astype(np.float64)
    signal = 1.5 * y + rng.normal(size=n)

    def model(noise: float) -> F64:
        return 1.0 / (1.0 + np.exp(-(signal + noise * rng.normal(size=n) - 0.7)))

    return y, model(noise_a), model(noise_b)


@pytest.mark.parametrize("metric", ["roc_auc", "log_loss", "pr_auc"], ids=str)
def test_detects_the_better_model(metric: str) -> None:
    y, worse, better = _models(2000, seed=1, noise_a=1.5, noise_b=0.2)
    diff = paired_difference(y, worse, better, metric, resamples=300)
    assert diff.low is not None and diff.high is not None
    improvement = METRICS[metric].improvement
    assert improvement(diff.value) > 0
    assert min(improvement(diff.low), improvement(diff.high)) > 0


def test_identical_scores_differ_by_exactly_zero() -> None:
    y, a, _ = _models(500, seed=2, noise_a=0.5, noise_b=0.5)
    diff = paired_difference(y, a, a.copy(), "roc_auc", resamples=200)
    assert (diff.value, diff.low, diff.high, diff.resamples) == (0.0, 0.0, 0.0, 200)


def test_equally_good_models_give_an_interval_around_zero() -> None:
    y, a, b = _models(1000, seed=3, noise_a=0.5, noise_b=0.5)
    diff = paired_difference(y, a, b, "roc_auc", resamples=400)
    assert diff.low is not None and diff.high is not None
    assert diff.low < 0 < diff.high


def test_pairing_is_much_tighter_than_two_separate_intervals() -> None:
    y, a, b = _models(1000, seed=4, noise_a=0.3, noise_b=0.2)
    diff = paired_difference(y, a, b, "roc_auc", resamples=400)
    alone = evaluate(y, a, ["roc_auc"], resamples=400)["roc_auc"]
    assert diff.high - diff.low < 0.5 * (alone.high - alone.low)  # type: ignore[operator]


def test_value_is_the_difference_of_the_point_estimates() -> None:
    y, a, b = _models(400, seed=5, noise_a=1.0, noise_b=0.3)
    diff = paired_difference(y, a, b, "brier", resamples=50, seed=9)
    expected = METRICS["brier"].score(y, b) - METRICS["brier"].score(y, a)
    assert diff.value == pytest.approx(expected, abs=1e-15)
    assert paired_difference(y, a, b, "brier", resamples=50, seed=9) == diff


@pytest.mark.parametrize(
    ("score_b", "path"),
    [([0.1, 0.2], "score_b"), ([0.1, 0.2, 1.4], "score_b[2]")],
    ids=["short", "not-a-probability"],
)
def test_names_the_bad_score(score_b: list[float], path: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        paired_difference([0, 1, 1], [0.2, 0.6, 0.9], score_b, "log_loss")
    assert caught.value.path == path


def test_unknown_metric() -> None:
    with pytest.raises(InvalidInput, match="unknown metric 'gini'") as caught:
        paired_difference([0, 1], [0.2, 0.6], [0.3, 0.5], "gini")
    assert caught.value.path == "metric"
