"""Read a batch from a SQL query, without ever writing to the database it reads.

A source query is somebody else's database: Keel only reads it. Three guards, each enough alone
for the common cases, together for the rest:

- the text must be one ``SELECT`` or ``WITH`` statement (``check_read_query``);
- SQLite files open with ``mode=ro`` (a missing file is refused, never created) and
  ``PRAGMA query_only``;
- PostgreSQL runs the query in a ``READ ONLY`` transaction that is rolled back at the end.

Errors of the source are the source's, not the metadata database's: a bad query is
``InvalidInput`` (exit 2) and an unreachable server ``StorageUnavailable`` (exit 7), each naming
the source URL without its password.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from keel.errors import InvalidInput, StorageUnavailable
from keel.store.uri import database_url

READ_STATEMENTS = ("select", "with")
_HINT = "check --query; source queries are one read-only SELECT or WITH statement"


@dataclass(frozen=True)
class SqlSource:
    """A query over a SQLite or PostgreSQL URL, fetched in chunks on a server-side cursor."""

    url: str
    query: str
    from_text: bool = False
    file_sha256: str | None = None
    format: str = "sql"

    @property
    def uri(self) -> str:
        return f"sql:{hide_password(self.url)}:{self.query}"

    def chunks(self, chunk_rows: int) -> Iterator[pl.DataFrame]:
        query = check_read_query(self.query)
        engine = _read_only_engine(self.url)
        try:
            with _connected(engine, self.url) as conn, _query_errors(self.url):
                result = conn.execution_options(stream_results=True).execute(sa.text(query))
                columns = list(result.keys())
                while rows := result.fetchmany(chunk_rows):
                    yield pl.DataFrame([tuple(r) for r in rows], schema=columns, orient="row")
        finally:
            engine.dispose()


def check_read_query(query: str) -> str:
    """``query`` without its trailing semicolons, if it is exactly one SELECT or WITH statement.

    Strings, quoted names and comments are skipped when looking for statement separators, so
    ``SELECT ';'`` is one statement and ``SELECT 1; DROP TABLE t`` is two (refused).
    """
    code = _code_only(query).strip()
    while code.endswith(";"):
        code = code[:-1].rstrip()
    if ";" in code:
        raise InvalidInput(
            "the source query holds more than one statement", path="query", hint=_HINT
        )
    first = re.match(r"[\s(]*([A-Za-z]+)", code)
    if first is None or first.group(1).lower() not in READ_STATEMENTS:
        word = first.group(1).upper() if first else "nothing"
        raise InvalidInput(
            f"the source query must be a SELECT or WITH statement, got {word}",
            path="query",
            hint=_HINT,
        )
    return query.strip().rstrip(";").rstrip()


_TOKENS = re.compile(
    r"""'(?:[^']|'')*'?         # a string literal ('' escapes a quote)
      | "(?:[^"]|"")*"?         # a quoted name
      | `[^`]*`?                # a MySQL-style quoted name
      | --[^\n]*                # a line comment
      | /\*.*?(?:\*/|\Z)        # a block comment
      | \$(\w*)\$.*?(?:\$\1\$|\Z)  # a PostgreSQL dollar-quoted string
    """,
    re.VERBOSE | re.DOTALL,
)


def _code_only(query: str) -> str:
    """The query with strings, quoted names and comments replaced by a blank."""
    return _TOKENS.sub(" ", query)


def _read_only_engine(url: str) -> Engine:
    full = database_url(url)
    if not full.startswith("sqlite"):
        return sa.create_engine(full)
    path = sa.make_url(full).database
    if not path or path == ":memory:":
        raise InvalidInput(
            "an in-memory SQLite database holds nothing to read",
            path="sql",
            hint="give the path of a SQLite file: sqlite:///PATH",
        )
    file = Path(path).expanduser()
    if not file.is_file():
        raise InvalidInput(f"no such SQLite database: {file}", path="sql", hint="check --sql")
    uri = f"{file.resolve().as_uri()}?mode=ro"
    return sa.create_engine("sqlite://", creator=lambda: _sqlite_read_only(uri))


def _sqlite_read_only(uri: str) -> sqlite3.Connection:
    connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
    connection.execute("PRAGMA query_only = ON")
    return connection


@contextmanager
def _connected(engine: Engine, url: str) -> Iterator[Connection]:
    """A connection in a read-only transaction, rolled back when done."""
    try:
        conn = engine.connect()
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
    except sa.exc.DBAPIError as exc:
        raise StorageUnavailable(
            f"cannot open the source database {hide_password(url)}: {_detail(exc, url)}",
            hint="check the --sql URL and that its server is up; nothing was stored",
        ) from exc
    try:
        yield conn
    finally:
        conn.rollback()
        conn.close()


@contextmanager
def _query_errors(url: str) -> Iterator[None]:
    try:
        yield
    except sa.exc.ResourceClosedError as exc:
        raise InvalidInput("the source query returned no rows", path="query", hint=_HINT) from exc
    except sa.exc.DBAPIError as exc:
        detail = _detail(exc, url)
        if _is_read_only_refusal(detail):
            detail = f"source queries are read-only ({detail})"
        raise InvalidInput(f"the source query failed: {detail}", path="query", hint=_HINT) from exc


def _is_read_only_refusal(detail: str) -> bool:
    lowered = detail.lower()
    return "readonly" in lowered or "read-only" in lowered or "query_only" in lowered


def _detail(exc: sa.exc.DBAPIError, url: str) -> str:
    """The driver's first line, without SQLAlchemy's SQL echo or any password in the URL."""
    orig: Any = exc.orig if exc.orig is not None else exc
    lines = str(orig).strip().splitlines() or [type(orig).__name__]
    text = lines[0][:300]
    password = _password(url)
    return text.replace(password, "***") if password else text


def _password(url: str) -> str | None:
    try:
        return sa.make_url(url).password
    except sa.exc.ArgumentError:
        return None


def hide_password(url: str) -> str:
    """``url`` safe to print: a password becomes ``***``."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url.rsplit("@", 1)[-1]  # an unparsable URL is shown without its credentials part
