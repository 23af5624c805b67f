"""The registry's repositories on SQL: model versions, gate results, releases, approvals."""

from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from keel.errors import Conflict, NotFound
from keel.registry.approvals import Approval, PromotionRequest, RequestStatus
from keel.registry.gates import GateCheck, GateResult
from keel.registry.releases import Release, ReleaseState
from keel.registry.signature import Signature
from keel.registry.versions import ModelVersion
from keel.store.sql.notify import announce_release
from keel.store.sql.sequences import next_number
from keel.store.sql.tables import (
    approvals,
    gate_results,
    model_versions,
    promotion_requests,
    releases,
)
from keel.store.sql.timestamps import aware


class SqlModelRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def next_version(self, project: str) -> int:
        return next_number(self.conn, model_versions.c.version, project)

    def add(self, model: ModelVersion) -> None:
        try:
            with self.conn.begin_nested():
                self.conn.execute(
                    model_versions.insert().values(
                        project=model.project,
                        version=model.version,
                        run_id=model.run_id,
                        model_sha256=model.model_sha256,
                        kind=model.kind,
                        data_version=model.data_version,
                        labels_version=model.labels_version,
                        signature=json.dumps(model.signature.to_list()),
                        benchmarks=json.dumps(model.benchmarks),
                        slices=json.dumps(model.slices),
                        artifacts=json.dumps(model.artifacts, sort_keys=True),
                        actor=model.actor,
                        created_at=model.created_at,
                    )
                )
        except SqlIntegrityError:
            raise Conflict(
                f"{model.label} or run {model.run_id} is already registered; try again"
            ) from None

    def get(self, project: str, version: int) -> ModelVersion:
        query = sa.select(model_versions).where(
            model_versions.c.project == project, model_versions.c.version == version
        )
        row = self.conn.execute(query).mappings().first()
        if row is None:
            raise NotFound(
                "model version", f"{project}/v{version}", hint="'keel models list' shows them"
            )
        return _model(row)

    def by_run(self, project: str, run_id: str) -> ModelVersion | None:
        query = sa.select(model_versions).where(
            model_versions.c.project == project, model_versions.c.run_id == run_id
        )
        row = self.conn.execute(query).mappings().first()
        return _model(row) if row is not None else None

    def list(self, project: str) -> list[ModelVersion]:
        query = (
            sa.select(model_versions)
            .where(model_versions.c.project == project)
            .order_by(model_versions.c.version.desc())
        )
        return [_model(row) for row in self.conn.execute(query).mappings()]


class SqlGateRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def next_seq(self, project: str) -> int:
        return next_number(self.conn, gate_results.c.seq, project)

    def add(self, result: GateResult) -> None:
        self.conn.execute(
            gate_results.insert().values(
                project=result.project,
                seq=result.seq,
                version=result.version,
                benchmark=result.benchmark,
                champion=result.champion,
                passed=result.passed,
                checks=json.dumps([c.to_dict() for c in result.checks]),
                actor=result.actor,
                evaluated_at=result.evaluated_at,
            )
        )

    def latest(self, project: str, version: int) -> GateResult | None:
        query = (
            sa.select(gate_results)
            .where(gate_results.c.project == project, gate_results.c.version == version)
            .order_by(gate_results.c.seq.desc())
            .limit(1)
        )
        row = self.conn.execute(query).mappings().first()
        return _gate(row) if row is not None else None


class SqlReleaseRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def head(self, project: str) -> Release | None:
        query = (
            sa.select(releases)
            .where(releases.c.project == project)
            .order_by(releases.c.seq.desc())
            .limit(1)
        )
        row = self.conn.execute(query).mappings().first()
        return _release(row) if row is not None else None

    def get(self, project: str, seq: int) -> Release:
        query = sa.select(releases).where(releases.c.project == project, releases.c.seq == seq)
        row = self.conn.execute(query).mappings().first()
        if row is None:
            raise NotFound("release", f"rel-{seq:04d}", hint="'keel release history' lists them")
        return _release(row)

    def add(self, release: Release) -> None:
        state = release.state
        try:
            with self.conn.begin_nested():
                self.conn.execute(
                    releases.insert().values(
                        project=release.project,
                        seq=release.seq,
                        parent=release.parent,
                        champion=state.champion,
                        shadow=json.dumps(list(state.shadow)),
                        canary=state.canary,
                        canary_share=state.canary_share,
                        previous_champion=state.previous_champion,
                        policy=state.policy,
                        paused=state.paused,
                        action=release.action,
                        subject=release.subject,
                        actor=release.actor,
                        reason=release.reason,
                        restores=release.restores,
                        details=json.dumps(release.details, sort_keys=True),
                        created_at=release.created_at,
                    )
                )
            announce_release(self.conn, release.project)
        except SqlIntegrityError:
            raise Conflict(
                f"the release changed while {release.id} was being made; nothing was changed",
                hint="look at 'keel release status' and run the command again",
            ) from None

    def history(self, project: str, *, limit: int = 50) -> list[Release]:
        query = (
            sa.select(releases)
            .where(releases.c.project == project)
            .order_by(releases.c.seq.desc())
            .limit(limit)
        )
        return [_release(row) for row in self.conn.execute(query).mappings()]


class SqlPromotionRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def next_seq(self, project: str) -> int:
        return next_number(self.conn, promotion_requests.c.seq, project)

    def add(self, request: PromotionRequest) -> None:
        self.conn.execute(
            promotion_requests.insert().values(
                project=request.project,
                seq=request.seq,
                version=request.version,
                gate_seq=request.gate_seq,
                requester=request.requester,
                needed=request.needed,
                status=request.status.value,
                override=request.override,
                created_at=request.created_at,
                closed_at=request.closed_at,
            )
        )

    def pending(self, project: str, version: int) -> PromotionRequest | None:
        query = (
            sa.select(promotion_requests)
            .where(
                promotion_requests.c.project == project,
                promotion_requests.c.version == version,
                promotion_requests.c.status == RequestStatus.PENDING.value,
            )
            .order_by(promotion_requests.c.seq.desc())
            .limit(1)
        )
        row = self.conn.execute(query).mappings().first()
        return _request(row) if row is not None else None

    def all_pending(self, project: str) -> list[PromotionRequest]:
        query = (
            sa.select(promotion_requests)
            .where(
                promotion_requests.c.project == project,
                promotion_requests.c.status == RequestStatus.PENDING.value,
            )
            .order_by(promotion_requests.c.seq)
        )
        return [_request(row) for row in self.conn.execute(query).mappings()]

    def close(self, project: str, seq: int, status: RequestStatus, at: datetime) -> None:
        self.conn.execute(
            promotion_requests.update()
            .where(promotion_requests.c.project == project, promotion_requests.c.seq == seq)
            .values(status=status.value, closed_at=at)
        )

    def approvals(self, project: str, request_seq: int) -> list[Approval]:
        query = (
            sa.select(approvals)
            .where(approvals.c.project == project, approvals.c.request_seq == request_seq)
            .order_by(approvals.c.at)
        )
        return [
            Approval(
                int(row["request_seq"]),
                int(row["version"]),
                int(row["gate_seq"]),
                row["approver"],
                row["note"],
                aware(row["at"]),
            )
            for row in self.conn.execute(query).mappings()
        ]

    def approve(self, project: str, approval: Approval) -> None:
        try:
            with self.conn.begin_nested():
                self.conn.execute(
                    approvals.insert().values(
                        project=project,
                        request_seq=approval.request_seq,
                        approver=approval.approver,
                        version=approval.version,
                        gate_seq=approval.gate_seq,
                        note=approval.note,
                        at=approval.at,
                    )
                )
        except SqlIntegrityError:
            raise Conflict(f"{approval.approver} has already approved this request") from None


def _model(row: RowMapping) -> ModelVersion:
    return ModelVersion(
        project=row["project"],
        version=int(row["version"]),
        run_id=row["run_id"],
        model_sha256=row["model_sha256"],
        kind=row["kind"],
        data_version=int(row["data_version"]),
        labels_version=row["labels_version"],
        signature=Signature.from_list(json.loads(row["signature"])),
        benchmarks=json.loads(row["benchmarks"]),
        slices=json.loads(row["slices"]),
        artifacts=json.loads(row["artifacts"]),
        created_at=aware(row["created_at"]),
        actor=row["actor"],
    )


def _gate(row: RowMapping) -> GateResult:
    return GateResult(
        project=row["project"],
        seq=int(row["seq"]),
        version=int(row["version"]),
        benchmark=row["benchmark"],
        champion=row["champion"],
        checks=tuple(GateCheck.from_dict(c) for c in json.loads(row["checks"])),
        evaluated_at=aware(row["evaluated_at"]),
        actor=row["actor"],
    )


def _release(row: RowMapping) -> Release:
    return Release(
        project=row["project"],
        seq=int(row["seq"]),
        parent=int(row["parent"]),
        state=ReleaseState(
            champion=row["champion"],
            shadow=tuple(json.loads(row["shadow"])),
            canary=row["canary"],
            canary_share=float(row["canary_share"]),
            previous_champion=row["previous_champion"],
            policy=row["policy"],
            paused=bool(row["paused"]),
        ),
        action=row["action"],
        actor=row["actor"],
        created_at=aware(row["created_at"]),
        subject=row["subject"],
        reason=row["reason"],
        restores=int(row["restores"]),
        details=json.loads(row["details"]),
    )


def _request(row: RowMapping) -> PromotionRequest:
    return PromotionRequest(
        project=row["project"],
        seq=int(row["seq"]),
        version=int(row["version"]),
        gate_seq=int(row["gate_seq"]),
        requester=row["requester"],
        needed=int(row["needed"]),
        status=RequestStatus(row["status"]),
        created_at=aware(row["created_at"]),
        override=row["override"],
        closed_at=aware(row["closed_at"]) if row["closed_at"] else None,
    )
