"""Engines, transactions and the one place SQLAlchemy errors become Keel errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DatabaseError, OperationalError, ProgrammingError
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from keel.errors import Conflict, InvalidInput, KeelError, StorageUnavailable
from keel.store.uri import database_url

WRITE_FLAG = "keel_write"
BUSY_SECONDS = 30
"""How long a SQLite writer waits for another connection's write lock before giving up."""


class Database:
    """One engine per process; ``read()`` and ``write()`` open short transactions.

    On SQLite, ``write()`` starts with ``BEGIN IMMEDIATE`` so that concurrent writers queue on
    the database lock instead of failing half-way; reads stay concurrent thanks to WAL.
    """

    def __init__(self, url: str) -> None:
        self.url = database_url(url)
        self.engine = _create_engine(self.url)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_embedded(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def display_url(self) -> str:
        """The URL with any password hidden, safe for logs and status output."""
        return sa.make_url(self.url).render_as_string(hide_password=True)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with translate_errors(self.file), self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with translate_errors(self.file), self.engine.connect() as conn:
            conn.info[WRITE_FLAG] = True
            try:
                with conn.begin():
                    yield conn
            finally:
                conn.info.pop(WRITE_FLAG, None)

    @property
    def file(self) -> str | None:
        """The database file of an embedded (SQLite) database, else None."""
        path = sa.make_url(self.url).database if self.is_embedded else None
        return path if path and path != ":memory:" else None

    def dispose(self) -> None:
        self.engine.dispose()


def _create_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    return sa.create_engine(url, pool_pre_ping=True)


def _sqlite_engine(url: str) -> Engine:
    path = sa.make_url(url).database
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": BUSY_SECONDS})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_SECONDS * 1000}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get(WRITE_FLAG) else "BEGIN")

    return engine


_DAMAGED = ("file is not a database", "malformed", "disk image")
"""SQLite's words for a database file whose bytes are not a database."""


@contextmanager
def translate_errors(file: str | None = None) -> Iterator[None]:
    """Map driver errors to Keel families without leaking SQL or credentials; ``file`` names
    an embedded database's file, so that a damaged one is named."""
    try:
        yield
    except KeelError:
        raise
    except SqlIntegrityError as exc:
        raise Conflict("the change conflicts with a record that already exists") from exc
    except (
        OverflowError
    ) as exc:  # an id or number beyond a 64-bit integer, e.g. v99999999999999999999
        raise InvalidInput(
            f"a number is too large: the largest the database holds is {2**63 - 1:,}",
            hint="check the id or version you typed",
        ) from exc
    except (OperationalError, ProgrammingError, DatabaseError) as exc:
        if file is not None and any(word in str(exc.orig).lower() for word in _DAMAGED):
            raise StorageUnavailable(
                f"the metadata database {file} is damaged: {str(exc.orig).splitlines()[0]}",
                hint="restore it from a backup, or move it aside and run 'keel db upgrade'"
                " to start an empty one",
            ) from exc
        if "database is locked" in str(exc.orig).lower():
            named = f" {file}" if file else ""
            raise StorageUnavailable(
                f"the metadata database{named} is locked: another connection has held its"
                f" write lock longer than the {BUSY_SECONDS} s a writer waits",
                hint="find what holds a long write transaction on it (a backup, a script, a"
                " stuck process); Keel goes on once it ends",
            ) from exc
        raise StorageUnavailable(
            f"the metadata database failed: {type(exc.orig).__name__}",
            hint="check KEEL_DATABASE_URL, that the server is up, and run 'keel db upgrade'",
        ) from exc
