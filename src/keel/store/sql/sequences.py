"""Per-project sequence numbers: one past the highest taken.

Two writers can read the same maximum; the primary or unique key on (project, number) then
refuses the second insert, so a number is never given twice.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def next_number(conn: Connection, number: sa.Column[Any], project: str) -> int:
    """One past the highest ``number`` of ``project`` in ``number``'s table (1 for the first)."""
    table = number.table
    query = sa.select(sa.func.max(number)).where(table.c.project == project)
    return int(conn.execute(query).scalar() or 0) + 1
