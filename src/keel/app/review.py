"""The review plane: make review items from the prediction log, and let reviewers list, claim,
resolve and release them; the queue's statistics.

Who makes the items: ``sync_review`` (``keel review sync``), which reads the durable prediction
log from its cursor. Run it on a schedule (``keel review sync`` every minute from cron or a
systemd timer); the service itself does not, so the request path never waits on the metadata
database. Reviewers (role ``reviewer``) claim, resolve and release; anyone who can open the
project reads the queue.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl

from keel.app.result import Result
from keel.app.use_case import use_case
from keel.decisions.queue import PREDICTION_COLUMNS, ReviewQueue, SampleOutcome, SyncOutcome
from keel.decisions.review import ItemState, Reason, ReviewDecision, ReviewItem
from keel.decisions.stats import QueueStats, queue_stats
from keel.identity.actor import Actor
from keel.identity.roles import Role
from keel.types import utcnow
from keel.wiring import Keel

ONE_OFF_SEGMENT = 1 << 16
"""Segment size of the outcome log a resolution opens for its one record."""


@dataclass(frozen=True)
class Synced(Result):
    """What a sync read and made."""

    outcome: SyncOutcome

    def to_dict(self) -> dict[str, Any]:
        return self.outcome.to_dict()


@use_case(Role.REVIEWER, action="syncing the review queue", writes=True)
def sync_review(keel: Keel, actor: Actor, *, full: bool = False) -> Synced:
    """Make one item per logged prediction that needs a person, since the last sync (every
    logged prediction with ``full``); running it again makes no item twice."""
    return Synced(_queue(keel).sync(lambda since: _scan(keel, since), actor, full=full))


@use_case(Role.OPERATOR, action="sending decisions to review", writes=True)
def open_sample(
    keel: Keel,
    actor: Actor,
    *,
    model: str,
    size: int,
    seed: int,
    since: datetime,
    until: datetime,
    subject: str,
    details: dict[str, Any] | None = None,
) -> Sampled:
    """Open review items (reason ``agent``) for a seeded random sample of ``size`` of
    ``model``'s automatic decisions logged in [``since``, ``until``]; idempotent."""
    frame = _scan(keel, since).filter(pl.col("time") <= until.astimezone(UTC))
    queue = _queue(keel)
    found = queue.open_sample(
        frame, actor, model=model, size=size, seed=seed, subject=subject, details=details
    )
    return Sampled(found)


@dataclass(frozen=True)
class Sampled(Result):
    """What a review sample drew and opened."""

    outcome: SampleOutcome

    def to_dict(self) -> dict[str, Any]:
        return self.outcome.to_dict()


@use_case(Role.VIEWER, action="reading the review queue")
def list_items(
    keel: Keel,
    actor: Actor,
    *,
    state: ItemState | None = None,
    reason: Reason | None = None,
    limit: int = 100,
) -> list[ReviewItem]:
    """Items most urgent first (priority, then deadline); states as of now."""
    return _queue(keel).items(state=state, reason=reason, limit=limit)


@dataclass(frozen=True)
class ItemDetail(Result):
    """One item and the reviewers' decisions on it."""

    item: ReviewItem
    decisions: list[ReviewDecision]

    def to_dict(self) -> dict[str, Any]:
        return {**self.item.to_dict(), "decisions": [d.to_dict() for d in self.decisions]}


@use_case(Role.VIEWER, action="reading a review item")
def show_item(keel: Keel, actor: Actor, item: int) -> ItemDetail:
    found, decisions = _queue(keel).item(item)
    return ItemDetail(found, decisions)


@use_case(Role.REVIEWER, action="claiming a review item", writes=True)
def claim_item(keel: Keel, actor: Actor, item: int | None = None) -> ReviewItem:
    """Claim ``item`` (or the most urgent open one) for the lease ``decisions.review`` sets."""
    return _queue(keel).claim(actor, item)


@use_case(Role.REVIEWER, action="releasing a review item", writes=True)
def release_item(keel: Keel, actor: Actor, item: int) -> ReviewItem:
    """Hand a claimed item back to the queue."""
    return _queue(keel).release(actor, item)


@use_case(Role.REVIEWER, action="resolving a review item", writes=True)
def resolve_item(
    keel: Keel,
    actor: Actor,
    item: int,
    *,
    decision: str,
    label: float | None = None,
    note: str = "",
) -> ReviewItem:
    """Resolve an item one holds; a settled resolution becomes an outcome (source ``review``)
    of its prediction."""
    with _outcomes(keel) as outcomes:
        queue = _queue(keel)
        queue.outcomes = outcomes
        return queue.resolve(actor, item, decision=decision, label=label, note=note)


@dataclass(frozen=True)
class ReviewStats(Result):
    stats: QueueStats

    def to_dict(self) -> dict[str, Any]:
        return self.stats.to_dict()


@use_case(Role.VIEWER, action="reading review statistics")
def review_stats(keel: Keel, actor: Actor, *, confidence: float = 0.95) -> ReviewStats:
    """Counts by state and reason, overdue items, override rates, reviewer agreement and the
    audit sample's estimate of automatic-decision accuracy."""
    queue = _queue(keel)
    items = queue.items(limit=1_000_000)
    settled = {item.prediction_id for item in items if item.state is ItemState.RESOLVED}
    found = queue_stats(
        items,
        queue.decisions(),
        utcnow(),
        review_action=queue.spec.action,
        confidence=confidence,
        segments=_segment_values(keel, settled),
    )
    return ReviewStats(found)


def _segment_columns(keel: Keel) -> tuple[str, ...]:
    """The columns override rates are broken down by: the decision policy's segment column,
    else the benchmark's slices."""
    segments = keel.project.decisions.segments
    return (segments.column,) if segments is not None else tuple(keel.project.benchmark.slices)


def _segment_values(keel: Keel, prediction_ids: set[str]) -> dict[str, dict[str, str | None]]:
    """Each settled item's prediction's values of the segment columns, from the logged inputs."""
    columns = _segment_columns(keel)
    if not columns or not prediction_ids:
        return {}
    log = keel.prediction_log()
    try:
        frame = (
            log.scan()
            .filter(pl.col("prediction_id").is_in(list(prediction_ids)))
            .select(
                "prediction_id",
                *(pl.col("inputs").str.json_path_match(f"$.{c}").alias(c) for c in columns),
            )
            .collect()
        )
    finally:
        log.close()
    return {row.pop("prediction_id"): row for row in frame.iter_rows(named=True)}


def _queue(keel: Keel) -> ReviewQueue:
    spec = keel.project.decisions.review
    return ReviewQueue(keel.project.name, spec, keel.unit, keel.reader, utcnow)


@contextmanager
def _outcomes(keel: Keel) -> Iterator[Any]:
    log = keel.outcome_log(segment_bytes=ONE_OFF_SEGMENT)
    try:
        yield log
    finally:
        log.close()


def _scan(keel: Keel, since: datetime | None) -> pl.DataFrame:
    """The logged predictions stamped after ``since`` (all for None)."""
    log = keel.prediction_log()
    try:
        lazy = log.scan()
        if since is not None:
            lazy = lazy.filter(pl.col("time") > since.astimezone(UTC))
        return lazy.select(PREDICTION_COLUMNS).collect()
    finally:
        log.close()
