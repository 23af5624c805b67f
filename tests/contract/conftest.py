"""Migrated databases and loan projects for the store conformance suites."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from keel.app.scaffold import scaffold
from keel.config import Settings, load_project
from keel.data.ingest import BatchInput, Chunk
from keel.simulate import simulate_frame
from keel.store.sql import Database
from keel.store.sql.schema import upgrade
from keel.wiring import Keel, open_keel


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """A migrated database on each backend."""
    database = Database(database_url)
    upgrade(database)
    yield database
    database.dispose()


def open_project(folder: Path, database_url: str) -> Keel:
    """The project in ``folder`` (its keel.yaml as it is now) on ``database_url``."""
    project = load_project(folder / "keel.yaml")
    settings = Settings.resolve(folder, project, environ={}, database_url=database_url)
    return open_keel(settings, project=project, check=False)


def loan_project(folder: Path, database_url: str) -> Keel:
    """The loan example scaffolded in ``folder``, opened on a migrated database."""
    scaffold(folder, "loan")
    opened = open_project(folder, database_url)
    upgrade(opened.db)
    return opened


def ingest_simulated(keel: Keel, rows: int, start: datetime, end: datetime) -> None:
    """``rows`` simulated, labelled applications (seed 5) ingested as the next version."""
    frame = simulate_frame(rows=rows, seed=5, start=start, end=end)
    request = BatchInput(keel.dataset, "sim", "sim", None, False, "tester")
    keel.ingestor().ingest(request, [Chunk(frame, False)])
