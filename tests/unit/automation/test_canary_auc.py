"""The canary's ROC AUC metrics (estimated by CBPE, realized on arrived outcomes) on simulated
canaries whose truth is known: the declared false-rollback rate holds over A/A canaries looked
at after every chunk, a canary ranking worse by 0.03 AUC is caught, and below a metric's
minimum sample nothing passes."""

from __future__ import annotations

import numpy as np
import pytest

from keel.automation.canary import (
    Verdict,
    analyse,
    estimated_auc,
    expected_auc_variance,
    realized_auc,
)
from keel.automation.policy import CanaryPolicy
from keel.automation.simulation import Behaviour, requests, run_canary

ALPHA = 0.01
RUNS = 200
CHAMPION = Behaviour(auc=0.80)


def _policy(name: str, margin: float = 0.01, **extra: object) -> CanaryPolicy:
    return CanaryPolicy(
        false_rollback_rate=ALPHA, metrics=[{"name": name, "margin": margin, **extra}]
    )


def test_the_cbpe_variance_matches_the_spread_of_the_estimate_over_samples() -> None:
    """The U-statistic variance of the expected AUC, against its spread over 300 samples of
    2,000 requests: within 15% (the spread's own sampling error is about 4%)."""
    rng = np.random.default_rng(0)
    found = [estimated_auc(requests(CHAMPION, 2000, rng)) for _ in range(300)]
    estimates = np.array([f[0] for f in found])
    predicted = float(np.sqrt(np.mean([f[1] for f in found])))
    assert abs(estimates.mean() - 0.80) < 0.002  # calibrated scores: CBPE is unbiased
    assert predicted == pytest.approx(float(estimates.std(ddof=1)), rel=0.15)


def test_the_realized_variance_is_delongs() -> None:
    from keel.evaluation import delong_auc_se

    arm = requests(Behaviour(auc=0.75, labelled=1.0), 1500, np.random.default_rng(1))
    auc, variance, labelled = realized_auc(arm)
    assert labelled == arm.scores.size
    assert np.sqrt(variance) == pytest.approx(delong_auc_se(arm.labels, arm.scores), rel=1e-9)
    assert 0.7 < auc < 0.8


def test_ties_count_one_half_in_the_cbpe_variance() -> None:
    """Scores rounded to two decimals (many ties) give the same variance as a tiny jitter."""
    arm = requests(CHAMPION, 3000, np.random.default_rng(2))
    p = np.round(arm.probabilities, 2)
    jitter = p + np.random.default_rng(3).uniform(-1e-9, 1e-9, p.size)
    assert expected_auc_variance(p, p) == pytest.approx(expected_auc_variance(p, jitter), rel=0.05)


@pytest.mark.slow
@pytest.mark.parametrize("metric", ["estimated_roc_auc", "realized_roc_auc"])
def test_aa_canaries_are_rolled_back_at_most_at_the_declared_rate(metric: str) -> None:
    """200 A/A canaries, each looked at after every 100 canary requests up to 5,000 (50
    looks; 30% of the outcomes arrived for the realized metric), never stopped by a pass: at
    most 1% (2 of 200) may be rolled back."""
    policy = _policy(metric)
    outcomes = [
        run_canary(CHAMPION, CHAMPION, policy, seed=s, horizon=5000, stop_on_pass=False)
        for s in range(RUNS)
    ]
    assert sum(o.verdict is Verdict.FAIL for o in outcomes) <= ALPHA * RUNS
    if metric == "estimated_roc_auc":  # and the estimate is sharp enough to pass most
        assert sum(o.verdict is Verdict.PASS for o in outcomes) >= 0.5 * RUNS


@pytest.mark.slow
def test_a_canary_worse_by_exactly_the_margin_keeps_the_rate() -> None:
    """The guarantee covers the boundary: a canary ranking 0.01 AUC worse with a margin of
    0.01 is no more often rolled back than the declared rate (200 canaries, 50 looks)."""
    at_margin = Behaviour(auc=0.79)
    policy = _policy("estimated_roc_auc")
    outcomes = [
        run_canary(at_margin, CHAMPION, policy, seed=s, horizon=5000, stop_on_pass=False)
        for s in range(RUNS)
    ]
    assert sum(o.verdict is Verdict.FAIL for o in outcomes) <= ALPHA * RUNS


def test_a_canary_ranking_worse_by_3_points_is_caught_by_the_estimate() -> None:
    """AUC 0.77 against 0.80 with a 0.01 margin: 100 canaries, all rolled back, before any
    outcome arrives, within 5,000 canary requests."""
    worse = Behaviour(auc=0.77)
    policy = _policy("estimated_roc_auc")
    outcomes = [
        run_canary(worse, CHAMPION, policy, seed=10_000 + s, horizon=5000) for s in range(100)
    ]
    assert sum(o.verdict is Verdict.FAIL for o in outcomes) >= 98
    assert float(np.median([o.canary_requests for o in outcomes])) <= 2000


def test_a_canary_ranking_much_worse_is_caught_by_the_realized_auc() -> None:
    """AUC 0.70 against 0.80, every outcome arrived: 50 canaries, nearly all rolled back."""
    worse, champion = Behaviour(auc=0.70, labelled=1.0), Behaviour(auc=0.80, labelled=1.0)
    policy = _policy("realized_roc_auc")
    outcomes = [
        run_canary(worse, champion, policy, seed=20_000 + s, horizon=10_000, chunk=250)
        for s in range(50)
    ]
    assert sum(o.verdict is Verdict.FAIL for o in outcomes) >= 48


def test_below_the_minimum_sample_the_auc_metrics_hold() -> None:
    """Even a canary far worse holds (neither passes nor fails) with fewer labelled requests
    than the metric's minimum, and a good one never passes there."""
    rng = np.random.default_rng(5)
    bad = requests(Behaviour(auc=0.55, labelled=0.1), 1000, rng)  # about 100 labelled
    champion = requests(Behaviour(auc=0.90, labelled=0.1), 3000, rng)
    result = analyse(bad, champion, _policy("realized_roc_auc"), step_requests=1000)
    assert result.verdict is Verdict.HOLD
    (metric,) = result.metrics
    assert metric.n_canary < 200 and metric.verdict is Verdict.HOLD
    good = requests(CHAMPION, 300, rng)
    result = analyse(good, champion, _policy("estimated_roc_auc"), step_requests=10_000)
    assert result.verdict is Verdict.HOLD and result.metrics[0].n_canary < 400


def test_arms_without_probabilities_hold() -> None:
    """A model whose calibrated probabilities are unknown gives CBPE nothing: hold."""
    rng = np.random.default_rng(6)
    plain = requests(Behaviour(), 2000, rng)
    result = analyse(plain, plain, _policy("estimated_roc_auc"), step_requests=10_000)
    assert result.verdict is Verdict.HOLD
    assert result.metrics[0].n_canary == 0
