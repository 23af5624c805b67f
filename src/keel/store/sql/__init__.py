"""The SQL metadata store: SQLite (WAL) by default, PostgreSQL in production."""

from keel.store.sql.database import Database
from keel.store.sql.unit import SqlUnit

__all__ = ["Database", "SqlUnit"]
