"""Training runs and frozen benchmark sets: the records that make a model reproducible."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ABANDONED = "abandoned"
    """The process that ran it ended (killed, crashed, machine lost) before recording an end."""


@dataclass(frozen=True)
class RunProcess:
    """The process that runs a run: enough to tell later whether it is still alive.

    ``started`` identifies the process instance (boot id and start time where the system says
    them), so that a pid reused by another process is not taken for the run's.
    """

    host: str
    pid: int
    started: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"host": self.host, "pid": self.pid, "started": self.started}

    @classmethod
    def from_dict(cls, body: Any) -> RunProcess | None:
        if not isinstance(body, dict) or "pid" not in body:
            return None
        return cls(str(body.get("host", "")), int(body["pid"]), body.get("started"))


@dataclass(frozen=True)
class Environment:
    """What the code and libraries were when a run trained: the other half of reproducibility."""

    code_version: str | None
    code_dirty: bool
    packages_sha256: str
    python: str
    keel_version: str
    process: RunProcess | None = None
    """The process training in this environment (not part of what reproduces a run)."""

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "code_version": self.code_version,
            "code_dirty": self.code_dirty,
            "packages_sha256": self.packages_sha256,
            "python": self.python,
            "keel_version": self.keel_version,
        }
        if self.process is not None:
            body["process"] = self.process.to_dict()
        return body

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> Environment:
        return cls(
            body.get("code_version"),
            bool(body.get("code_dirty")),
            str(body.get("packages_sha256", "")),
            str(body.get("python", "")),
            str(body.get("keel_version", "")),
            RunProcess.from_dict(body.get("process")),
        )


@dataclass(frozen=True)
class Run:
    """One training execution; ``model_sha256`` names the stored model bundle."""

    id: str
    project: str
    status: RunStatus
    data_version: int
    labels_version: int | None
    seed: int
    params: dict[str, Any]
    environment: Environment
    started_at: datetime
    actor: str
    finished_at: datetime | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)
    model_sha256: str | None = None
    error: str | None = None
    logs: str = ""
    parent: str | None = None
    tags: tuple[str, ...] = ()

    @property
    def duration_s(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.id,
            "project": self.project,
            "status": self.status.value,
            "data_version": self.data_version,
            "labels_version": self.labels_version,
            "seed": self.seed,
            "params": self.params,
            "environment": self.environment.to_dict(),
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "duration_s": self.duration_s,
            "metrics": self.metrics,
            "artifacts": self.artifacts,
            "model_sha256": self.model_sha256,
            "error": self.error,
            "logs": self.logs,
            "parent": self.parent,
            "tags": list(self.tags),
            "actor": self.actor,
        }


@dataclass(frozen=True)
class BenchmarkSet:
    """A named evaluation set, frozen the first time it is used; every candidate meets it."""

    project: str
    name: str
    definition: dict[str, Any]
    digest: str
    rows: int
    data_version: int
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "definition": self.definition,
            "digest": self.digest,
            "rows": self.rows,
            "data_version": self.data_version,
            "created_at": self.created_at.isoformat(),
        }
