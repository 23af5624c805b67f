"""The review queue's records: why a prediction goes to a person, and the item's states.

An item is made from one logged prediction (exactly one item per prediction id) when its
decision is the review action, it was flagged out of distribution, the fallback chain ended in
``defer``, or it fell in the random audit sample of automatic decisions::

    open ──claim──► claimed (a lease that expires) ──resolve──► resolved
      ▲                 │      │                                  (or escalated: two reviewers
      └──release/expiry─┘      └─ first of two reviews: open again    of a high-risk item
                                                                       disagreed)

A claimed item whose lease has run out is open again: nobody moves it back, its lease is simply
read as over (``ReviewItem.state_at``), and the next claim takes it.

``ReviewSpec`` is ``decisions.review`` in keel.yaml: the action that routes to a person, the
audit sample's rate, the lease, a deadline per reason, which items need two reviewers, and how
training treats reviewed labels.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from keel.decisions.states import ItemState as ItemState  # noqa: PLC0414 - re-exported
from keel.decisions.states import Reason as Reason  # noqa: PLC0414 - re-exported
from keel.schema import Invalid, Strict

DEFAULT_SLA_HOURS = {
    Reason.DEFER: 4.0,
    Reason.OOD: 8.0,
    Reason.REVIEW: 24.0,
    Reason.AUDIT: 72.0,
    Reason.AGENT: 24.0,
}


class DoubleReview(Strict):
    """High-risk items need two independent reviewers; a disagreement escalates the item.

    An item is high-risk when its reason is one of ``reasons``, or when the input ``column``
    of its record is at least ``min`` (e.g. ``{column: loan_amount, min: 250000}``).
    """

    reasons: tuple[Reason, ...] = ()
    column: str | None = None
    min: float | None = None

    @model_validator(mode="after")
    def _column_with_min(self) -> DoubleReview:
        if (self.column is None) != (self.min is None):
            raise Invalid("column and min go together: items whose column is at least min.")
        return self


class ReviewSpec(Strict):
    """``decisions.review``: how predictions become review items (see the module docstring)."""

    action: str = "review"
    audit_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    lease_minutes: float = Field(default=30.0, gt=0.0, le=24 * 60)
    sla_hours: dict[Reason, float] = Field(default_factory=lambda: dict(DEFAULT_SLA_HOURS))
    double_review: DoubleReview = Field(default_factory=DoubleReview)
    labels: Literal["use", "ignore", "weight"] = "use"
    """Whether training fills missing labels with reviewers' labels, and with ``weight`` gives
    those rows ``label_weight`` (see docs/decisions.md)."""
    label_weight: float = Field(default=0.5, gt=0.0, le=1.0)
    """With ``labels: weight``: how much a reviewed label counts against one from the source."""

    @field_validator("sla_hours")
    @classmethod
    def _positive(cls, value: dict[Reason, float]) -> dict[Reason, float]:
        for reason, hours in value.items():
            if not hours > 0:
                raise Invalid(f"must be a number of hours above 0; got {hours!r}.", at=reason)
        return {**DEFAULT_SLA_HOURS, **value}

    @property
    def lease(self) -> timedelta:
        return timedelta(minutes=self.lease_minutes)

    def deadline(self, reason: Reason, created: datetime) -> datetime:
        return created + timedelta(hours=self.sla_hours[reason])

    def reviews_needed(self, reason: Reason, inputs: Mapping[str, Any]) -> int:
        rule = self.double_review
        if reason in rule.reasons:
            return 2
        if rule.column is not None and rule.min is not None:
            value = inputs.get(rule.column)
            if isinstance(value, int | float) and value >= rule.min:
                return 2
        return 1


def reason_for(
    *, decision: str | None, ood: bool, prediction_id: str, spec: ReviewSpec
) -> Reason | None:
    """Why this prediction goes to a person, or None: it stays an automatic decision."""
    if decision == "defer":
        return Reason.DEFER
    if ood:
        return Reason.OOD
    if decision == spec.action:
        return Reason.REVIEW
    if decision is not None and in_audit_sample(prediction_id, spec.audit_rate):
        return Reason.AUDIT
    return None


def in_audit_sample(prediction_id: str, rate: float) -> bool:
    """A fixed pseudo-random draw per prediction id: the same answer on every scan, so the
    sample is reproducible and a rescan never draws again; each id is in with probability
    ``rate`` (the first 8 bytes of its BLAKE2b hash, read as a fraction of 2**64)."""
    if rate <= 0.0:
        return False
    digest = hashlib.blake2b(prediction_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") < rate * 2.0**64


def priority_of(reason: Reason, score: float | None) -> float:
    """From 0 to 1, higher first: a deferred or unscored record 1, an audit or agent sample 0,
    else how uncertain the score is (1 at 0.5, 0 at 0 or 1)."""
    if reason in (Reason.AUDIT, Reason.AGENT):
        return 0.0
    if score is None or reason is Reason.DEFER:
        return 1.0
    return round(1.0 - abs(2.0 * min(max(score, 0.0), 1.0) - 1.0), 4)


@dataclass(frozen=True)
class NewItem:
    """An item about to be created from one logged prediction."""

    prediction_id: str
    entity_id: str
    predicted_at: datetime
    model: str | None
    score: float | None
    decision: str | None
    reason: Reason
    priority: float
    due_at: datetime
    reviews_needed: int


@dataclass(frozen=True)
class ReviewItem:
    """One case in the queue, as stored."""

    id: int
    project: str
    prediction_id: str
    entity_id: str
    predicted_at: datetime
    model: str | None
    score: float | None
    decision: str | None
    """What was decided automatically (``defer`` when no model decided)."""
    reason: Reason
    priority: float
    created_at: datetime
    due_at: datetime
    state: ItemState
    holder: str | None = None
    lease_until: datetime | None = None
    reviews_needed: int = 1
    reviews_done: int = 0
    resolution: str | None = None
    label: float | None = None
    resolved_at: datetime | None = None

    def state_at(self, now: datetime) -> ItemState:
        """The state as of ``now``: a claim whose lease ran out is open again."""
        if self.state is ItemState.CLAIMED and self.lease_until and self.lease_until <= now:
            return ItemState.OPEN
        return self.state

    def as_of(self, now: datetime) -> ReviewItem:
        """This item with its state as of ``now`` (an expired claim shows as open, no holder)."""
        if self.state_at(now) is self.state:
            return self
        return replace(self, state=ItemState.OPEN, holder=None, lease_until=None)

    def overdue(self, now: datetime) -> bool:
        return self.state in (ItemState.OPEN, ItemState.CLAIMED) and self.due_at < now

    def to_dict(self) -> dict[str, Any]:
        return {
            "item": self.id,
            "prediction_id": self.prediction_id,
            "entity_id": self.entity_id,
            "predicted_at": self.predicted_at.isoformat(),
            "model": self.model,
            "score": self.score,
            "decision": self.decision,
            "reason": self.reason.value,
            "priority": self.priority,
            "created_at": self.created_at.isoformat(),
            "due_at": self.due_at.isoformat(),
            "state": self.state.value,
            "holder": self.holder,
            "lease_until": self.lease_until.isoformat() if self.lease_until else None,
            "reviews_needed": self.reviews_needed,
            "reviews_done": self.reviews_done,
            "resolution": self.resolution,
            "label": self.label,
            "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
        }


@dataclass(frozen=True)
class ReviewDecision:
    """One reviewer's resolution of one item (two for a double-reviewed item)."""

    item: int
    reviewer: str
    decision: str
    label: float | None
    note: str
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "reviewer": self.reviewer,
            "decision": self.decision,
            "label": self.label,
            "note": self.note,
            "at": self.at.isoformat(),
        }
