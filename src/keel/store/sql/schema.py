"""Schema migrations with Alembic, and the check that refuses a database Keel cannot trust."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from keel.errors import StorageUnavailable
from keel.store.sql.database import Database, translate_errors

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(db: Database) -> Config:
    config = _script_config()
    config.attributes["engine"] = db.engine
    return config


def head_revision() -> str:
    """The newest migration this version of Keel ships."""
    head = ScriptDirectory.from_config(_script_config()).get_current_head()
    if head is None:
        raise RuntimeError("Keel ships no migrations")  # a packaging defect, not a user error
    return head


def _script_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def current_revision(db: Database) -> str | None:
    """The revision the database is at, or None if it was never migrated."""
    with translate_errors(db.file), db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(db: Database) -> tuple[str | None, str]:
    """Migrate to the newest revision; returns (before, after). Safe to run repeatedly."""
    before = current_revision(db)
    _refuse_newer(before)
    with translate_errors(db.file):
        command.upgrade(alembic_config(db), "head")
    return before, head_revision()


def check_schema(db: Database) -> str:
    """Raise unless the database is exactly at this Keel's schema revision."""
    current = current_revision(db)
    if current is None:
        raise StorageUnavailable(
            f"the database at {db.display_url} has no Keel schema",
            hint="run 'keel db upgrade' to create it",
        )
    _refuse_newer(current)
    if current != head_revision():
        raise StorageUnavailable(
            f"the database schema is at revision {current}; this Keel expects {head_revision()}",
            hint="run 'keel db upgrade' to migrate it",
        )
    return current


def _refuse_newer(current: str | None) -> None:
    if current is None:
        return
    known = {rev.revision for rev in ScriptDirectory.from_config(_script_config()).walk_revisions()}
    if current not in known:
        raise StorageUnavailable(
            f"the database schema is at revision {current}, which this Keel does not know;"
            " it was migrated by a newer Keel",
            hint="upgrade Keel (pip install -U keel) before using this database",
        )
