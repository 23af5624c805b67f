"""Persistence ports of the registry; the SQL adapter implements them with constraints that make
concurrent changes safe (one child per release, one approval per person and request)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from keel.registry.approvals import Approval, PromotionRequest, RequestStatus
from keel.registry.gates import GateResult
from keel.registry.releases import Release
from keel.registry.versions import ModelVersion


class ModelRepo(Protocol):
    def next_version(self, project: str) -> int: ...

    def add(self, model: ModelVersion) -> None:
        """Insert; raises ``Conflict`` if the version or the run is already registered."""
        ...

    def get(self, project: str, version: int) -> ModelVersion:
        """Raises ``NotFound``."""
        ...

    def by_run(self, project: str, run_id: str) -> ModelVersion | None: ...

    def list(self, project: str) -> list[ModelVersion]:
        """Newest first."""
        ...


class GateRepo(Protocol):
    def next_seq(self, project: str) -> int: ...

    def add(self, result: GateResult) -> None: ...

    def latest(self, project: str, version: int) -> GateResult | None: ...


class ReleaseRepo(Protocol):
    def head(self, project: str) -> Release | None: ...

    def get(self, project: str, seq: int) -> Release:
        """Raises ``NotFound``."""
        ...

    def add(self, release: Release) -> None:
        """Append; raises ``Conflict`` if another change took the same parent first."""
        ...

    def history(self, project: str, *, limit: int = 50) -> list[Release]:
        """Newest first."""
        ...


class PromotionRepo(Protocol):
    def next_seq(self, project: str) -> int: ...

    def add(self, request: PromotionRequest) -> None: ...

    def pending(self, project: str, version: int) -> PromotionRequest | None: ...

    def all_pending(self, project: str) -> list[PromotionRequest]: ...

    def close(self, project: str, seq: int, status: RequestStatus, at: datetime) -> None: ...

    def approvals(self, project: str, request_seq: int) -> list[Approval]: ...

    def approve(self, project: str, approval: Approval) -> None:
        """Raises ``Conflict`` if this approver already approved this request."""
        ...
