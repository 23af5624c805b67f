"""Migrations: created on demand, checked before use, and matching the table definitions."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from keel.errors import StorageUnavailable
from keel.store.sql import Database
from keel.store.sql.schema import (
    MIGRATIONS,
    check_schema,
    current_revision,
    head_revision,
    shipped_revisions,
    upgrade,
)
from keel.store.sql.tables import metadata


def test_the_migration_file_names_give_alembics_revisions() -> None:
    """Opening a project reads the shipped revisions from the file names (NNNN_name.py declares
    revision NNNN, each revising the one before); Alembic, loading the scripts, must agree."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    scripts = ScriptDirectory.from_config(config)
    chain = [rev.revision for rev in reversed(list(scripts.walk_revisions()))]
    assert chain == shipped_revisions()
    assert scripts.get_current_head() == head_revision()


def test_opening_checks_the_revision_without_alembic() -> None:
    import subprocess
    import sys

    probe = "import sys, keel.wiring, keel.store.sql.schema; print('alembic' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_an_unmigrated_database_is_refused_with_the_fix(database_url: str) -> None:
    db = Database(database_url)
    with pytest.raises(StorageUnavailable, match=r"no Keel schema") as info:
        check_schema(db)
    assert info.value.hint and "keel db upgrade" in info.value.hint
    db.dispose()


def test_upgrade_is_idempotent(database_url: str) -> None:
    db = Database(database_url)
    assert upgrade(db) == (None, head_revision())
    assert upgrade(db) == (head_revision(), head_revision())
    assert check_schema(db) == head_revision()
    db.dispose()


def test_a_newer_schema_is_refused(db: Database) -> None:
    with db.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(StorageUnavailable, match="newer Keel"):
        check_schema(db)
    with pytest.raises(StorageUnavailable, match="newer Keel"):
        upgrade(db)
    assert current_revision(db) == "9999"


def test_migrations_match_the_table_definitions(db: Database) -> None:
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
