"""The canary analysis on simulated canaries whose truth is known: the declared false-rollback
rate holds however often the canary is looked at; worse candidates are caught; no verdict
passes on too little data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from keel.automation.canary import Arm, Verdict, analyse, half_width
from keel.automation.policy import CanaryPolicy
from keel.automation.simulation import Behaviour, requests, run_canary

ALPHA = 0.01
POLICY = CanaryPolicy(
    false_rollback_rate=ALPHA,
    metrics=[
        {"name": "error_rate", "margin": 0.01},
        {"name": "fallback_rate", "margin": 0.01},
        {"name": "latency_p99", "margin": 2.0},
        {"name": "score_shift", "margin": 0.05, "critical": False},
    ],
)
ERRORS_ONLY = CanaryPolicy(
    false_rollback_rate=ALPHA, metrics=[{"name": "error_rate", "margin": 0.01}]
)
CHAMPION = Behaviour()
RUNS = 200


def test_aa_canaries_are_rolled_back_at_most_at_the_declared_rate() -> None:
    """200 A/A canaries, each looked at after every 100 canary requests up to 3,000 (30 looks),
    never stopped early by a pass: at most 1% (2 of 200) may be rolled back."""
    outcomes = [
        run_canary(CHAMPION, CHAMPION, POLICY, seed=s, horizon=3000, stop_on_pass=False)
        for s in range(RUNS)
    ]
    rolled_back = sum(o.verdict is Verdict.FAIL for o in outcomes)
    assert rolled_back <= ALPHA * RUNS
    assert sum(o.verdict is Verdict.PASS for o in outcomes) >= 0.6 * RUNS  # and most pass


def _naive_peeking_fails(seed: int, delta: float) -> bool:
    """A fixed-horizon one-sided z-test (level alpha) of the error rate, peeked at every chunk."""
    rng = np.random.default_rng(seed)
    canary_errors = rng.random(5000) < CHAMPION.error_rate + delta
    champion_errors = rng.random(15000) < CHAMPION.error_rate
    for n in range(100, 5001, 100):
        c, b = canary_errors[:n], champion_errors[: 3 * n]
        se = math.sqrt(c.mean() * (1 - c.mean()) / n + b.mean() * (1 - b.mean()) / (3 * n))
        if se > 0 and (c.mean() - b.mean() - 0.01) / se > 2.326:
            return True
    return False


def test_a_canary_worse_by_exactly_the_margin_keeps_the_rate_where_peeking_does_not() -> None:
    """The guarantee covers every canary no worse than its margins, the boundary included;
    the same data judged by a fixed-horizon test peeked at 50 times exceeds the rate (so this
    simulation can tell a valid test from an invalid one)."""
    at_margin = Behaviour(error_rate=CHAMPION.error_rate + 0.01)
    outcomes = [
        run_canary(at_margin, CHAMPION, ERRORS_ONLY, seed=s, horizon=5000, stop_on_pass=False)
        for s in range(RUNS)
    ]
    assert sum(o.verdict is Verdict.FAIL for o in outcomes) <= ALPHA * RUNS
    naive = sum(_naive_peeking_fails(seed, 0.01) for seed in range(RUNS))
    assert naive > 2 * ALPHA * RUNS


@pytest.mark.parametrize(
    "worse",
    [Behaviour(error_rate=0.025), Behaviour(extra_latency_ms=5.0)],
    ids=["error-rate-plus-2-points", "latency-plus-5-ms"],
)
def test_a_worse_candidate_is_caught(worse: Behaviour) -> None:
    outcomes = [run_canary(worse, CHAMPION, POLICY, seed=s, horizon=20000) for s in range(50)]
    assert sum(o.verdict is Verdict.FAIL for o in outcomes) >= 48


def test_below_the_minimum_sample_a_good_canary_holds() -> None:
    rng = np.random.default_rng(3)
    canary, champion = requests(CHAMPION, 300, rng), requests(CHAMPION, 3000, rng)
    assert analyse(canary, champion, POLICY).verdict is Verdict.HOLD
    assert analyse(canary, champion, POLICY, step_requests=300).reason.startswith("300 canary")


def test_a_critical_failure_vetoes_even_on_a_small_sample() -> None:
    rng = np.random.default_rng(4)
    broken = requests(Behaviour(error_rate=0.6), 100, rng)
    result = analyse(broken, requests(CHAMPION, 1000, rng), POLICY)
    assert result.verdict is Verdict.FAIL
    error_rate = next(m for m in result.metrics if m.name == "error_rate")
    assert error_rate.low > 0.01 and error_rate.n_canary == 100


def test_no_data_is_never_a_pass() -> None:
    empty = Arm.of([], [], [], [])
    result = analyse(empty, empty, POLICY, step_requests=10_000)
    assert result.verdict is Verdict.HOLD


def test_the_half_width_is_the_normal_mixture_boundary() -> None:
    v, a, r = 10_000.0, 0.01, 2_500.0

    def mixture(rr: float) -> float:
        return math.sqrt((v + rr) * (math.log((v + rr) / rr) + 2 * math.log(2 / a))) / v

    assert half_width(v, a, r) == pytest.approx(min(mixture(r), mixture(r / 100)))
    assert half_width(4 * v, a, r) < half_width(v, a, r)
    assert half_width(0.0, a, r) == math.inf
