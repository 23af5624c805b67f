"""Shared fixtures: real databases (SQLite, and PostgreSQL in its own schema per test)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.objectstore import S3Server, start_s3_server, weed_binary

PG_URL = os.environ.get("KEEL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _postgres_problem() -> str | None:
    """Why PostgreSQL cannot be used, or None when it answers."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        with psycopg.connect(PG_URL, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL at {PG_URL} is not reachable: {exc}".splitlines()[0]


POSTGRES_PROBLEM = _postgres_problem()


def _sqlalchemy_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped after the test."""
    if POSTGRES_PROBLEM:
        if os.environ.get("CI"):
            pytest.fail(f"CI must provide PostgreSQL: {POSTGRES_PROBLEM}")
        pytest.skip(POSTGRES_PROBLEM)
    schema = f"keel_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(_sqlalchemy_url(PG_URL))
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'keel.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """The same test on SQLite and on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(name)
    return url


# Registration compiles LightGBM models where the ``compiled`` extra is installed (several seconds
# a model); the suite registers natively unless a test switches it on (tests/*/test_compiled*.py).
# The helpers that run ``keel`` in a subprocess (tests/cli/conftest.py, tests/api/live.py) pass
# the same switch, since they drop the other KEEL_ variables.
os.environ.setdefault("KEEL_COMPILED", "off")


# --- the S3-compatible object store (SeaweedFS; tests/objectstore.py) --------------------------


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """One SeaweedFS per test process, started on first use and stopped at the end."""
    if weed_binary() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have the SeaweedFS binary (the dev extra installs it)")
        pytest.skip("the SeaweedFS binary 'weed' is not installed")
    server = start_s3_server(tmp_path_factory.mktemp("seaweedfs"))
    yield server
    server.stop()


@pytest.fixture
def s3_url(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh prefix in the test bucket, with the server's credentials in the environment."""
    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    return s3_server.url(f"t-{uuid.uuid4().hex[:12]}")


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on local disk and on the S3 server."""
    if request.param == "local":
        return str(tmp_path / "store")
    url: str = request.getfixturevalue("s3_url")
    return url
