"""``ReviewQueue``: predictions become review items; reviewers claim, resolve and release them.

**Items come from the durable prediction log**, never from the request path: a sync reads the
log from its stored cursor (the newest prediction time it has read) less ``OVERLAP``, because
several serving processes append to the log and a record stamped at ``t`` may become readable
just after one stamped later. The overlap makes the scan see it; the unique key on (project,
prediction id) makes seeing it twice harmless, so a crash of the service or of a sync loses no
item and doubles none.

**Every state change is one conditional write** (see ``keel.decisions.ports``) in one
transaction with its audit event; a resolution that settles an item also appends the reviewer's
decision and label to the outcome log (source ``review``), joined to the prediction by its id,
so the next training run can use it as a label.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import orjson
import polars as pl

from keel.audit.ports import AuditLog
from keel.decisions.ports import ReviewCursorRepo, ReviewDecisionRepo, ReviewRepo
from keel.decisions.review import (
    ItemState,
    NewItem,
    Reason,
    ReviewDecision,
    ReviewItem,
    ReviewSpec,
    in_audit_sample,
    priority_of,
)
from keel.errors import Conflict, InvalidInput, NotFound, PolicyViolation
from keel.identity.actor import Actor, require_role
from keel.identity.roles import Role
from keel.monitoring.incidents import Breach, IncidentEvent, opened
from keel.monitoring.ports import IncidentRepo
from keel.predictions import OutcomeRecord, RecordLog

DEFER = "defer"

OVERLAP = timedelta(minutes=2)
"""How far before its cursor a sync reads again: a record that becomes readable more than this
after its time stamp is found only by a full sync (``sync(full=True)``)."""
REVIEW_SOURCE = "review"
REVIEW_CATEGORY = "review"
"""The incident category of review deadlines missed."""
PREDICTION_COLUMNS = (
    "prediction_id",
    "entity_id",
    "time",
    "model",
    "score",
    "decision",
    "ood",
    "route",
    "inputs",
)


class ItemHeld(Conflict):
    """Someone else holds the item (HTTP 409, exit 4); ``holder`` and ``until`` say who and
    until when."""


class ReviewUnit(Protocol):
    @property
    def review_items(self) -> ReviewRepo: ...

    @property
    def review_cursors(self) -> ReviewCursorRepo: ...

    @property
    def review_decisions(self) -> ReviewDecisionRepo: ...

    @property
    def incidents(self) -> IncidentRepo: ...

    @property
    def audit(self) -> AuditLog: ...


UnitFactory = Callable[[], AbstractContextManager[ReviewUnit]]
Scan = Callable[[datetime | None], pl.DataFrame]
"""The logged predictions stamped after a time (all of them for None), ``PREDICTION_COLUMNS``."""


@dataclass(frozen=True)
class SyncOutcome:
    scanned: int
    created: int
    by_reason: dict[str, int]
    watermark: datetime | None
    overdue: int = 0
    """Items found past their deadline for the first time (each is an SLA breach)."""
    incident: int | None = None
    """The ``review`` incident the breaches opened or extended."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "scanned": self.scanned,
            "created": self.created,
            "by_reason": self.by_reason,
            "watermark": self.watermark.isoformat() if self.watermark else None,
            "overdue": self.overdue,
            "incident": self.incident,
        }


@dataclass(frozen=True)
class SampleOutcome:
    """A sample sent to people: drawn from ``population`` decisions, ``created`` items new."""

    population: int
    sampled: int
    created: int
    seed: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "population": self.population,
            "sampled": self.sampled,
            "created": self.created,
            "seed": self.seed,
        }


def sample_rows(population: int, size: int, seed: int) -> list[int]:
    """``min(size, population)`` distinct row numbers drawn uniformly with ``seed``, in order."""
    import numpy as np  # noqa: PLC0415

    if population <= size:
        return list(range(population))
    chosen = np.random.default_rng(seed).choice(population, size=size, replace=False)
    return sorted(int(i) for i in chosen)


