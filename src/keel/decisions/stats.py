"""What the review queue says about the model's decisions, with the uncertainty of each number.

- **Override rate per reason**: of the settled items that had an automatic action (not the
  review action, not ``defer``), how many a person decided differently (Wilson interval). Items
  the policy itself sent to a person have no automatic action to override: for them the
  distribution of reviewers' decisions is shown instead.
- **Reviewer agreement**: Cohen's kappa of the first two reviewers on double-reviewed items, with
  a percentile bootstrap interval over items.
- **Accuracy of automatic decisions**: reviewed items are a *selected* sample (the uncertain, the
  out-of-distribution, the deferred), so any rate computed from them is biased for the traffic as
  a whole. Only the random audit sample (``decisions.review.audit_rate``) estimates how often an
  automatic decision would be upheld without bias: the share of audited items a reviewer upheld,
  with a Wilson score interval that covers the true share at the declared confidence
  (``tests/unit/decisions/test_review_stats.py`` checks the coverage by simulation).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from statistics import NormalDist
from typing import Any

import numpy as np

from keel.decisions.review import ItemState, Reason, ReviewDecision, ReviewItem

BOOTSTRAP = 2000
SELECTED_SAMPLE = (
    "Reviewed items are a selected sample (uncertain, out-of-distribution and deferred cases):"
    " rates computed from them are biased for the traffic as a whole. Only the random audit"
    " sample estimates the accuracy of automatic decisions without bias."
)


@dataclass(frozen=True)
class Proportion:
    """``hits`` of ``n`` with a Wilson score interval at ``confidence``."""

    hits: int
    n: int
    low: float | None
    high: float | None
    confidence: float

    @property
    def value(self) -> float | None:
        return self.hits / self.n if self.n else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "low": self.low,
            "high": self.high,
            "hits": self.hits,
            "n": self.n,
            "confidence": self.confidence,
        }


def wilson(hits: int, n: int, confidence: float = 0.95) -> Proportion:
    """The Wilson score interval of a binomial proportion (good coverage even for small ``n``
    or a proportion near 0 or 1, unlike the normal approximation)."""
    if n == 0:
        return Proportion(hits, n, None, None, confidence)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return Proportion(hits, n, max(0.0, centre - half), min(1.0, centre + half), confidence)


@dataclass(frozen=True)
class Kappa:
    value: float | None
    low: float | None
    high: float | None
    items: int
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "low": self.low,
            "high": self.high,
            "items": self.items,
            "confidence": self.confidence,
        }


def cohen_kappa(
    first: Sequence[str], second: Sequence[str], *, confidence: float = 0.95, seed: int = 0
) -> Kappa:
    """Cohen's kappa of two raters over the same items, with a percentile bootstrap interval."""
    n = len(first)
    if n == 0:
        return Kappa(None, None, None, 0, confidence)
    categories = sorted(set(first) | set(second))
    a = np.array([categories.index(x) for x in first])
    b = np.array([categories.index(x) for x in second])
    value = _kappa(a[None, :], b[None, :], len(categories))[0]
    rows = np.random.default_rng(seed).integers(0, n, size=(BOOTSTRAP, n))
    draws = _kappa(a[rows], b[rows], len(categories))
    draws = draws[np.isfinite(draws)]
    tail = (1 - confidence) / 2
    low, high = (
        (float(np.quantile(draws, tail)), float(np.quantile(draws, 1 - tail)))
        if draws.size
        else (None, None)
    )
    return Kappa(None if not math.isfinite(value) else float(value), low, high, n, confidence)


def _kappa(a: np.ndarray, b: np.ndarray, k: int) -> np.ndarray:
    """Kappa of each row pair (rows: resamples); NaN where chance agreement is 1."""
    observed = (a == b).mean(axis=1)
    chance = np.zeros(a.shape[0])
    for category in range(k):
        chance += (a == category).mean(axis=1) * (b == category).mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(chance < 1.0, (observed - chance) / (1.0 - chance), np.nan)


