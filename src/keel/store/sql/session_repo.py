"""``SessionRepo`` on SQL."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from keel.identity.sessions import Session
from keel.store.sql.tables import sessions
from keel.store.sql.timestamps import aware


class SqlSessionRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, session: Session, token_hash: str) -> None:
        self.conn.execute(
            sessions.insert().values(
                token_hash=token_hash,
                username=session.user,
                created_at=session.created_at,
                expires_at=session.expires_at,
                ended_at=session.ended_at,
            )
        )

    def get(self, token_hash: str) -> Session | None:
        query = sa.select(sessions).where(sessions.c.token_hash == token_hash)
        row = self.conn.execute(query).mappings().first()
        if row is None:
            return None
        ended = row["ended_at"]
        return Session(
            user=row["username"],
            created_at=aware(row["created_at"]),
            expires_at=aware(row["expires_at"]),
            ended_at=aware(ended) if ended is not None else None,
        )

    def end(self, token_hash: str, at: datetime) -> None:
        self.conn.execute(
            sessions.update()
            .where(sessions.c.token_hash == token_hash, sessions.c.ended_at.is_(None))
            .values(ended_at=at)
        )
