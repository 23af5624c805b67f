"""Timestamps read back from the database are always timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def aware(value: datetime) -> datetime:
    """SQLite returns naive datetimes; everything Keel stores is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