@dataclass(frozen=True)
class QueueStats:
    states: dict[str, int]
    reasons: dict[str, int]
    overdue: int
    overrides: dict[str, Proportion]
    decisions: dict[str, dict[str, int]]
    agreement: Kappa
    audit_accuracy: Proportion
    note: str = field(default=SELECTED_SAMPLE)
    segment_overrides: dict[str, dict[str, Proportion]] = field(default_factory=dict)
    """Override rate of automatic decisions per value of each segment column."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "states": self.states,
            "reasons": self.reasons,
            "overdue": self.overdue,
            "override_rate": {k: v.to_dict() for k, v in self.overrides.items()},
            "decisions": self.decisions,
            "agreement": self.agreement.to_dict(),
            "audit_accuracy": self.audit_accuracy.to_dict(),
            "override_rate_by_segment": {
                column: {value: rate.to_dict() for value, rate in rates.items()}
                for column, rates in self.segment_overrides.items()
            },
            "note": self.note,
        }


def queue_stats(
    items: Sequence[ReviewItem],
    decisions: Sequence[ReviewDecision],
    now: datetime,
    *,
    review_action: str = "review",
    confidence: float = 0.95,
    segments: Mapping[str, Mapping[str, str | None]] | None = None,
) -> QueueStats:
    """Every number of ``keel review stats`` (see the module docstring); ``segments`` maps a
    prediction id to its values of the segment columns."""
    states: dict[str, int] = {}
    reasons: dict[str, int] = {}
    for item in items:
        states[item.state_at(now).value] = states.get(item.state_at(now).value, 0) + 1
        reasons[item.reason.value] = reasons.get(item.reason.value, 0) + 1
    resolved = [item for item in items if item.state is ItemState.RESOLVED]
    return QueueStats(
        states=states,
        reasons=reasons,
        overdue=sum(item.overdue(now) for item in items),
        overrides=_overrides(resolved, (review_action, "defer"), confidence),
        decisions=_decisions(resolved),
        agreement=_agreement(decisions, confidence),
        audit_accuracy=audit_accuracy(resolved, confidence),
        segment_overrides=_segment_overrides(
            resolved, segments or {}, (review_action, "defer"), confidence
        ),
    )


def audit_accuracy(resolved: Sequence[ReviewItem], confidence: float = 0.95) -> Proportion:
    """The share of audited automatic decisions that a reviewer upheld (see the docstring)."""
    audited = [item for item in resolved if item.reason is Reason.AUDIT]
    upheld = sum(item.resolution == item.decision for item in audited)
    return wilson(upheld, len(audited), confidence)


def _overrides(
    resolved: Sequence[ReviewItem], not_automatic: tuple[str, ...], confidence: float
) -> dict[str, Proportion]:
    found: dict[str, Proportion] = {}
    for reason in Reason:
        mine = [
            item
            for item in resolved
            if item.reason is reason and item.decision not in (None, *not_automatic)
        ]
        if mine:
            changed = sum(item.resolution != item.decision for item in mine)
            found[reason.value] = wilson(changed, len(mine), confidence)
    return found


def _segment_overrides(
    resolved: Sequence[ReviewItem],
    segments: Mapping[str, Mapping[str, str | None]],
    not_automatic: tuple[str, ...],
    confidence: float,
) -> dict[str, dict[str, Proportion]]:
    """Override rates of automatic decisions (all reasons together) per segment value."""
    counts: dict[str, dict[str, list[int]]] = {}
    for item in resolved:
        if item.decision in (None, *not_automatic):
            continue
        for column, value in segments.get(item.prediction_id, {}).items():
            tally = counts.setdefault(column, {}).setdefault(str(value), [0, 0])
            tally[0] += item.resolution != item.decision
            tally[1] += 1
    return {
        column: {value: wilson(hits, n, confidence) for value, (hits, n) in sorted(found.items())}
        for column, found in counts.items()
    }


def _decisions(resolved: Sequence[ReviewItem]) -> dict[str, dict[str, int]]:
    found: dict[str, dict[str, int]] = {}
    for item in resolved:
        counts = found.setdefault(item.reason.value, {})
        key = item.resolution or ""
        counts[key] = counts.get(key, 0) + 1
    return found


def _agreement(decisions: Sequence[ReviewDecision], confidence: float) -> Kappa:
    by_item: dict[int, list[ReviewDecision]] = {}
    for decision in decisions:
        by_item.setdefault(decision.item, []).append(decision)
    pairs = [sorted(found, key=lambda d: d.at)[:2] for found in by_item.values() if len(found) > 1]
    return cohen_kappa(
        [p[0].decision for p in pairs], [p[1].decision for p in pairs], confidence=confidence
    )
