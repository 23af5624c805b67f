"""``AuditLog`` on SQL: appends serialized on the head row, in the caller's transaction."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from keel.audit.events import AuditEvent, ChainHead, canonical_json, event_hash
from keel.store.sql.tables import audit_events, audit_head
from keel.types import utcnow

SCAN_BATCH = 1000


class SqlAuditLog:
    """Each append locks the single head row (``FOR UPDATE`` on PostgreSQL; SQLite's write
    transaction already holds the database lock), so concurrent writers queue, never fork."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def append(
        self, *, actor: str, action: str, subject: str, details: Mapping[str, Any] | None = None
    ) -> AuditEvent:
        head = self._locked_head()
        details_json = canonical_json(details or {})
        at = utcnow().isoformat(timespec="microseconds")
        seq, prev = head.seq + 1, head.hash
        digest = event_hash(
            seq=seq,
            at=at,
            actor=actor,
            action=action,
            subject=subject,
            details_json=details_json,
            prev_hash=prev,
        )
        event = AuditEvent(
            seq, at, actor, action, subject, details_json, prev, digest, json.loads(details_json)
        )
        self.conn.execute(audit_events.insert().values(_row(event)))
        self.conn.execute(
            audit_head.update().where(audit_head.c.id == 1).values(seq=event.seq, hash=digest)
        )
        return event

    def recent(
        self, *, limit: int = 50, action: str | None = None, subject: str | None = None
    ) -> list[AuditEvent]:
        query = sa.select(audit_events).order_by(audit_events.c.seq.desc()).limit(limit)
        if action:
            query = query.where(audit_events.c.action == action)
        if subject:
            query = query.where(audit_events.c.subject == subject)
        return [_event(row) for row in self.conn.execute(query).mappings()]

    def scan(self) -> Iterator[AuditEvent]:
        after = 0
        while True:
            query = (
                sa.select(audit_events)
                .where(audit_events.c.seq > after)
                .order_by(audit_events.c.seq)
                .limit(SCAN_BATCH)
            )
            rows = self.conn.execute(query).mappings().all()
            if not rows:
                return
            yield from (_event(row) for row in rows)
            after = rows[-1]["seq"]

    def head(self) -> ChainHead:
        row = self.conn.execute(sa.select(audit_head).where(audit_head.c.id == 1)).one()
        return ChainHead(seq=row.seq, hash=row.hash)

    def _locked_head(self) -> ChainHead:
        query = sa.select(audit_head).where(audit_head.c.id == 1).with_for_update()
        row = self.conn.execute(query).one()
        return ChainHead(seq=row.seq, hash=row.hash)


def _row(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "at": event.at,
        "actor": event.actor,
        "action": event.action,
        "subject": event.subject,
        "details": event.details_json,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def _event(row: RowMapping) -> AuditEvent:
    details_json = row["details"]
    try:
        details = json.loads(details_json)
    except ValueError:
        details = {}  # a tampered row still loads, so that verification can name it
    return AuditEvent(
        seq=row["seq"],
        at=row["at"],
        actor=row["actor"],
        action=row["action"],
        subject=row["subject"],
        details_json=details_json,
        prev_hash=row["prev_hash"],
        hash=row["hash"],
        details=details,
    )
