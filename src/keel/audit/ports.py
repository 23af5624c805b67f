"""The persistence port of the audit trail."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from keel.audit.events import AuditEvent, ChainHead


class AuditLog(Protocol):
    """An append-only, hash-chained event log.

    Implementations serialize appends (two writers never read the same head), write the event and
    the new head in the caller's transaction, and never update or delete events.
    """

    def append(
        self, *, actor: str, action: str, subject: str, details: Mapping[str, Any] | None = None
    ) -> AuditEvent:
        """Add an event after the current head and return it with its sequence number and hash."""
        ...

    def recent(
        self, *, limit: int = 50, action: str | None = None, subject: str | None = None
    ) -> list[AuditEvent]:
        """Events newest first, optionally filtered by exact action or subject."""
        ...

    def scan(self) -> Iterator[AuditEvent]:
        """Every event in sequence order, streamed, for verification."""
        ...

    def head(self) -> ChainHead:
        """The stored head: sequence number and hash of the last event (0 and genesis if none)."""
        ...
