"""The gate a decision policy passes before release: the project's constraints and its cost,
judged on the champion's frozen benchmark set beside the policy in force.

Checks (each at level ``alpha``, 5% by default):

==============  ============================================================================
review_rate     refused when the review share is *significantly* above
                ``decisions.constraints.max_review_rate``: an exact one-sided binomial test,
                P(X >= k | n, max) <= alpha.
approval_rate   refused when the approval share is significantly below ``min_approval_rate``:
                P(X <= k | n, min) <= alpha.
cost            with ``decisions.costs``: refused when the candidate's realized cost per record
                is significantly above the policy in force's on the same rows: the paired
                difference's BCa bootstrap interval at 1 - 2 alpha lies wholly above zero.
==============  ============================================================================

So a candidate exactly at a constraint's limit, or exactly as costly as the policy in force, is
refused with probability at most ``alpha`` per check (the binomial tests exactly, the bootstrap
approximately); ``tests/unit/decisions/test_policy_gate.py`` checks both by simulation, with
the power against a candidate 5 points beyond the limit. The limits are the project's
(keel.yaml), never the candidate's own: a candidate cannot loosen the gate it is judged by.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from keel.decisions.costs import CostPolicy
from keel.decisions.policy import ConstraintsSpec
from keel.decisions.tuning import bootstrap_mean
from keel.decisions.versions import PolicyCheck

F64 = npt.NDArray[np.float64]
ALPHA = 0.05


@dataclass(frozen=True)
class Decided:
    """One policy's decisions of the benchmark rows, in row order."""

    decisions: Sequence[str | None]

    def count(self, action: str) -> int:
        return sum(1 for d in self.decisions if d == action)

    def shares(self) -> dict[str, float]:
        n = max(len(self.decisions), 1)
        found: dict[str, int] = {}
        for d in self.decisions:
            found[str(d)] = found.get(str(d), 0) + 1
        return {k: v / n for k, v in sorted(found.items())}


def above_limit(hits: int, n: int, limit: float) -> float:
    """P(X >= hits) for X ~ Binomial(n, limit): small when the rate is significantly above."""
    from scipy.special import bdtr  # noqa: PLC0415 - only gates need SciPy

    if hits <= 0:
        return 1.0
    return 1.0 - float(bdtr(hits - 1, n, limit))


def below_limit(hits: int, n: int, limit: float) -> float:
    """P(X <= hits) for X ~ Binomial(n, limit): small when the rate is significantly below."""
    from scipy.special import bdtr  # noqa: PLC0415

    return float(bdtr(hits, n, limit))


def rate_checks(
    candidate: Decided,
    *,
    review_action: str,
    approve_action: str | None,
    constraints: ConstraintsSpec,
    alpha: float = ALPHA,
) -> list[PolicyCheck]:
    """The review and approval rate checks the project's constraints declare."""
    n = len(candidate.decisions)
    checks = []
    limit = constraints.max_review_rate
    if limit < 1.0 and n > 0:
        k = candidate.count(review_action)
        p = above_limit(k, n, limit)
        checks.append(
            PolicyCheck(
                "review_rate",
                passed=p > alpha,
                value=k / n,
                limit=limit,
                p_value=p,
                detail=f"{k:,} of {n:,} rows to {review_action}; at most {limit:.1%} allowed",
            )
        )
    floor = constraints.min_approval_rate
    if floor > 0.0 and n > 0 and approve_action is not None:
        k = candidate.count(approve_action)
        p = below_limit(k, n, floor)
        checks.append(
            PolicyCheck(
                "approval_rate",
                passed=p > alpha,
                value=k / n,
                limit=floor,
                p_value=p,
                detail=f"{k:,} of {n:,} rows to {approve_action}; at least {floor:.1%} required",
            )
        )
    return checks


def realized_cost(
    costs: CostPolicy, decided: Decided, positive: F64, amounts: F64 | None
) -> float | None:
    """Realized cost per record of ``decided`` (None when a decision is not priced)."""
    if any(d not in costs.actions for d in decided.decisions) or not decided.decisions:
        return None
    index = [costs.actions.index(str(d)) for d in decided.decisions]
    return float(costs.realized(index, positive, amounts).mean())


def cost_check(
    costs: CostPolicy,
    candidate: Decided,
    live: Decided,
    positive: F64,
    amounts: F64 | None,
    *,
    alpha: float = ALPHA,
) -> PolicyCheck:
    """The candidate's realized cost per record against the policy in force's, paired by row."""
    actions = costs.actions
    unpriced = sorted({str(d) for d in (*candidate.decisions, *live.decisions) if d not in actions})
    if unpriced:
        return PolicyCheck(
            "cost",
            passed=False,
            value=None,
            limit=0.0,
            p_value=None,
            detail=f"decisions.costs prices no {', '.join(unpriced)}: the cost cannot be compared",
        )
    index = [actions.index(str(d)) for d in candidate.decisions]
    before = [actions.index(str(d)) for d in live.decisions]
    difference = costs.realized(index, positive, amounts) - costs.realized(
        before, positive, amounts
    )
    interval = bootstrap_mean(difference, confidence=1 - 2 * alpha)
    return PolicyCheck(
        "cost",
        passed=interval.low <= 0.0,
        value=interval.value,
        limit=0.0,
        p_value=None,
        detail=(
            f"realized cost per record {interval.value:+,.2f} against the policy in force"
            f" [{interval.low:+,.2f}, {interval.high:+,.2f}] ({interval.confidence:.0%})"
        ),
    )
