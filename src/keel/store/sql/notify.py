"""Release change announcements on PostgreSQL: ``NOTIFY`` on write, ``LISTEN`` in each server.

A notification is delivered when the writing transaction commits, never before, so a listener
that wakes always finds the new release. SQLite has no equivalent; its servers poll.

A listener whose connection drops reconnects on its next wait and reports a change (one may
have been missed meanwhile), so the server looks at the release at once instead of waiting for
its next poll.
"""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

if TYPE_CHECKING:
    import psycopg

CHANNEL = "keel_release"
SLICE_SECONDS = 0.25
"""A wait blocks at most this long at a time, so that ``stop`` ends it promptly."""


def announce_release(conn: Connection, project: str) -> None:
    """Queue a notification for the end of this transaction (PostgreSQL only)."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text("SELECT pg_notify(:channel, :project)"),
            {"channel": CHANNEL, "project": project},
        )


class ReleaseListener:
    """A dedicated connection listening on the release channel, used by one thread."""

    def __init__(self, url: str) -> None:
        plain = sa.make_url(url).set(drivername="postgresql")
        self._dsn = plain.render_as_string(hide_password=False)
        self._stopped = threading.Event()
        self._conn = self._connect()

    def _connect(self) -> psycopg.Connection[Any]:
        import psycopg  # noqa: PLC0415 - only PostgreSQL deployments have it

        name = f"keel-release-{os.getpid()}"  # how an operator finds it in pg_stat_activity
        conn = psycopg.connect(self._dsn, autocommit=True, application_name=name)
        conn.execute(f"LISTEN {CHANNEL}")
        return conn

    def wait(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds; True when a release change was announced (or may
        have been, across a reconnection). Raises if the database cannot be reached."""
        import psycopg  # noqa: PLC0415 - only PostgreSQL deployments have it

        deadline = time.monotonic() + timeout
        while not self._stopped.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                for _ in self._conn.notifies(timeout=min(left, SLICE_SECONDS), stop_after=1):
                    return True
            except psycopg.OperationalError:
                self._conn.close()
                self._conn = self._connect()
                return True
        return False

    def stop(self) -> None:
        """End any wait within ``SLICE_SECONDS`` (from another thread)."""
        self._stopped.set()

    def close(self) -> None:
        self.stop()
        self._conn.close()