@dataclass
class ReviewQueue:
    project: str
    spec: ReviewSpec
    write: UnitFactory
    read: UnitFactory
    clock: Callable[[], datetime]
    outcomes: RecordLog[OutcomeRecord] | None = None

    def sync(self, scan: Scan, actor: Actor, *, full: bool = False) -> SyncOutcome:
        """Make the items of every prediction logged since the cursor (all, with ``full``)."""
        with self.write() as unit:
            cursor = unit.review_cursors.cursor(self.project)
            since = None if full or cursor is None else cursor - OVERLAP
            frame = scan(since)
            new = list(self._candidates(frame))
            created = unit.review_items.add(self.project, new, self.clock())
            watermark = _newest(frame, cursor)
            if watermark is not None:
                unit.review_cursors.move_cursor(self.project, watermark)
            counts = _by_reason(new)
            if created:
                unit.audit.append(
                    actor=actor.name,
                    action="review.sync",
                    subject=f"project:{self.project}",
                    details={"created": created, "scanned": frame.height, "candidates": counts},
                )
            overdue = unit.review_items.mark_overdue(self.project, self.clock())
            incident = self._breached(unit, overdue, actor) if overdue else None
        return SyncOutcome(frame.height, created, counts, watermark, len(overdue), incident)

    def open_sample(
        self,
        frame: pl.DataFrame,
        actor: Actor,
        *,
        model: str,
        size: int,
        seed: int,
        subject: str,
        details: dict[str, Any] | None = None,
    ) -> SampleOutcome:
        """Items of reason ``agent`` for a random sample of ``size`` of ``model``'s automatic
        decisions in ``frame`` (logged predictions, ``PREDICTION_COLUMNS``), drawn with
        ``seed``: the same frame and seed draw the same sample, and a prediction that has an
        item already gets none again, so running it twice opens nothing twice."""
        automatic = frame.filter(
            (pl.col("model") == model)
            & (pl.col("route").is_null() | (pl.col("route") == "champion"))
            & pl.col("decision").is_not_null()
            & ~pl.col("decision").is_in([self.spec.action, DEFER])
        ).sort("prediction_id")
        drawn = automatic[sample_rows(automatic.height, size, seed)]
        now = self.clock()
        new = [
            NewItem(
                prediction_id=row["prediction_id"],
                entity_id=row["entity_id"],
                predicted_at=row["time"],
                model=row["model"],
                score=row["score"],
                decision=row["decision"],
                reason=Reason.AGENT,
                priority=priority_of(Reason.AGENT, row["score"]),
                due_at=self.spec.deadline(Reason.AGENT, now),
                reviews_needed=1,
            )
            for row in drawn.iter_rows(named=True)
        ]
        with self.write() as unit:
            created = unit.review_items.add(self.project, new, now)
            outcome = SampleOutcome(automatic.height, len(new), created, seed)
            unit.audit.append(
                actor=actor.name,
                action="review.sample",
                subject=subject,
                details={"model": model, **outcome.to_dict(), **(details or {})},
            )
        return outcome

    def _breached(self, unit: ReviewUnit, overdue: list[ReviewItem], actor: Actor) -> int:
        """Open (or extend) the project's ``review`` incident with one breach per late item."""
        now = self.clock()
        breaches = [
            Breach(
                category=REVIEW_CATEGORY,
                check=f"review sla {item.reason.value}",
                value=round((now - item.created_at).total_seconds() / 3600, 2),
                threshold=self.spec.sla_hours[item.reason],
                chunk=f"item {item.id}",
                message=f"review item {item.id} ({item.reason.value}) is past its deadline"
                f" {item.due_at.isoformat(timespec='minutes')}",
            )
            for item in overdue
        ]
        current = unit.incidents.open_for(self.project, REVIEW_CATEGORY)
        if current is None:
            incident = opened(self.project, unit.incidents.next_seq(self.project), breaches, now)
            unit.incidents.add(incident)
            kind = "opened"
        else:
            incident = current.appended(breaches, now)
            unit.incidents.update(incident)
            kind = "breach"
        shown = [b.to_dict() for b in breaches[:50]]
        unit.incidents.add_event(
            self.project, IncidentEvent(incident.seq, now, kind, actor.name, {"breaches": shown})
        )
        unit.audit.append(
            actor=actor.name,
            action=f"incident.{kind}",
            subject=f"incident:{self.project}#{incident.seq}",
            details={"category": REVIEW_CATEGORY, "items": [item.id for item in overdue[:50]]},
        )
        return incident.seq

    def _candidates(self, frame: pl.DataFrame) -> Iterator[NewItem]:
        now, spec = self.clock(), self.spec
        for row in _with_reasons(frame, spec).iter_rows(named=True):
            reason = Reason(row["_reason"])
            inputs = _inputs(row["inputs"]) if spec.double_review.column else {}
            yield NewItem(
                prediction_id=row["prediction_id"],
                entity_id=row["entity_id"],
                predicted_at=row["time"],
                model=row["model"],
                score=row["score"],
                decision=row["decision"],
                reason=reason,
                priority=priority_of(reason, row["score"]),
                due_at=spec.deadline(reason, now),
                reviews_needed=spec.reviews_needed(reason, inputs),
            )

    def items(
        self, *, state: ItemState | None = None, reason: Reason | None = None, limit: int = 100
    ) -> list[ReviewItem]:
        """Items as of now, most urgent first; ``state`` as of now (an expired claim is open)."""
        now = self.clock()
        stored = _stored_states(state)
        with self.read() as unit:
            found = unit.review_items.find(self.project, states=stored, reason=reason, limit=limit)
        shown = [item.as_of(now) for item in found]
        return [item for item in shown if state is None or item.state is state]

    def item(self, item: int) -> tuple[ReviewItem, list[ReviewDecision]]:
        with self.read() as unit:
            found = unit.review_items.get(self.project, item)
            decisions = unit.review_decisions.of_item(self.project, item)
        return found.as_of(self.clock()), decisions

    def claim(self, actor: Actor, item: int | None = None) -> ReviewItem:
        """Claim ``item``, or the most urgent open item this reviewer may take."""
        if item is None:
            return self._claim_next(actor)
        now = self.clock()
        with self.write() as unit:
            self._check_claimable(unit, item, actor, now)
            until = now + self.spec.lease
            if not unit.review_items.claim(self.project, item, actor.name, now, until):
                raise self._refusal(unit.review_items.get(self.project, item), actor, now)
            claimed = unit.review_items.get(self.project, item)
            self._audit(unit, actor, "review.claim", claimed, {"until": until.isoformat()})
        return claimed

    def _claim_next(self, actor: Actor) -> ReviewItem:
        for candidate in self.items(state=ItemState.OPEN, limit=50):
            try:
                return self.claim(actor, candidate.id)
            except (Conflict, PolicyViolation):
                continue  # taken meanwhile, or already reviewed by this reviewer
        raise NotFound(
            "review item",
            "open",
            message="no open review item to claim",
            hint="'keel review sync' makes items from the newest predictions",
        )

    def _check_claimable(self, unit: ReviewUnit, item: int, actor: Actor, now: datetime) -> None:
        found = unit.review_items.get(self.project, item)
        if found.state in (ItemState.RESOLVED, ItemState.ESCALATED):
            raise self._refusal(found, actor, now)
        if found.reviews_done and any(
            d.reviewer == actor.name for d in unit.review_decisions.of_item(self.project, item)
        ):
            raise PolicyViolation(
                f"review item {item} needs a second, independent reviewer; {actor.name} has"
                " reviewed it already",
                hint="another reviewer claims it",
            )

    def release(self, actor: Actor, item: int) -> ReviewItem:
        """Hand a claimed item back to the queue."""
        now = self.clock()
        with self.write() as unit:
            if not unit.review_items.release(self.project, item, actor.name):
                raise self._refusal(unit.review_items.get(self.project, item), actor, now)
            released = unit.review_items.get(self.project, item)
            self._audit(unit, actor, "review.release", released, {})
        return released

    def resolve(
        self,
        actor: Actor,
        item: int,
        *,
        decision: str,
        label: float | None = None,
        note: str = "",
    ) -> ReviewItem:
        """Resolve an item one holds: the decision, an optional label and why. A high-risk item
        needs two reviewers: the first review opens it again for a second; the second settles
        it when both agree and escalates it when they do not; an approver settles an escalated
        item without claiming it."""
        if not decision.strip():
            raise InvalidInput("a resolution needs a decision", path="decision")
        now = self.clock()
        with self.write() as unit:
            found = unit.review_items.get(self.project, item)
            earlier = unit.review_decisions.of_item(self.project, item)
            escalated = found.state is ItemState.ESCALATED
            state: ItemState
            resolution: str | None
            if escalated:
                require_role(actor, Role.APPROVER, action="settling an escalated review")
                state, resolution = ItemState.RESOLVED, decision
            else:
                state, resolution = _next_state(found, earlier, decision, label)
            applied = unit.review_items.settle(
                self.project,
                found,
                actor.name,
                now,
                state=state,
                resolution=resolution,
                label=label,
                escalated=escalated,
            )
            if not applied:
                raise self._refusal(unit.review_items.get(self.project, item), actor, now)
            mine = ReviewDecision(item, actor.name, decision, label, note, now)
            unit.review_decisions.add(self.project, mine)
            settled = unit.review_items.get(self.project, item)
            action = "review.escalate" if state is ItemState.ESCALATED else "review.resolve"
            self._audit(unit, actor, action, settled, {**mine.to_dict(), "state": state.value})
            if state is ItemState.RESOLVED:
                self._write_outcome(settled, now)
        return settled

    def _write_outcome(self, item: ReviewItem, now: datetime) -> None:
        """The settled decision and label, joined to the prediction by its id (durable before
        the resolution commits: a crash in between leaves an outcome, never a lost one)."""
        if self.outcomes is None:
            return
        self.outcomes.append(
            [
                OutcomeRecord(
                    time=now,
                    prediction_id=item.prediction_id,
                    entity_id=item.entity_id,
                    label=item.label,
                    decision=item.resolution,
                    source=REVIEW_SOURCE,
                )
            ]
        )

    def _refusal(self, item: ReviewItem, actor: Actor, now: datetime) -> Conflict:
        current = item.as_of(now)
        if current.state is ItemState.CLAIMED and current.holder != actor.name:
            until = current.lease_until.isoformat(timespec="seconds") if current.lease_until else ""
            return ItemHeld(
                f"review item {item.id} is claimed by {current.holder} until {until}",
                hint="claim another item, or wait for the lease to end",
                holder=current.holder,
                until=until,
            )
        if current.state in (ItemState.RESOLVED, ItemState.ESCALATED):
            return Conflict(f"review item {item.id} is {current.state.value} already")
        return Conflict(
            f"review item {item.id} is not claimed by {actor.name}"
            + (" (the lease ran out)" if item.holder == actor.name else ""),
            hint=f"claim it first: keel review claim {item.id}",
        )

    def _audit(
        self,
        unit: ReviewUnit,
        actor: Actor,
        action: str,
        item: ReviewItem,
        details: dict[str, Any],
    ) -> None:
        unit.audit.append(
            actor=actor.name,
            action=action,
            subject=f"review:{self.project}/{item.id}",
            details={"prediction_id": item.prediction_id, "reason": item.reason.value, **details},
        )

    def decisions(self) -> list[ReviewDecision]:
        with self.read() as unit:
            return unit.review_decisions.all(self.project)


