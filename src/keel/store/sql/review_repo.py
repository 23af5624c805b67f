"""The review queue's repositories on SQL (``keel.decisions.ports``).

Claims, releases and resolutions are single ``UPDATE ... WHERE`` statements whose row count
says whether they applied: PostgreSQL re-checks the ``WHERE`` of a row another transaction just
changed, and SQLite runs one writer at a time (``BEGIN IMMEDIATE``), so of two reviewers
claiming one item exactly one write applies on either backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from keel.decisions.review import ItemState, NewItem, Reason, ReviewDecision, ReviewItem
from keel.errors import NotFound
from keel.store.sql.tables import review_cursors, review_decisions, review_items
from keel.store.sql.timestamps import aware

OPEN_STATES = (ItemState.OPEN.value, ItemState.CLAIMED.value)


class SqlReviewCursorRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def cursor(self, project: str) -> datetime | None:
        query = (
            sa.select(review_cursors.c.watermark)
            .where(review_cursors.c.project == project)
            .with_for_update()
        )
        found = self.conn.execute(query).scalar()
        return aware(found) if found is not None else None

    def move_cursor(self, project: str, watermark: datetime) -> None:
        moved = self.conn.execute(
            review_cursors.update()
            .where(review_cursors.c.project == project)
            .values(watermark=watermark)
        )
        if moved.rowcount == 0:
            self.conn.execute(review_cursors.insert().values(project=project, watermark=watermark))


class SqlReviewRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, project: str, items: Sequence[NewItem], created_at: datetime) -> int:
        known = self._known(project, min((item.predicted_at for item in items), default=None))
        rows, seen = [], set(known)
        for item in items:
            if item.prediction_id in seen:
                continue
            seen.add(item.prediction_id)
            rows.append(_new_row(project, item, created_at))
        if rows:
            self.conn.execute(review_items.insert(), rows)
        return len(rows)

    def _known(self, project: str, since: datetime | None) -> set[str]:
        """Prediction ids of the items made from predictions stamped at or after ``since``."""
        if since is None:
            return set()
        query = sa.select(review_items.c.prediction_id).where(
            review_items.c.project == project, review_items.c.predicted_at >= since
        )
        return set(self.conn.execute(query).scalars())

    def get(self, project: str, item: int) -> ReviewItem:
        query = sa.select(review_items).where(
            review_items.c.project == project, review_items.c.id == item
        )
        row = self.conn.execute(query).mappings().first()
        if row is None:
            raise NotFound("review item", str(item), hint="'keel review list' shows them")
        return _item(row)

    def of_prediction(self, project: str, prediction_id: str) -> ReviewItem | None:
        query = sa.select(review_items).where(
            review_items.c.project == project, review_items.c.prediction_id == prediction_id
        )
        row = self.conn.execute(query).mappings().first()
        return _item(row) if row is not None else None

    def find(
        self,
        project: str,
        *,
        states: Sequence[ItemState] = (),
        reason: Reason | None = None,
        limit: int = 100,
    ) -> list[ReviewItem]:
        query = sa.select(review_items).where(review_items.c.project == project)
        if states:
            query = query.where(review_items.c.state.in_([s.value for s in states]))
        if reason is not None:
            query = query.where(review_items.c.reason == reason.value)
        query = query.order_by(
            review_items.c.priority.desc(), review_items.c.due_at, review_items.c.id
        ).limit(limit)
        return [_item(row) for row in self.conn.execute(query).mappings()]

    def claim(self, project: str, item: int, reviewer: str, now: datetime, until: datetime) -> bool:
        c = review_items.c
        claimable = sa.or_(
            c.state == ItemState.OPEN.value,
            sa.and_(
                c.state == ItemState.CLAIMED.value,
                sa.or_(c.lease_until <= now, c.holder == reviewer),
            ),
        )
        done = self.conn.execute(
            review_items.update()
            .where(c.project == project, c.id == item, claimable)
            .values(state=ItemState.CLAIMED.value, holder=reviewer, lease_until=until)
        )
        return done.rowcount == 1

    def settle(
        self,
        project: str,
        item: ReviewItem,
        reviewer: str,
        now: datetime,
        *,
        state: ItemState,
        resolution: str | None = None,
        label: float | None = None,
        escalated: bool = False,
    ) -> bool:
        c = review_items.c
        held = (
            c.state == ItemState.ESCALATED.value
            if escalated
            else sa.and_(
                c.state == ItemState.CLAIMED.value, c.holder == reviewer, c.lease_until > now
            )
        )
        closed = state in (ItemState.RESOLVED, ItemState.ESCALATED)
        done = self.conn.execute(
            review_items.update()
            .where(c.project == project, c.id == item.id, c.reviews_done == item.reviews_done, held)
            .values(
                state=state.value,
                holder=None,
                lease_until=None,
                reviews_done=c.reviews_done + (0 if escalated else 1),
                resolution=resolution,
                label=label if state is ItemState.RESOLVED else None,
                resolved_at=now if closed else None,
                sla_done_at=sa.func.coalesce(c.sla_done_at, now) if closed else c.sla_done_at,
            )
        )
        return done.rowcount == 1

    def mark_overdue(self, project: str, now: datetime) -> list[ReviewItem]:
        c = review_items.c
        overdue = sa.and_(  # settled items have sla_done_at: the index skips them
            c.project == project,
            c.sla_done_at.is_(None),
            c.due_at < now,
            c.state.in_(OPEN_STATES),
        )
        found = [
            _item(row)
            for row in self.conn.execute(sa.select(review_items).where(overdue)).mappings()
        ]
        if found:
            ids = [item.id for item in found]
            self.conn.execute(
                review_items.update().where(overdue, c.id.in_(ids)).values(sla_done_at=now)
            )
        return found

    def labels(self, project: str, before: datetime) -> list[tuple[str, float]]:
        c = review_items.c
        query = (
            sa.select(c.entity_id, c.label)
            .where(
                c.project == project,
                c.state == ItemState.RESOLVED.value,
                c.label.is_not(None),
                c.resolved_at <= before,
            )
            .order_by(c.resolved_at, c.id)
        )
        return [(row.entity_id, float(row.label)) for row in self.conn.execute(query)]

    def release(self, project: str, item: int, reviewer: str) -> bool:
        c = review_items.c
        done = self.conn.execute(
            review_items.update()
            .where(
                c.project == project,
                c.id == item,
                c.state == ItemState.CLAIMED.value,
                c.holder == reviewer,
            )
            .values(state=ItemState.OPEN.value, holder=None, lease_until=None)
        )
        return done.rowcount == 1


class SqlReviewDecisionRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, project: str, decision: ReviewDecision) -> None:
        self.conn.execute(
            review_decisions.insert().values(
                project=project,
                item=decision.item,
                reviewer=decision.reviewer,
                decision=decision.decision,
                label=decision.label,
                note=decision.note,
                at=decision.at,
            )
        )

    def of_item(self, project: str, item: int) -> list[ReviewDecision]:
        return self._where(review_decisions.c.project == project, review_decisions.c.item == item)

    def all(self, project: str) -> list[ReviewDecision]:
        return self._where(review_decisions.c.project == project)

    def _where(self, *conditions: Any) -> list[ReviewDecision]:
        query = (
            sa.select(review_decisions)
            .where(*conditions)
            .order_by(review_decisions.c.item, review_decisions.c.at)
        )
        return [
            ReviewDecision(
                item=int(row["item"]),
                reviewer=row["reviewer"],
                decision=row["decision"],
                label=row["label"],
                note=row["note"],
                at=aware(row["at"]),
            )
            for row in self.conn.execute(query).mappings()
        ]


def _new_row(project: str, item: NewItem, created_at: datetime) -> dict[str, Any]:
    return {
        "project": project,
        "prediction_id": item.prediction_id,
        "entity_id": item.entity_id,
        "predicted_at": item.predicted_at,
        "model": item.model,
        "score": item.score,
        "decision": item.decision,
        "reason": item.reason.value,
        "priority": item.priority,
        "created_at": created_at,
        "due_at": item.due_at,
        "state": ItemState.OPEN.value,
        "holder": None,
        "lease_until": None,
        "reviews_needed": item.reviews_needed,
        "reviews_done": 0,
        "resolution": None,
        "label": None,
        "resolved_at": None,
        "sla_done_at": None,
    }


def _item(row: RowMapping) -> ReviewItem:
    return ReviewItem(
        id=int(row["id"]),
        project=row["project"],
        prediction_id=row["prediction_id"],
        entity_id=row["entity_id"],
        predicted_at=aware(row["predicted_at"]),
        model=row["model"],
        score=row["score"],
        decision=row["decision"],
        reason=Reason(row["reason"]),
        priority=float(row["priority"]),
        created_at=aware(row["created_at"]),
        due_at=aware(row["due_at"]),
        state=ItemState(row["state"]),
        holder=row["holder"],
        lease_until=aware(row["lease_until"]) if row["lease_until"] else None,
        reviews_needed=int(row["reviews_needed"]),
        reviews_done=int(row["reviews_done"]),
        resolution=row["resolution"],
        label=row["label"],
        resolved_at=aware(row["resolved_at"]) if row["resolved_at"] else None,
    )
