"""The risk-controlled review band: its guarantee checked against a population of known risk."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from keel.decisions.costs import CostsSpec
from keel.decisions.risk_control import GRID, break_even_score, risk_controlled_band
from keel.decisions.tuning import ordered_actions
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
ACTIONS = ("approve", "review", "decline")


@pytest.fixture(scope="module")
def population() -> np.ndarray:
    """The true default probabilities of 200,000 simulated applications (a perfectly
    calibrated score; the truth a band's risk is computed from, without label noise)."""
    frame = simulate_frame(
        rows=200_000, seed=5, start=datetime(2024, 1, 1), end=datetime(2024, 7, 1)
    )
    return true_default_probability(frame)


def _true_risk(p: np.ndarray, low: float, high: float) -> float:
    """The expected error rate of automatic decisions: P(default) below the band, P(repaid)
    above it, averaged over the records outside it."""
    below, above = p < low, p >= high
    automatic = below | above
    if not automatic.any():
        return 0.0
    return float((p[below].sum() + (1 - p[above]).sum()) / automatic.sum())


def test_the_break_even_is_where_approve_and_decline_cost_the_same() -> None:
    actions = ordered_actions(COSTS, np.array([10_000.0]))
    assert actions == ACTIONS
    # approve costs 0.6 p A, decline 0.1 (1 - p) A: equal at p = 1/7
    assert break_even_score(COSTS, actions, np.array([10_000.0])) == pytest.approx(1 / 7)


def test_the_chosen_band_holds_the_error_rate_at_the_declared_confidence(population) -> None:  # type: ignore[no-untyped-def]
    """Known truth: 300 calibration sets of 2,000 labelled rows; each chosen band's true error
    rate on the population. Learn then Test promises a violation in at most 10% of sets; the
    bar of 42 (14%) fails with probability below 1% for a method that keeps its promise."""
    p = population
    rng = np.random.default_rng(7)
    alpha, confidence = 0.05, 0.9
    violations, reviews = 0, []
    for _ in range(300):
        rows = rng.choice(p.size, size=2000, replace=False)
        y = (rng.random(2000) < p[rows]).astype(float)
        band = risk_controlled_band(
            p[rows],
            y,
            actions=ACTIONS,
            break_even=1 / 7,
            max_error_rate=alpha,
            confidence=confidence,
        )
        violations += _true_risk(p, band.low, band.high) > alpha
        reviews.append(band.review_share)
    assert violations <= 42
    # not vacuous: the band leaves most records to automatic decisions
    assert 0.05 < float(np.median(reviews)) < 0.8


def test_a_tighter_level_asks_for_more_review(population) -> None:  # type: ignore[no-untyped-def]
    p = population[:5000]
    y = (np.random.default_rng(1).random(p.size) < p).astype(float)
    shares = [
        risk_controlled_band(
            p, y, actions=ACTIONS, break_even=1 / 7, max_error_rate=a, confidence=0.9
        ).review_share
        for a in (0.1, 0.05, 0.03)
    ]
    assert shares[0] < shares[1] < shares[2]


def test_an_unreachable_level_reviews_everything() -> None:
    """Scores that carry no information: no band outside everything keeps errors under 1%."""
    rng = np.random.default_rng(2)
    p = np.full(3000, 0.3)
    y = (rng.random(p.size) < p).astype(float)
    band = risk_controlled_band(
        p, y, actions=ACTIONS, break_even=1 / 7, max_error_rate=0.01, confidence=0.9
    )
    assert band.review_share == 1.0 and band.automatic == 0
    assert band.thresholds() == {"review": ">= 0"}
    assert GRID > 100


@pytest.mark.parametrize(
    ("alpha", "confidence", "break_even", "path"),
    [
        (0.0, 0.9, 0.2, "decisions.risk_control.max_error_rate"),
        (0.05, 1.0, 0.2, "decisions.risk_control.confidence"),
        (0.05, 0.9, float("nan"), "decisions.costs"),
    ],
)
def test_bad_levels_name_their_key(
    alpha: float, confidence: float, break_even: float, path: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        risk_controlled_band(
            np.array([0.1]),
            np.array([0.0]),
            actions=ACTIONS,
            break_even=break_even,
            max_error_rate=alpha,
            confidence=confidence,
        )
    assert raised.value.path == path
