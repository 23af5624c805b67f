"""Monitoring's repositories on SQL: monitor runs, chunk results, incidents, incident events."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from keel.errors import NotFound
from keel.monitoring.incidents import Incident, IncidentEvent, IncidentStatus, Severity
from keel.monitoring.ports import ChunkResult, MonitorRun
from keel.store.sql.sequences import next_number
from keel.store.sql.tables import incident_events, incidents, monitor_chunks, monitor_runs
from keel.store.sql.timestamps import aware


class SqlMonitorRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def next_seq(self, project: str) -> int:
        return next_number(self.conn, monitor_runs.c.seq, project)

    def last(self, project: str) -> MonitorRun | None:
        query = (
            sa.select(monitor_runs)
            .where(monitor_runs.c.project == project, monitor_runs.c.finished_at.is_not(None))
            .order_by(monitor_runs.c.seq.desc())
            .limit(1)
        )
        row = self.conn.execute(query).mappings().first()
        return _run(row) if row is not None else None

    def add(self, run: MonitorRun) -> None:
        self.conn.execute(
            monitor_runs.insert().values(
                project=run.project,
                seq=run.seq,
                started_at=run.started_at,
                finished_at=run.finished_at,
                watermark=run.watermark,
                rows=run.rows,
                chunks=run.chunks,
                actor=run.actor,
            )
        )

    def add_chunk(self, chunk: ChunkResult) -> None:
        self.conn.execute(
            monitor_chunks.insert().values(
                project=chunk.project,
                run=chunk.run,
                label=chunk.label,
                start=chunk.start,
                end=chunk.end,
                rows=chunk.rows,
                model=chunk.model,
                results=json.dumps(chunk.results),
                breaches=json.dumps(chunk.breaches),
            )
        )

    def chunks(self, project: str, *, limit: int = 1000) -> list[ChunkResult]:
        query = (
            sa.select(monitor_chunks)
            .where(monitor_chunks.c.project == project)
            .order_by(monitor_chunks.c.start.desc(), monitor_chunks.c.run.desc())
            .limit(limit)
        )
        rows = [_chunk(row) for row in self.conn.execute(query).mappings()]
        return list(reversed(rows))


class SqlIncidentRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def next_seq(self, project: str) -> int:
        return next_number(self.conn, incidents.c.seq, project)

    def add(self, incident: Incident) -> None:
        self.conn.execute(incidents.insert().values(**_incident_row(incident)))

    def update(self, incident: Incident) -> None:
        self.conn.execute(
            incidents.update()
            .where(incidents.c.project == incident.project, incidents.c.seq == incident.seq)
            .values(**_incident_row(incident))
        )

    def get(self, project: str, seq: int) -> Incident:
        query = sa.select(incidents).where(incidents.c.project == project, incidents.c.seq == seq)
        row = self.conn.execute(query).mappings().first()
        if row is None:
            raise NotFound("incident", f"#{seq}", hint="'keel incidents list' shows them")
        return _incident(row)

    def open_for(self, project: str, category: str) -> Incident | None:
        query = (
            sa.select(incidents)
            .where(
                incidents.c.project == project,
                incidents.c.category == category,
                incidents.c.status != IncidentStatus.RESOLVED.value,
            )
            .order_by(incidents.c.seq.desc())
            .limit(1)
        )
        row = self.conn.execute(query).mappings().first()
        return _incident(row) if row is not None else None

    def all(self, project: str, *, status: IncidentStatus | None = None) -> list[Incident]:
        query = sa.select(incidents).where(incidents.c.project == project)
        if status is not None:
            query = query.where(incidents.c.status == status.value)
        query = query.order_by(incidents.c.seq.desc())
        return [_incident(row) for row in self.conn.execute(query).mappings()]

    def add_event(self, project: str, event: IncidentEvent) -> None:
        self.conn.execute(
            incident_events.insert().values(
                project=project,
                incident=event.incident,
                at=event.at,
                kind=event.kind,
                actor=event.actor,
                details=json.dumps(event.details, default=str),
            )
        )

    def events(self, project: str, seq: int) -> list[IncidentEvent]:
        query = (
            sa.select(incident_events)
            .where(incident_events.c.project == project, incident_events.c.incident == seq)
            .order_by(incident_events.c.id)
        )
        return [
            IncidentEvent(
                int(row["incident"]),
                aware(row["at"]),
                row["kind"],
                row["actor"],
                json.loads(row["details"]),
            )
            for row in self.conn.execute(query).mappings()
        ]


def _run(row: RowMapping) -> MonitorRun:
    return MonitorRun(
        project=row["project"],
        seq=int(row["seq"]),
        started_at=aware(row["started_at"]),
        actor=row["actor"],
        watermark=aware(row["watermark"]) if row["watermark"] else None,
        rows=int(row["rows"]),
        chunks=int(row["chunks"]),
        finished_at=aware(row["finished_at"]) if row["finished_at"] else None,
    )


def _chunk(row: RowMapping) -> ChunkResult:
    return ChunkResult(
        project=row["project"],
        run=int(row["run"]),
        label=row["label"],
        start=aware(row["start"]),
        end=aware(row["end"]),
        rows=int(row["rows"]),
        model=row["model"],
        results=json.loads(row["results"]),
        breaches=json.loads(row["breaches"]),
    )


def _incident_row(incident: Incident) -> dict[str, Any]:
    return {
        "project": incident.project,
        "seq": incident.seq,
        "category": incident.category,
        "severity": incident.severity.value,
        "status": incident.status.value,
        "title": incident.title,
        "breaches": incident.breaches,
        "note": incident.note,
        "acked_by": incident.acked_by,
        "resolved_by": incident.resolved_by,
        "opened_at": incident.opened_at,
        "updated_at": incident.updated_at,
    }


def _incident(row: RowMapping) -> Incident:
    return Incident(
        project=row["project"],
        seq=int(row["seq"]),
        category=row["category"],
        severity=Severity(row["severity"]),
        status=IncidentStatus(row["status"]),
        title=row["title"],
        opened_at=aware(row["opened_at"]),
        updated_at=aware(row["updated_at"]),
        breaches=int(row["breaches"]),
        note=row["note"],
        acked_by=row["acked_by"],
        resolved_by=row["resolved_by"],
    )