def _next_state(
    item: ReviewItem, earlier: list[ReviewDecision], decision: str, label: float | None
) -> tuple[ItemState, str | None]:
    """Where a resolution takes the item: open again for a second reviewer, resolved when the
    reviews needed are in and agree, escalated when two disagree."""
    if item.reviews_done + 1 < item.reviews_needed:
        return ItemState.OPEN, None
    if earlier and any(d.decision != decision or d.label != label for d in earlier):
        return ItemState.ESCALATED, None
    return ItemState.RESOLVED, decision


def _with_reasons(frame: pl.DataFrame, spec: ReviewSpec) -> pl.DataFrame:
    """The served rows that need a person, with their reason in ``_reason`` (the rule of
    ``reason_for``, over columns; only the audit draw is a Python loop, over ids alone)."""
    decision = pl.col("decision")
    reason = (
        pl.when(decision == DEFER)
        .then(pl.lit(Reason.DEFER.value))
        .when(pl.col("ood").list.len() > 0)
        .then(pl.lit(Reason.OOD.value))
        .when(decision == spec.action)
        .then(pl.lit(Reason.REVIEW.value))
        .otherwise(pl.lit(None, dtype=pl.String))
    )
    served = frame.filter(pl.col("route").is_null() | (pl.col("route") != "shadow"))
    marked = served.with_columns(reason.alias("_reason"))
    if spec.audit_rate > 0:
        automatic = marked.filter(pl.col("_reason").is_null() & decision.is_not_null())
        ids = automatic["prediction_id"].to_list()
        drawn = [i for i in ids if in_audit_sample(i, spec.audit_rate)]
        marked = marked.with_columns(
            pl.when(pl.col("_reason").is_null() & pl.col("prediction_id").is_in(drawn))
            .then(pl.lit(Reason.AUDIT.value))
            .otherwise(pl.col("_reason"))
            .alias("_reason")
        )
    return marked.filter(pl.col("_reason").is_not_null())


def _stored_states(state: ItemState | None) -> tuple[ItemState, ...]:
    """The stored states that can read as ``state`` now (an expired claim reads as open)."""
    if state is ItemState.OPEN:
        return (ItemState.OPEN, ItemState.CLAIMED)
    return () if state is None else (state,)


def _newest(frame: pl.DataFrame, cursor: datetime | None) -> datetime | None:
    if frame.is_empty():
        return cursor
    newest: datetime = frame["time"].max()  # type: ignore[assignment]
    return newest if cursor is None or newest > cursor else cursor


def _by_reason(items: list[NewItem]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item.reason.value] = counts.get(item.reason.value, 0) + 1
    return counts


def _inputs(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    found = orjson.loads(text)
    return found if isinstance(found, dict) else {}
