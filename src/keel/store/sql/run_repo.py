"""``RunRepo`` and ``BenchmarkRepo`` on SQL."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from keel.errors import Conflict, NotFound
from keel.store.sql.sequences import next_number
from keel.store.sql.tables import benchmark_sets, runs
from keel.store.sql.timestamps import aware
from keel.training.runs import BenchmarkSet, Environment, Run, RunStatus


class SqlRunRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def next_id(self, project: str) -> str:
        return f"r-{next_number(self.conn, runs.c.seq, project):04d}"

    def add(self, run: Run) -> None:
        if self.conn.execute(sa.select(runs.c.id).where(runs.c.id == run.id)).first():
            raise Conflict(f"run {run.id} already exists")
        self.conn.execute(runs.insert().values(seq=_seq(run.id), **_row(run)))

    def finish(self, run: Run) -> None:
        done = self.conn.execute(runs.update().where(runs.c.id == run.id).values(**_row(run)))
        if done.rowcount != 1:
            raise NotFound("run", run.id)

    def get(self, run_id: str) -> Run:
        row = self.conn.execute(sa.select(runs).where(runs.c.id == run_id)).mappings().first()
        if row is None:
            raise NotFound("run", run_id, hint="'keel runs list' shows the runs")
        return _run(row)

    def list(self, project: str, *, limit: int = 50) -> list[Run]:
        query = (
            sa.select(runs)
            .where(runs.c.project == project)
            .order_by(runs.c.seq.desc())
            .limit(limit)
        )
        return [_run(row) for row in self.conn.execute(query).mappings()]


class SqlBenchmarkRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, project: str, name: str) -> BenchmarkSet | None:
        query = sa.select(benchmark_sets).where(
            benchmark_sets.c.project == project, benchmark_sets.c.name == name
        )
        row = self.conn.execute(query).mappings().first()
        return _frozen(row) if row is not None else None

    def add(self, frozen: BenchmarkSet) -> None:
        if self.get(frozen.project, frozen.name) is not None:
            raise Conflict(f"benchmark set '{frozen.name}' is already frozen")
        self.conn.execute(
            benchmark_sets.insert().values(
                project=frozen.project,
                name=frozen.name,
                definition=json.dumps(frozen.definition, sort_keys=True),
                digest=frozen.digest,
                rows=frozen.rows,
                data_version=frozen.data_version,
                created_at=frozen.created_at,
            )
        )

    def list(self, project: str) -> list[BenchmarkSet]:
        query = (
            sa.select(benchmark_sets)
            .where(benchmark_sets.c.project == project)
            .order_by(benchmark_sets.c.name)
        )
        return [_frozen(row) for row in self.conn.execute(query).mappings()]


def _seq(run_id: str) -> int:
    return int(run_id.split("-", 1)[1])


def _row(run: Run) -> dict[str, Any]:
    return {
        "id": run.id,
        "project": run.project,
        "status": run.status.value,
        "data_version": run.data_version,
        "labels_version": run.labels_version,
        "seed": run.seed,
        "params": json.dumps(run.params),  # key order is meaningful (feature columns)
        "environment": json.dumps(run.environment.to_dict(), sort_keys=True),
        "metrics": json.dumps(run.metrics),  # in the order the benchmark lists them
        "artifacts": json.dumps(run.artifacts, sort_keys=True),
        "model_sha256": run.model_sha256,
        "error": run.error,
        "logs": run.logs,
        "parent": run.parent,
        "tags": json.dumps(list(run.tags)),
        "actor": run.actor,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
    }


def _run(row: RowMapping) -> Run:
    return Run(
        id=row["id"],
        project=row["project"],
        status=RunStatus(row["status"]),
        data_version=int(row["data_version"]),
        labels_version=row["labels_version"],
        seed=int(row["seed"]),
        params=json.loads(row["params"]),
        environment=Environment.from_dict(json.loads(row["environment"])),
        started_at=aware(row["started_at"]),
        actor=row["actor"],
        finished_at=aware(row["finished_at"]) if row["finished_at"] else None,
        metrics=json.loads(row["metrics"]),
        artifacts=json.loads(row["artifacts"]),
        model_sha256=row["model_sha256"],
        error=row["error"],
        logs=row["logs"],
        parent=row["parent"],
        tags=tuple(json.loads(row["tags"])),
    )


def _frozen(row: RowMapping) -> BenchmarkSet:
    return BenchmarkSet(
        project=row["project"],
        name=row["name"],
        definition=json.loads(row["definition"]),
        digest=row["digest"],
        rows=int(row["rows"]),
        data_version=int(row["data_version"]),
        created_at=aware(row["created_at"]),
    )
