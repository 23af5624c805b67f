"""Schema migrations with Alembic, and the check that refuses a database Keel cannot trust.

Every command that opens a project checks the schema revision. That check reads the
``alembic_version`` table with one query and knows the shipped revisions from the migration
files' names (``NNNN_name.py`` declares revision ``"NNNN"``, a convention a test holds), so only
``keel db upgrade`` imports Alembic and loads the migration scripts (about 0.15 s).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from keel.errors import StorageUnavailable
from keel.store.sql.database import Database, translate_errors

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
_NAMED = re.compile(r"^(\d{4})_\w+\.py$")


def alembic_config(db: Database) -> Config:
    config = _script_config()
    config.attributes["engine"] = db.engine
    return config


def shipped_revisions() -> list[str]:
    """The revisions this version of Keel ships, oldest first (from the migration files)."""
    found = (_NAMED.match(p.name) for p in (MIGRATIONS / "versions").iterdir())
    return sorted(match.group(1) for match in found if match)


def head_revision() -> str:
    """The newest migration this version of Keel ships."""
    shipped = shipped_revisions()
    if not shipped:
        raise RuntimeError("Keel ships no migrations")  # a packaging defect, not a user error
    return shipped[-1]


def _script_config() -> Config:
    from alembic.config import Config  # noqa: PLC0415 - see the module docstring

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def current_revision(db: Database) -> str | None:
    """The revision the database is at, or None if it was never migrated."""
    with translate_errors(db.file), db.engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(db: Database) -> tuple[str | None, str]:
    """Migrate to the newest revision; returns (before, after). Safe to run repeatedly."""
    before = current_revision(db)
    _refuse_newer(before)
    from alembic import command  # noqa: PLC0415 - see the module docstring

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
    if current not in shipped_revisions():
        raise StorageUnavailable(
            f"the database schema is at revision {current}, which this Keel does not know;"
            " it was migrated by a newer Keel",
            hint="upgrade Keel (pip install -U keel) before using this database",
        )
