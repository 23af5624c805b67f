"""The one composition root: settings in, connected backends and services out."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from keel.config import ProjectFile, Settings, load_project
from keel.identity.actor import Actor, require_role
from keel.identity.roles import Role
from keel.identity.service import resolve_actor
from keel.store.blob import ContentAddressedStore, open_blob_store
from keel.store.sql import Database, SqlUnit
from keel.store.sql.schema import check_schema


@dataclass
class Keel:
    """A project opened for work: its file, settings, database and blob store."""

    settings: Settings
    project: ProjectFile
    db: Database
    blobs: ContentAddressedStore

    @contextmanager
    def unit(self) -> Iterator[SqlUnit]:
        """One write transaction; everything done in it (and its audit events) commits together."""
        with self.db.write() as conn:
            yield SqlUnit(conn)

    @contextmanager
    def reader(self) -> Iterator[SqlUnit]:
        """A read-only view; nothing written through it is meant to commit."""
        with self.db.read() as conn:
            yield SqlUnit(conn)

    def actor(self) -> Actor:
        """Who is acting, from ``KEEL_API_KEY`` or the local-admin rule."""
        with self.reader() as unit:
            return resolve_actor(unit.users, self.settings.api_key, embedded=self.db.is_embedded)

    def acting(self, needed: Role, *, action: str) -> Actor:
        """The actor, after checking that its role allows ``action``."""
        actor = self.actor()
        require_role(actor, needed, action=action)
        return actor

    def close(self) -> None:
        self.db.dispose()


def open_keel(
    settings: Settings, *, project: ProjectFile | None = None, check: bool = True
) -> Keel:
    """Connect to a project's backends; with ``check``, refuse a database at the wrong schema."""
    project = project or load_project(settings.project_file)
    db = Database(settings.database_url)
    try:
        if check:
            check_schema(db)
        blobs = open_blob_store(settings.store_url)
    except BaseException:
        db.dispose()
        raise
    return Keel(settings=settings, project=project, db=db, blobs=blobs)
