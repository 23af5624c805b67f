"""Users on SQLite and PostgreSQL, and who the actor is."""

from __future__ import annotations

import pytest

from keel.errors import Conflict, NotFound, PermissionDenied, Unauthenticated
from keel.identity.actor import LOCAL_ADMIN, Actor
from keel.identity.keys import hash_api_key
from keel.identity.roles import Role
from keel.identity.service import add_user, resolve_actor, revoke_user
from keel.store.sql import Database, SqlUnit

ADMIN = Actor(LOCAL_ADMIN, Role.ADMIN, "local")


def add(db: Database, name: str, role: Role, actor: Actor = ADMIN) -> str:
    with db.write() as conn:
        _, key = add_user(SqlUnit(conn), actor, name, role)
    return key


def test_add_stores_only_the_key_hash_and_audits(db: Database) -> None:
    key = add(db, "ana", Role.APPROVER)
    with db.read() as conn:
        unit = SqlUnit(conn)
        stored = conn.exec_driver_sql("SELECT key_hash FROM users").scalar_one()
        assert stored == hash_api_key(key)
        assert key not in stored
        assert unit.users.get("ana").role is Role.APPROVER
        (event,) = unit.audit.recent()
    assert (event.action, event.subject, event.actor) == ("user.add", "user:ana", LOCAL_ADMIN)
    assert key not in event.details_json


def test_duplicate_name_conflicts_and_writes_nothing(db: Database) -> None:
    add(db, "ana", Role.VIEWER)
    with pytest.raises(Conflict):
        add(db, "ana", Role.ADMIN)
    with db.read() as conn:
        assert SqlUnit(conn).users.count() == 1
        assert len(SqlUnit(conn).audit.recent()) == 1


def test_key_resolves_to_its_user_until_revoked(db: Database) -> None:
    key = add(db, "omar", Role.OPERATOR)
    with db.read() as conn:
        actor = resolve_actor(SqlUnit(conn).users, key, embedded=False)
    assert actor == Actor("omar", Role.OPERATOR, "api-key")
    with db.write() as conn:
        revoke_user(SqlUnit(conn), ADMIN, "omar")
    with db.read() as conn, pytest.raises(Unauthenticated):
        resolve_actor(SqlUnit(conn).users, key, embedded=False)


def test_unknown_key_is_refused(db: Database) -> None:
    with db.read() as conn, pytest.raises(Unauthenticated):
        resolve_actor(SqlUnit(conn).users, "keel_not-a-key", embedded=True)


@pytest.mark.parametrize("embedded", [True, False], ids=["embedded", "shared"])
def test_without_a_key_a_database_with_users_refuses(db: Database, embedded: bool) -> None:
    with db.read() as conn:
        assert resolve_actor(SqlUnit(conn).users, None, embedded=embedded).name == LOCAL_ADMIN
    add(db, "ana", Role.ADMIN)
    with db.read() as conn:
        users = SqlUnit(conn).users
        with pytest.raises(Unauthenticated):
            resolve_actor(users, None, embedded=embedded)
        with pytest.raises(Unauthenticated):
            resolve_actor(users, None, embedded=embedded, break_glass="  ")
        glass = resolve_actor(users, None, embedded=embedded, break_glass="INC-1")
    assert glass == Actor(LOCAL_ADMIN, Role.ADMIN, "break-glass")


def test_only_admins_manage_users(db: Database) -> None:
    operator = Actor("omar", Role.OPERATOR, "api-key")
    with pytest.raises(PermissionDenied):
        add(db, "eve", Role.ADMIN, actor=operator)
    with db.read() as conn:
        assert SqlUnit(conn).users.count() == 0


def test_invalid_names_are_refused(db: Database) -> None:
    from keel.errors import InvalidInput

    for name in ("Ana", "../etc", "", "a" * 64, "a b"):
        with pytest.raises(InvalidInput):
            add(db, name, Role.VIEWER)


def test_missing_user(db: Database) -> None:
    with db.read() as conn, pytest.raises(NotFound):
        SqlUnit(conn).users.get("nobody")
