"""Persistence ports of monitoring: runs and their chunk results, incidents and their timelines."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from keel.monitoring.incidents import Incident, IncidentEvent, IncidentStatus


@dataclass(frozen=True)
class MonitorRun:
    """One ``keel monitor run``: which predictions it covered (up to ``watermark``)."""

    project: str
    seq: int
    started_at: datetime
    actor: str
    watermark: datetime | None = None
    rows: int = 0
    chunks: int = 0
    finished_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.seq,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "watermark": self.watermark.isoformat() if self.watermark else None,
            "rows": self.rows,
            "chunks": self.chunks,
            "actor": self.actor,
        }


@dataclass(frozen=True)
class ChunkResult:
    """Every check on one chunk of the prediction log, and the breaches among them."""

    project: str
    run: int
    label: str
    start: datetime
    end: datetime
    rows: int
    model: str | None
    results: dict[str, Any]
    breaches: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "chunk": self.label,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "rows": self.rows,
            "model": self.model,
            **self.results,
            "breaches": self.breaches,
        }


class MonitorRepo(Protocol):
    def next_seq(self, project: str) -> int: ...

    def last(self, project: str) -> MonitorRun | None:
        """The newest finished run."""
        ...

    def add(self, run: MonitorRun) -> None: ...

    def add_chunk(self, chunk: ChunkResult) -> None: ...

    def chunks(self, project: str, *, limit: int = 1000) -> list[ChunkResult]:
        """Chunk results oldest first (the newest ``limit``)."""
        ...


class IncidentRepo(Protocol):
    def next_seq(self, project: str) -> int: ...

    def add(self, incident: Incident) -> None: ...

    def update(self, incident: Incident) -> None: ...

    def get(self, project: str, seq: int) -> Incident:
        """Raises ``NotFound``."""
        ...

    def open_for(self, project: str, category: str) -> Incident | None:
        """The open or acknowledged incident of this category, if any."""
        ...

    def all(self, project: str, *, status: IncidentStatus | None = None) -> list[Incident]:
        """Newest first."""
        ...

    def add_event(self, project: str, event: IncidentEvent) -> None: ...

    def events(self, project: str, seq: int) -> list[IncidentEvent]:
        """Oldest first."""
        ...
