"""``UserRepo`` on SQL."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from keel.errors import Conflict, NotFound
from keel.identity.roles import Role
from keel.identity.users import User
from keel.store.sql.tables import users
from keel.store.sql.timestamps import aware


class SqlUserRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, user: User, key_hash: str) -> None:
        exists = self.conn.execute(sa.select(users.c.name).where(users.c.name == user.name))
        if exists.first() is not None:
            raise Conflict(
                f"user '{user.name}' already exists",
                hint="pick another name; revoked names stay reserved so the audit stays clear",
            )
        self.conn.execute(
            users.insert().values(
                name=user.name,
                role=user.role.value,
                key_hash=key_hash,
                created_at=user.created_at,
                revoked_at=None,
            )
        )

    def get(self, name: str) -> User:
        row = self.conn.execute(sa.select(users).where(users.c.name == name)).mappings().first()
        if row is None:
            raise NotFound("user", name, hint="list users with 'keel users list'")
        return _user(row)

    def by_key_hash(self, key_hash: str) -> User | None:
        query = sa.select(users).where(users.c.key_hash == key_hash)
        row = self.conn.execute(query).mappings().first()
        return _user(row) if row is not None else None

    def all(self) -> list[User]:
        rows = self.conn.execute(sa.select(users).order_by(users.c.name)).mappings()
        return [_user(row) for row in rows]

    def revoke(self, name: str, at: datetime) -> User:
        user = self.get(name)
        if not user.active:
            return user
        self.conn.execute(users.update().where(users.c.name == name).values(revoked_at=at))
        return self.get(name)

    def count(self) -> int:
        return int(self.conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one())


def _user(row: RowMapping) -> User:
    return User(
        name=row["name"],
        role=Role(row["role"]),
        created_at=aware(row["created_at"]),
        revoked_at=aware(row["revoked_at"]) if row["revoked_at"] else None,
    )
