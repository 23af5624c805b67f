"""Release change announcements on PostgreSQL: ``NOTIFY`` on write, ``LISTEN`` in each server.

A notification is delivered when the writing transaction commits, never before, so a listener
that wakes always finds the new release. SQLite has no equivalent; its servers poll.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

CHANNEL = "keel_release"


def announce_release(conn: Connection, project: str) -> None:
    """Queue a notification for the end of this transaction (PostgreSQL only)."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text("SELECT pg_notify(:channel, :project)"),
            {"channel": CHANNEL, "project": project},
        )


class ReleaseListener:
    """A dedicated connection listening on the release channel."""

    def __init__(self, url: str) -> None:
        import psycopg  # noqa: PLC0415 - only PostgreSQL deployments have it

        plain = sa.make_url(url).set(drivername="postgresql")
        self._conn = psycopg.connect(plain.render_as_string(hide_password=False), autocommit=True)
        self._conn.execute(f"LISTEN {CHANNEL}")

    def wait(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds; True when a release change was announced."""
        for _ in self._conn.notifies(timeout=timeout, stop_after=1):
            return True
        return False

    def close(self) -> None:
        self._conn.close()
