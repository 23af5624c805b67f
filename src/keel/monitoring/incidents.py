"""Incidents: what a breach opens, what repeats append to, what people ack and resolve.

One incident is open per project and category (drift, quality, performance, slo) at a time: a
breach of a category with an open (or acknowledged) incident is appended to it as evidence, so a
drift that lasts a week is one incident with seven entries, not seven pages. Severity only rises.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from keel.errors import Conflict, InvalidInput


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


class IncidentStatus(StrEnum):
    OPEN = "open"
    ACKED = "acked"
    RESOLVED = "resolved"


CATEGORY_SEVERITY = {
    "performance": Severity.HIGH,
    "slo": Severity.HIGH,
    "quality": Severity.MEDIUM,
    "drift": Severity.MEDIUM,
}


@dataclass(frozen=True)
class Breach:
    """One check over its limit on one chunk: the evidence an incident carries."""

    category: str
    check: str  # e.g. "drift income psi"
    value: float | None
    threshold: float | None
    chunk: str
    message: str

    @property
    def severity(self) -> Severity:
        return CATEGORY_SEVERITY.get(self.category, Severity.MEDIUM)

    def to_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "check": self.check,
            "value": self.value,
            "threshold": self.threshold,
            "chunk": self.chunk,
            "message": self.message,
        }


@dataclass(frozen=True)
class Incident:
    project: str
    seq: int
    category: str
    severity: Severity
    status: IncidentStatus
    title: str
    opened_at: datetime
    updated_at: datetime
    breaches: int = 0
    note: str | None = None
    acked_by: str | None = None
    resolved_by: str | None = None

    @property
    def id(self) -> int:
        return self.seq

    def to_dict(self) -> dict[str, Any]:
        return {
            "incident": self.seq,
            "category": self.category,
            "severity": self.severity.value,
            "status": self.status.value,
            "title": self.title,
            "opened_at": self.opened_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "breaches": self.breaches,
            "note": self.note,
            "acked_by": self.acked_by,
            "resolved_by": self.resolved_by,
        }

    def appended(self, breaches: Sequence[Breach], at: datetime) -> Incident:
        worst = max((b.severity for b in breaches), key=lambda s: s.rank, default=self.severity)
        severity = worst if worst.rank > self.severity.rank else self.severity
        return replace(
            self, severity=severity, updated_at=at, breaches=self.breaches + len(breaches)
        )

    def acked(self, actor: str, note: str | None, at: datetime) -> Incident:
        if self.status is not IncidentStatus.OPEN:
            raise Conflict(
                f"incident #{self.seq} is {self.status.value}; only an open one is acked"
            )
        return replace(
            self, status=IncidentStatus.ACKED, acked_by=actor, note=note or self.note, updated_at=at
        )

    def resolved(self, actor: str, note: str, at: datetime) -> Incident:
        if self.status is IncidentStatus.RESOLVED:
            raise Conflict(f"incident #{self.seq} is already resolved")
        if not note.strip():
            raise InvalidInput(
                "resolving an incident needs a note saying what was done", path="note"
            )
        return replace(
            self,
            status=IncidentStatus.RESOLVED,
            resolved_by=actor,
            note=note.strip(),
            updated_at=at,
        )


def opened(project: str, seq: int, breaches: Sequence[Breach], at: datetime) -> Incident:
    """A new incident for breaches of one category."""
    category = breaches[0].category
    checks = sorted({b.check for b in breaches})
    shown = ", ".join(checks[:4]) + (f" and {len(checks) - 4} more" if len(checks) > 4 else "")
    worst = max((b.severity for b in breaches), key=lambda s: s.rank)
    return Incident(
        project=project,
        seq=seq,
        category=category,
        severity=worst,
        status=IncidentStatus.OPEN,
        title=f"{category}: {shown}",
        opened_at=at,
        updated_at=at,
        breaches=len(breaches),
    )


@dataclass(frozen=True)
class IncidentEvent:
    """One entry of an incident's timeline."""

    incident: int
    at: datetime
    kind: str  # opened | breach | ack | resolve | notified | notify_failed
    actor: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "incident": self.incident,
            "at": self.at.isoformat(),
            "kind": self.kind,
            "actor": self.actor,
            "details": self.details,
        }


def by_category(breaches: Sequence[Breach]) -> dict[str, list[Breach]]:
    grouped: dict[str, list[Breach]] = {}
    for breach in breaches:
        grouped.setdefault(breach.category, []).append(breach)
    return grouped
