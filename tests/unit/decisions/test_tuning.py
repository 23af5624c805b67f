"""``tune``: the cheapest thresholds under constraints, and an interval that holds the truth."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from keel.decisions import DecisionPolicy
from keel.decisions.costs import CostsSpec
from keel.decisions.tuning import ordered_actions, tune
from keel.errors import InvalidInput
from keel.simulate import simulate_frame, true_default_probability

COSTS = CostsSpec.model_validate(
    {
        "amount": "loan_amount",
        "outcomes": {"positive": "default", "negative": "repaid"},
        "actions": {
            "decline": {"default": 0, "repaid": "0.1 * loan_amount"},
            "review": 500,
            "approve": {"default": "0.6 * loan_amount", "repaid": 0},
        },
    }
).policy()


@pytest.fixture(scope="module")
def population() -> tuple[np.ndarray, np.ndarray]:
    """60,000 simulated applications: the true default probability and the amount."""
    frame = simulate_frame(
        rows=60_000, seed=3, start=datetime(2024, 1, 1), end=datetime(2024, 7, 1)
    )
    return true_default_probability(frame), frame["loan_amount"].to_numpy()


def test_the_actions_are_ordered_from_low_scores_to_high() -> None:
    assert ordered_actions(COSTS, np.array([10_000.0])) == ("approve", "review", "decline")


def test_the_chosen_thresholds_are_the_cheapest_that_meet_the_constraints(population) -> None:  # type: ignore[no-untyped-def]
    p, amount = population
    rng = np.random.default_rng(0)
    y = (rng.random(p.size) < p).astype(float)
    free = tune(COSTS, p[:5000], y[:5000], amount[:5000])
    capped = tune(COSTS, p[:5000], y[:5000], amount[:5000], max_middle_share=0.05)
    assert capped.shares["review"] <= 0.05 + 1e-9 < free.shares["review"]
    assert capped.fit_cost >= free.fit_cost
    policy = DecisionPolicy.parse({"thresholds": capped.thresholds()})
    decided = np.array(policy.decide_many(p[:5000]))
    realized = COSTS.realized([COSTS.actions.index(d) for d in decided], y[:5000], amount[:5000])
    assert realized.mean() == pytest.approx(capped.fit_cost, rel=1e-3)
    with pytest.raises(InvalidInput):
        tune(COSTS, p[:500], y[:500], amount[:500], max_middle_share=0.0, min_low_share=1.1)


def test_the_tuned_cost_interval_holds_the_true_cost_of_a_later_month(population) -> None:  # type: ignore[no-untyped-def]
    """Known truth: tune on 2,000 labelled rows (the true probability as a perfectly calibrated
    score), then take the expected cost of the chosen thresholds on 40,000 later rows (from the
    true probabilities: no label noise). The 95% interval held it in 91 of these 100 tunings
    (the same rows' in-sample interval: 74); the bar of 85 fails with probability below 3% for
    a method whose true coverage is 91% or more."""
    p, amount = population
    later_p, later_amount = p[20_000:], amount[20_000:]
    later_cost = COSTS.expected(later_p, later_amount)
    rng = np.random.default_rng(1)
    covered = 0
    for rep in range(100):
        rows = rng.choice(20_000, size=2000, replace=False)
        y = (rng.random(2000) < p[rows]).astype(float)
        found = tune(COSTS, p[rows], y, amount[rows], max_middle_share=0.2, seed=rep)
        bands = (later_p >= found.low).astype(int) + (later_p >= found.high).astype(int)
        index = np.array([COSTS.actions.index(a) for a in found.actions])[bands]
        expected = later_cost[np.arange(later_p.size), index]
        covered += found.cost.low <= expected.mean() <= found.cost.high
    assert covered >= 85
