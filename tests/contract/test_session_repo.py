"""Dashboard sessions on SQLite and PostgreSQL: only the token's hash is stored, a session ends
at logout or expiry, and a revoked user's session stops working."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from tests.contract.conftest import loan_project

from keel.app import logins
from keel.app.session import as_caller
from keel.errors import Unauthenticated
from keel.identity.actor import LOCAL_ADMIN, Actor
from keel.identity.roles import Role
from keel.identity.service import add_user, revoke_user
from keel.identity.sessions import Session, hash_token, new_session_token
from keel.store.sql import Database, SqlUnit
from keel.types import utcnow

ADMIN = Actor(LOCAL_ADMIN, Role.ADMIN, "local")


def test_only_the_hash_is_stored_and_logout_ends_the_session(db: Database) -> None:
    token, now = new_session_token(), utcnow()
    with db.write() as conn:
        SqlUnit(conn).sessions.add(Session("ana", now, now + timedelta(hours=1)), hash_token(token))
    with db.read() as conn:
        stored = conn.exec_driver_sql("SELECT token_hash FROM sessions").scalar_one()
        found = SqlUnit(conn).sessions.get(hash_token(token))
    assert stored == hash_token(token) and token not in stored
    assert found is not None and found.live(utcnow()) and found.user == "ana"
    with db.write() as conn:
        SqlUnit(conn).sessions.end(hash_token(token), utcnow())
        SqlUnit(conn).sessions.end(hash_token("unknown"), utcnow())  # does nothing
    with db.read() as conn:
        ended = SqlUnit(conn).sessions.get(hash_token(token))
    assert ended is not None and ended.ended_at is not None and not ended.live(utcnow())
    assert not Session("ana", now, now + timedelta(seconds=1)).live(now + timedelta(seconds=2))


def test_a_session_of_a_revoked_user_stops_working(tmp_path: Path, database_url: str) -> None:
    keel = loan_project(tmp_path / "proj", database_url)
    db = keel.db
    with db.write() as conn:
        add_user(SqlUnit(conn), ADMIN, "ana", Role.OPERATOR)
    opened = logins.login(as_caller(keel, Actor("ana", Role.OPERATOR, "api-key")), hours=1)
    assert logins.session_actor(keel, opened.token).name == "ana"
    assert opened.token not in str(opened.to_dict())
    with db.write() as conn:
        revoke_user(SqlUnit(conn), ADMIN, "ana")
    try:
        with pytest.raises(Unauthenticated, match="ended"):
            logins.session_actor(keel, opened.token)
    finally:
        keel.close()
