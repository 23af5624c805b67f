"""Replay: decide logged predictions again under a candidate policy and price the difference.

For every logged, scored, served prediction whose decision is an action of the cost matrix, the
candidate policy decides again from the same score (and amount, and out-of-distribution flag).
Two KPIs compare the two decisions, each as a mean per record with a normal interval of the
paired differences (the rows are many; the central limit theorem applies to their mean):

- **expected cost**, from the calibrated score: ``p * cost(positive) + (1 - p) * cost(negative)``,
  known for every row at once, labels or not;
- **realized cost**, on the rows whose outcome has arrived (selected by when labels come, so
  read it beside the expected cost, not instead of it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from keel.decisions.costs import CostPolicy
from keel.decisions.policy import DecisionPolicy
from keel.errors import InvalidInput

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Difference:
    """Mean per record under the logged and the candidate decisions, and candidate - logged."""

    rows: int
    logged: float | None
    candidate: float | None
    difference: float | None
    low: float | None
    high: float | None
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "logged": self.logged,
            "candidate": self.candidate,
            "difference": self.difference,
            "low": self.low,
            "high": self.high,
            "confidence": self.confidence,
        }


@dataclass(frozen=True)
class Replay:
    rows: int
    skipped: int
    """Logged rows not replayed: no score, or a decision that is not an action of the costs."""
    changed: int
    logged_shares: dict[str, float]
    candidate_shares: dict[str, float]
    expected_cost: Difference
    realized_cost: Difference

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "skipped": self.skipped,
            "changed": self.changed,
            "logged_shares": self.logged_shares,
            "candidate_shares": self.candidate_shares,
            "expected_cost": self.expected_cost.to_dict(),
            "realized_cost": self.realized_cost.to_dict(),
        }


def replay(
    costs: CostPolicy,
    candidate: DecisionPolicy,
    *,
    scores: F64,
    decisions: Sequence[str | None] | pl.Series,
    ood: Sequence[bool] | npt.NDArray[np.bool_],
    labels: F64,
    amounts: F64 | None = None,
    segments: Sequence[object] | None = None,
    confidence: float = 0.95,
) -> Replay:
    """Compare ``decisions`` (as logged) with ``candidate``'s on the same rows; ``labels`` is
    1 or 0 where the outcome is known, NaN where not."""
    logged = _codes(costs, decisions)
    keep = (logged >= 0) & np.isfinite(scores)
    p, old = scores[keep], logged[keep]
    amount = None if amounts is None else amounts[keep]
    flags = np.asarray(ood, dtype=bool)[keep]
    kept = None if segments is None else [s for s, k in zip(segments, keep, strict=True) if k]
    new = _codes(costs, candidate.decide_many(p, flags, amount, kept)) if p.size else old[:0]
    if (new < 0).any():
        unknown = sorted(set(candidate.actions) - set(costs.actions))
        raise InvalidInput(
            f"the candidate policy decides {', '.join(unknown) or 'an action'}, which the cost"
            " matrix does not price",
            path="decisions.costs.actions",
            hint="give every action of the candidate a cost in decisions.costs",
        )
    expected = costs.expected(p, amount)
    rows = np.arange(p.size)
    y = labels[keep]
    known = np.isfinite(y)
    part = None if amount is None else amount[known]
    realized = _difference(
        costs.realized(old[known], y[known], part),
        costs.realized(new[known], y[known], part),
        confidence,
    )
    return Replay(
        rows=int(p.size),
        skipped=int((~keep).sum()),
        changed=int((old != new).sum()),
        logged_shares=_shares(costs.actions, old),
        candidate_shares=_shares(costs.actions, new),
        expected_cost=_difference(expected[rows, old], expected[rows, new], confidence),
        realized_cost=realized,
    )


def _codes(costs: CostPolicy, names: Sequence[str | None] | pl.Series) -> npt.NDArray[np.intp]:
    """Each decision's position among the costs' actions; -1 for any other (or none)."""
    index = {action: i for i, action in enumerate(costs.actions)}
    series = names if isinstance(names, pl.Series) else pl.Series(names, dtype=pl.String)
    codes = series.replace_strict(index, default=-1, return_dtype=pl.Int64).fill_null(-1)
    found: npt.NDArray[np.intp] = codes.to_numpy().astype(np.intp)
    return found


def _difference(before: F64, after: F64, confidence: float) -> Difference:
    n = before.size
    if n == 0:
        return Difference(0, None, None, None, None, None, confidence)
    diff = after - before
    mean = float(diff.mean())
    half = (
        NormalDist().inv_cdf(0.5 + confidence / 2) * float(diff.std(ddof=1)) / np.sqrt(n)
        if n > 1
        else float("nan")
    )
    return Difference(
        n, float(before.mean()), float(after.mean()), mean, mean - half, mean + half, confidence
    )


def _shares(actions: Sequence[str], chosen: npt.NDArray[np.intp]) -> dict[str, float]:
    if chosen.size == 0:
        return {}
    counts = np.bincount(chosen, minlength=len(actions))
    return {action: float(counts[i]) / chosen.size for i, action in enumerate(actions)}
