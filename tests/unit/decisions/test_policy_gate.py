"""The policy gate's error rates, checked by simulation with known truth, and the walk back
through released policies."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from keel.decisions.costs import CostsSpec
from keel.decisions.policy import ConstraintsSpec
from keel.decisions.policy_gate import ALPHA, Decided, cost_check, rate_checks
from keel.registry.releases import ReleaseState, next_release, policy_stack

RUNS = 400


def _decided(rng: np.random.Generator, n: int, review: float, approve: float) -> Decided:
    draws = rng.random(n)
    return Decided(
        np.where(draws < review, "review", np.where(draws < review + approve, "approve", "decline"))
        .astype(object)
        .tolist()
    )


def _refused(found: Decided, constraints: ConstraintsSpec) -> bool:
    checks = rate_checks(
        found, review_action="review", approve_action="approve", constraints=constraints
    )
    return not all(c.passed for c in checks)


@pytest.mark.parametrize(
    ("constraints", "at_limit", "beyond"),
    [
        (ConstraintsSpec(max_review_rate=0.15), (0.15, 0.6), (0.20, 0.55)),
        (ConstraintsSpec(min_approval_rate=0.6), (0.15, 0.6), (0.15, 0.55)),
    ],
)
def test_a_policy_at_its_limit_is_refused_at_most_alpha_and_one_beyond_is_caught(
    constraints: ConstraintsSpec,
    at_limit: tuple[float, float],
    beyond: tuple[float, float],
) -> None:
    rng = np.random.default_rng(11)
    false = sum(_refused(_decided(rng, 2000, *at_limit), constraints) for _ in range(RUNS))
    caught = sum(_refused(_decided(rng, 2000, *beyond), constraints) for _ in range(RUNS))
    # exact tests: at most ALPHA in truth; 3 standard errors of slack for the simulation
    assert false / RUNS <= ALPHA + 3 * np.sqrt(ALPHA * (1 - ALPHA) / RUNS), false
    assert caught / RUNS >= 0.99, caught


def test_without_constraints_no_rate_is_checked() -> None:
    found = Decided(["review"] * 10)
    assert rate_checks(found, review_action="review", approve_action="approve",
                       constraints=ConstraintsSpec()) == []  # fmt: skip


COSTS = CostsSpec.model_validate(
    {
        "actions": {
            "approve": {"positive": 10, "negative": 0},
            "review": 2,
            "decline": {"positive": 0, "negative": 1},
        }
    }
).policy()


def _costed(rng: np.random.Generator, n: int, shift: float) -> tuple[Decided, Decided, np.ndarray]:
    """A policy in force and a candidate deciding the same scores with thresholds ``shift``
    apart; outcomes drawn from the scores (calibrated)."""
    scores = rng.beta(1.2, 6, n)
    positive = (rng.random(n) < scores).astype(np.float64)

    def cut(low: float, high: float) -> Decided:
        return Decided(
            np.where(scores < low, "approve", np.where(scores < high, "review", "decline"))
            .astype(object)
            .tolist()
        )

    return cut(0.1, 0.5), cut(0.1 + shift, 0.5), positive


def test_an_equally_costly_candidate_is_refused_at_about_alpha() -> None:
    """A/A: the candidate differs from the policy in force only where both cost the same in
    expectation, so its paired cost difference centres on zero; refused at most about alpha
    of the time (200 simulated benchmark sets)."""
    rng = np.random.default_rng(5)
    refused = 0
    for _ in range(200):
        live, _, positive = _costed(rng, 1500, 0.0)
        # the candidate swaps approve and review on a random tenth of rows at the break-even
        # score, where both cost the same in expectation: equal cost by construction
        scores = rng.random(len(positive))
        candidate = Decided(
            [
                ("review" if s < 0.1 else d) if d == "approve" else d
                for d, s in zip(live.decisions, scores, strict=True)
            ]
        )
        positive = np.where(
            np.array(candidate.decisions, dtype=object) != np.array(live.decisions, dtype=object),
            (rng.random(len(positive)) < 0.2).astype(np.float64),  # 10 * 0.2 = 2: review's cost
            positive,
        )
        refused += not cost_check(COSTS, candidate, live, positive, None).passed
    assert refused / 200 <= ALPHA + 3 * np.sqrt(ALPHA * (1 - ALPHA) / 200), refused


def test_a_dearer_candidate_is_refused() -> None:
    rng = np.random.default_rng(6)
    live, candidate, positive = _costed(rng, 3000, 0.5)  # approves far into the risky scores
    check = cost_check(COSTS, candidate, live, positive, None)
    assert not check.passed and check.value is not None and check.value > 0
    assert "against the policy in force" in check.detail


def test_a_decision_the_costs_do_not_price_fails_the_cost_check() -> None:
    found = cost_check(COSTS, Decided(["defer"]), Decided(["approve"]), np.array([1.0]), None)
    assert not found.passed and "prices no defer" in found.detail


def _history(*policies: int | None) -> list:  # type: ignore[type-arg]
    rows, head = [], None
    for policy in policies:
        head = next_release(
            head,
            ReleaseState(champion=1, policy=policy),
            project="p",
            action="policy",
            actor="a",
            at=datetime(2026, 1, 1, tzinfo=UTC),
        )
        rows.append(head)
    return rows


@pytest.mark.parametrize(
    ("policies", "stack"),
    [
        ((None,), [None]),
        ((None, 1), [None, 1]),
        ((None, 1, 2), [None, 1, 2]),
        ((None, 1, 2, 1), [None, 1]),  # rolled back from p2
        ((None, 1, 2, 1, None), [None]),  # and from p1: keel.yaml again
        ((None, 1, 2, 1, 3), [None, 1, 3]),
    ],
)
def test_each_policy_rollback_walks_back_one_change(
    policies: tuple[int | None, ...], stack: list[int | None]
) -> None:
    assert policy_stack(_history(*policies)) == stack
