"""API-key checks while the users cannot be read: a locked database never stalls a request.

The users live in a real SQLite file in rollback-journal mode, where another connection's
exclusive transaction blocks readers (for the reader's five-second busy timeout)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from keel.errors import StorageUnavailable
from keel.identity.keys import hash_api_key
from keel.identity.roles import Role
from keel.identity.users import User
from keel.serving.access import Access

KEY = "k-known-0123456789"


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "users.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("CREATE TABLE users (key_hash TEXT, name TEXT, role TEXT)")
        conn.execute("INSERT INTO users VALUES (?, 'vera', 'viewer')", (hash_api_key(KEY),))
    yield path


def access_on(path: Path) -> Access:
    """An ``Access`` reading the users as a server does: a connection of its own per read."""

    def read(sql: str, *args: str) -> tuple[str, ...] | None:
        with closing(sqlite3.connect(path, timeout=5, isolation_level=None)) as conn:
            found: tuple[str, ...] | None = conn.execute(sql, args).fetchone()
            return found

    def lookup(key_hash: str) -> User | None:
        found = read("SELECT name, role FROM users WHERE key_hash = ?", key_hash)
        return None if found is None else User(found[0], Role(found[1]), datetime.now(UTC))

    def count() -> int:
        found = read("SELECT count(*) FROM users")
        return int(found[0]) if found else 0

    access = Access(lookup=lookup, count=count, ttl_seconds=0.0, wait_seconds=0.3)
    access.prime()
    return access


def locked(path: Path) -> sqlite3.Connection:
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    return holder


async def timed(access: Access, key: str) -> float:
    started = time.perf_counter()
    await access.check(None, key, Role.VIEWER)
    return time.perf_counter() - started


def test_a_known_key_is_decided_from_the_last_read_while_the_database_is_locked(
    database: Path,
) -> None:
    """Regression: the key cache read the database on the event loop, so a lock held by
    another writer stalled every request for the busy timeout."""
    access = access_on(database)

    async def scenario() -> list[float]:
        await timed(access, KEY)  # read once while the database answers
        holder = locked(database)
        try:
            return [await timed(access, KEY) for _ in range(3)]
        finally:
            holder.close()

    # each read waits out the lock in its thread; no request waits more than wait_seconds
    assert max(asyncio.run(scenario())) < 1.0


def test_an_unknown_key_answers_503_while_the_database_is_locked(database: Path) -> None:
    access = access_on(database)

    async def scenario() -> float:
        holder = locked(database)
        started = time.perf_counter()
        try:
            with pytest.raises(StorageUnavailable, match="cannot check the API key"):
                await timed(access, "k-never-seen-0123456789")
            return time.perf_counter() - started
        finally:
            holder.close()

    assert asyncio.run(scenario()) < 1.0
