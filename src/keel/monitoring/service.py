"""Monitor runs and incidents: record every chunk's results, open or extend incidents, notify.

A run's chunk results, its incidents and their audit events commit in one transaction; the
webhook is called after the commit (never while holding the database), and its outcome is added
to the incident's timeline in a second, small transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from keel.audit.ports import AuditLog
from keel.identity.actor import Actor, require_role
from keel.identity.roles import Role
from keel.monitoring.incidents import (
    Breach,
    Incident,
    IncidentEvent,
    IncidentStatus,
    by_category,
    opened,
)
from keel.monitoring.monitor import Chunk, ChunkChecker, breaches_json
from keel.monitoring.ports import ChunkResult, IncidentRepo, MonitorRepo, MonitorRun


class MonitorUnit(Protocol):
    @property
    def monitors(self) -> MonitorRepo: ...

    @property
    def incidents(self) -> IncidentRepo: ...

    @property
    def audit(self) -> AuditLog: ...


UnitFactory = Callable[[], AbstractContextManager[MonitorUnit]]


class Delivery(Protocol):
    @property
    def delivered(self) -> bool: ...

    def to_dict(self) -> dict[str, Any]: ...


class Notifier(Protocol):
    @property
    def shown(self) -> str:
        """Where notifications go, safe to record (no credentials)."""
        ...

    def send(self, payload: dict[str, Any]) -> Delivery: ...


@dataclass(frozen=True)
class RunOutcome:
    run: MonitorRun
    chunks: list[ChunkResult]
    opened: list[Incident] = field(default_factory=list)
    extended: list[Incident] = field(default_factory=list)
    notified: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.run.to_dict(),
            "chunks": [c.to_dict() for c in self.chunks],
            "incidents_opened": [i.to_dict() for i in self.opened],
            "incidents_extended": [i.to_dict() for i in self.extended],
            "notifications": self.notified,
        }


@dataclass
class MonitorService:
    project: str
    write: UnitFactory
    read: UnitFactory
    clock: Callable[[], datetime]
    notifier: Notifier | None = None

    def watermark(self) -> datetime | None:
        """The newest prediction time a finished run covered."""
        with self.read() as unit:
            last = unit.monitors.last(self.project)
        return last.watermark if last else None

    def run(
        self,
        chunks: Iterable[Chunk],
        checker: ChunkChecker,
        actor: Actor,
        *,
        previous: datetime | None,
    ) -> RunOutcome:
        """Check every chunk, store the results, and open or extend incidents. ``chunks`` may
        be read lazily: each chunk's rows are let go once it is checked."""
        require_role(actor, Role.OPERATOR, action="running the monitor")
        started = self.clock()
        checked = [(_Checked.of(chunk), *checker.check(chunk)) for chunk in chunks]
        breaches = [b for _, _, found in checked for b in found]
        model = checker.reference.model
        with self.write() as unit:
            seq = unit.monitors.next_seq(self.project)
            results = [
                ChunkResult(
                    self.project,
                    seq,
                    chunk.label,
                    chunk.start,
                    chunk.end,
                    chunk.rows,
                    model,
                    found,
                    breaches_json(chunk_breaches),
                )
                for chunk, found, chunk_breaches in checked
            ]
            run = MonitorRun(
                project=self.project,
                seq=seq,
                started_at=started,
                actor=actor.name,
                watermark=_latest([chunk for chunk, _, _ in checked], previous),
                rows=sum(chunk.rows for chunk, _, _ in checked),
                chunks=len(checked),
                finished_at=self.clock(),
            )
            unit.monitors.add(run)
            for result in results:
                unit.monitors.add_chunk(result)
            opened_now, extended = self._incidents(unit, breaches, actor.name)
            unit.audit.append(
                actor=actor.name,
                action="monitor.run",
                subject=f"monitor:{self.project}",
                details={
                    "run": seq,
                    "chunks": len(checked),
                    "rows": run.rows,
                    "breaches": len(breaches),
                    "opened": [i.seq for i in opened_now],
                    "extended": [i.seq for i in extended],
                },
            )
        notified = [self._notify(i, "opened") for i in opened_now]
        return RunOutcome(run, results, opened_now, extended, [n for n in notified if n])

    def _incidents(
        self, unit: MonitorUnit, breaches: Sequence[Breach], actor: str
    ) -> tuple[list[Incident], list[Incident]]:
        now = self.clock()
        opened_now: list[Incident] = []
        extended: list[Incident] = []
        for category, found in by_category(breaches).items():
            current = unit.incidents.open_for(self.project, category)
            if current is None:
                incident = opened(self.project, unit.incidents.next_seq(self.project), found, now)
                unit.incidents.add(incident)
                kind = "opened"
                opened_now.append(incident)
            else:
                incident = current.appended(found, now)
                unit.incidents.update(incident)
                kind = "breach"
                extended.append(incident)
            unit.incidents.add_event(
                self.project,
                IncidentEvent(
                    incident.seq, now, kind, actor, {"breaches": [b.to_dict() for b in found]}
                ),
            )
            unit.audit.append(
                actor=actor,
                action=f"incident.{kind}",
                subject=f"incident:{self.project}#{incident.seq}",
                details={
                    "category": category,
                    "severity": incident.severity.value,
                    "checks": sorted({b.check for b in found}),
                },
            )
        return opened_now, extended

    def _notify(self, incident: Incident, what: str) -> dict[str, Any] | None:
        if self.notifier is None:
            return None
        payload = {"project": self.project, "event": what, "incident": incident.to_dict()}
        delivery = self.notifier.send(payload)
        body = {"incident": incident.seq, "to": self.notifier.shown, **delivery.to_dict()}
        with self.write() as unit:
            unit.incidents.add_event(
                self.project,
                IncidentEvent(
                    incident.seq,
                    self.clock(),
                    "notified" if delivery.delivered else "notify_failed",
                    "keel-monitor",
                    body,
                ),
            )
        return body

    # --- people -----------------------------------------------------------------------------

    def incidents(self, status: IncidentStatus | None = None) -> list[Incident]:
        with self.read() as unit:
            return unit.incidents.all(self.project, status=status)

    def incident(self, seq: int) -> tuple[Incident, list[IncidentEvent]]:
        with self.read() as unit:
            return unit.incidents.get(self.project, seq), unit.incidents.events(self.project, seq)

    def ack(self, seq: int, actor: Actor, note: str | None = None) -> Incident:
        require_role(actor, Role.OPERATOR, action="acknowledging an incident")
        return self._change(seq, actor, "ack", note, lambda i, now: i.acked(actor.name, note, now))

    def resolve(self, seq: int, actor: Actor, note: str) -> Incident:
        require_role(actor, Role.OPERATOR, action="resolving an incident")
        return self._change(
            seq, actor, "resolve", note, lambda i, now: i.resolved(actor.name, note, now)
        )

    def _change(
        self,
        seq: int,
        actor: Actor,
        kind: str,
        note: str | None,
        change: Callable[[Incident, datetime], Incident],
    ) -> Incident:
        with self.write() as unit:
            now = self.clock()
            incident = change(unit.incidents.get(self.project, seq), now)
            unit.incidents.update(incident)
            unit.incidents.add_event(
                self.project, IncidentEvent(seq, now, kind, actor.name, {"note": note})
            )
            unit.audit.append(
                actor=actor.name,
                action=f"incident.{kind}",
                subject=f"incident:{self.project}#{seq}",
                details={"note": note},
            )
        return incident

    def chunks(self, *, limit: int = 1000) -> list[ChunkResult]:
        with self.read() as unit:
            return unit.monitors.chunks(self.project, limit=limit)


@dataclass(frozen=True)
class _Checked:
    """What a run keeps of a chunk once checked: not its rows."""

    label: str
    start: datetime
    end: datetime
    rows: int
    newest: datetime | None

    @classmethod
    def of(cls, chunk: Chunk) -> _Checked:
        newest = chunk.frame["time"].max()
        return cls(
            chunk.label,
            chunk.start,
            chunk.end,
            chunk.frame.height,
            newest if isinstance(newest, datetime) else None,
        )


def _latest(chunks: Sequence[_Checked], previous: datetime | None) -> datetime | None:
    """The newest prediction time covered: the run's watermark."""
    found = [c.newest for c in chunks if c.newest is not None]
    return max(found) if found else previous
