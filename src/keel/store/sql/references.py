"""Every content digest the metadata database mentions, for garbage collection of the store."""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from keel.store.sql.tables import metadata

DIGEST_TEXT = re.compile(r"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")
"""A sha256 hex digest inside any text: an id column, a JSON list of parts, an audit detail."""


def mentioned_digests(conn: Connection) -> set[str]:
    """Every sha256 hex digest in any text column of any Keel table.

    Deliberately broad: a blob is kept if any record names it anywhere (versions, batches and
    their quarantined parts, runs, models, audit details), so a record type added later cannot
    lose its blobs to a collector that does not know it.
    """
    found: set[str] = set()
    for table in metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, sa.String | sa.Text)]
        if not columns:
            continue
        for row in conn.execute(sa.select(*columns)):
            for value in row:
                if isinstance(value, str) and len(value) >= 64:
                    found.update(DIGEST_TEXT.findall(value))
    return found
