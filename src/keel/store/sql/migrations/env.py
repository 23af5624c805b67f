"""Alembic environment: runs against the engine Keel hands over, never a URL from a file."""

from __future__ import annotations

from alembic import context

from keel.store.sql.tables import metadata

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
