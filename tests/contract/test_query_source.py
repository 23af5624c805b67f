"""Source queries only read: on SQLite and PostgreSQL, no query given to ingest can write."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from keel.errors import InvalidInput, StorageUnavailable
from keel.store.query_source import SqlSource, check_read_query
from keel.store.uri import database_url as driver_url


@pytest.fixture
def source_url(database_url: str) -> Iterator[str]:
    """A database on the backend under test holding ``t(a)`` with one row."""
    engine = sa.create_engine(driver_url(database_url))
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (a INTEGER)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
    engine.dispose()
    yield database_url


def rows_of_t(url: str) -> int:
    engine = sa.create_engine(driver_url(url))
    with engine.connect() as conn:
        count = conn.exec_driver_sql("SELECT count(*) FROM t").scalar_one()
    engine.dispose()
    return int(count)


def read(url: str, query: str) -> list[int]:
    frames = list(SqlSource(url, query).chunks(10))
    return [int(v) for frame in frames for v in frame.to_series(0).to_list()]


WRITES = {
    "drop": "DROP TABLE t",
    "delete": "DELETE FROM t",
    "two statements": "SELECT 1; DROP TABLE t",
    "comment hides nothing": "SELECT 1 /* ; */ ; DELETE FROM t",
    "cte that deletes": "WITH gone AS (DELETE FROM t RETURNING a) SELECT a FROM gone",
}


@pytest.mark.parametrize("query", WRITES.values(), ids=WRITES.keys())
def test_a_source_query_never_writes(source_url: str, query: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        read(source_url, query)
    assert caught.value.path == "query"
    assert rows_of_t(source_url) == 1


def test_a_select_reads_and_a_trailing_semicolon_is_fine(source_url: str) -> None:
    assert read(source_url, "SELECT a FROM t;") == [1]
    assert read(source_url, "WITH x AS (SELECT a FROM t) SELECT a FROM x") == [1]


def test_a_missing_table_is_the_querys_fault_not_the_metadata_databases(source_url: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        read(source_url, "SELECT * FROM nowhere")
    assert "source query failed" in caught.value.message
    assert "keel db upgrade" not in (caught.value.hint or "")


def test_a_missing_sqlite_file_is_refused_and_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    with pytest.raises(InvalidInput, match="no such SQLite database"):
        read(f"sqlite:///{missing}", "SELECT 1")
    assert not missing.exists()


def test_an_unreachable_server_names_the_source_without_its_password() -> None:
    url = "postgresql://reader:s3cret@127.0.0.1:1/warehouse"
    with pytest.raises(StorageUnavailable) as caught:
        read(url, "SELECT 1")
    assert "source database" in caught.value.message
    assert "s3cret" not in caught.value.message


STATEMENTS = {
    "select": ("select 1", True),
    "with": ("  WITH x AS (SELECT 1) SELECT * FROM x", True),
    "parenthesised": ("(SELECT 1)", True),
    "semicolon in a string": ("SELECT ';' AS s", True),
    "semicolon in a dollar string": ("SELECT $q$;$q$ AS s", True),
    "insert": ("INSERT INTO t VALUES (2)", False),
    "pragma": ("PRAGMA writable_schema = 1", False),
    "attach": ("ATTACH DATABASE 'x.db' AS x", False),
    "second after comment": ("SELECT 1 -- ;\n; UPDATE t SET a = 2", False),
    "empty": ("  ", False),
}


@pytest.mark.parametrize(("query", "allowed"), STATEMENTS.values(), ids=STATEMENTS.keys())
def test_only_one_select_or_with_statement_passes(query: str, allowed: bool) -> None:
    if allowed:
        assert check_read_query(query)
    else:
        with pytest.raises(InvalidInput):
            check_read_query(query)
