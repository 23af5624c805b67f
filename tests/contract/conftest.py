"""Migrated databases for the store conformance suites."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from keel.store.sql import Database
from keel.store.sql.schema import upgrade


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """A migrated database on each backend."""
    database = Database(database_url)
    upgrade(database)
    yield database
    database.dispose()
