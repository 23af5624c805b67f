"""Registered decision policies, their gates and approvals (``keel.decisions.ports.PolicyRepo``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from keel.decisions.versions import PolicyApproval, PolicyGate, PolicyVersion
from keel.errors import Conflict, NotFound
from keel.store.sql.tables import decision_policies, policy_approvals
from keel.store.sql.timestamps import aware


class SqlPolicyRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def next_version(self, project: str) -> int:
        query = sa.select(sa.func.max(decision_policies.c.version)).where(
            decision_policies.c.project == project
        )
        return int(self.conn.execute(query).scalar() or 0) + 1

    def add(self, policy: PolicyVersion) -> None:
        try:
            with self.conn.begin_nested():
                self.conn.execute(
                    decision_policies.insert().values(
                        project=policy.project,
                        version=policy.version,
                        digest=policy.digest,
                        deciding=json.dumps(policy.deciding),
                        source=policy.source,
                        note=policy.note,
                        created_by=policy.created_by,
                        created_at=policy.created_at,
                    )
                )
        except SqlIntegrityError:
            raise Conflict(
                f"policy {policy.label} or one with digest {policy.digest} is already registered",
                hint="'keel decisions policies' lists them; run the command again",
            ) from None

    def get(self, project: str, version: int) -> PolicyVersion:
        row = (
            self.conn.execute(
                sa.select(decision_policies).where(
                    decision_policies.c.project == project,
                    decision_policies.c.version == version,
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            raise NotFound(
                "decision policy", f"p{version}", hint="'keel decisions policies' lists them"
            )
        return _policy(row)

    def by_digest(self, project: str, digest: str) -> PolicyVersion | None:
        row = (
            self.conn.execute(
                sa.select(decision_policies).where(
                    decision_policies.c.project == project,
                    decision_policies.c.digest == digest,
                )
            )
            .mappings()
            .first()
        )
        return None if row is None else _policy(row)

    def by_digests(self, project: str, digests: Sequence[str]) -> dict[str, int]:
        if not digests:
            return {}
        query = sa.select(decision_policies.c.digest, decision_policies.c.version).where(
            decision_policies.c.project == project,
            decision_policies.c.digest.in_(sorted(set(digests))),
        )
        return {row.digest: int(row.version) for row in self.conn.execute(query)}

    def all(self, project: str) -> list[PolicyVersion]:
        query = (
            sa.select(decision_policies)
            .where(decision_policies.c.project == project)
            .order_by(decision_policies.c.version.desc())
        )
        return [_policy(row) for row in self.conn.execute(query).mappings()]

    def set_gate(self, project: str, version: int, gate: PolicyGate) -> None:
        self.close_request(project, version)
        self.conn.execute(
            decision_policies.update()
            .where(_one(project, version))
            .values(gate=json.dumps(gate.to_dict()))
        )

    def request(self, project: str, version: int, requester: str, at: datetime) -> None:
        self.conn.execute(
            decision_policies.update()
            .where(_one(project, version))
            .values(requested_by=requester, requested_at=at)
        )

    def close_request(self, project: str, version: int) -> None:
        self.conn.execute(
            policy_approvals.delete().where(
                policy_approvals.c.project == project, policy_approvals.c.version == version
            )
        )
        self.conn.execute(
            decision_policies.update()
            .where(_one(project, version))
            .values(requested_by=None, requested_at=None)
        )

    def approvals(self, project: str, version: int) -> list[PolicyApproval]:
        query = (
            sa.select(policy_approvals)
            .where(policy_approvals.c.project == project, policy_approvals.c.version == version)
            .order_by(policy_approvals.c.at)
        )
        return [
            PolicyApproval(row["approver"], row["note"], aware(row["at"]))
            for row in self.conn.execute(query).mappings()
        ]

    def approve(self, project: str, version: int, approval: PolicyApproval) -> None:
        try:
            with self.conn.begin_nested():
                self.conn.execute(
                    policy_approvals.insert().values(
                        project=project,
                        version=version,
                        approver=approval.approver,
                        note=approval.note,
                        at=approval.approved_at,
                    )
                )
        except SqlIntegrityError:
            raise Conflict(f"{approval.approver} has already approved policy p{version}") from None


def _one(project: str, version: int) -> sa.ColumnElement[bool]:
    return sa.and_(decision_policies.c.project == project, decision_policies.c.version == version)


def _policy(row: RowMapping) -> PolicyVersion:
    gate = row["gate"]
    requested = row["requested_at"]
    return PolicyVersion(
        project=row["project"],
        version=int(row["version"]),
        digest=row["digest"],
        deciding=json.loads(row["deciding"]),
        source=row["source"],
        note=row["note"],
        created_by=row["created_by"],
        created_at=aware(row["created_at"]),
        gate=None if gate is None else PolicyGate.from_dict(json.loads(gate)),
        requested_by=row["requested_by"],
        requested_at=aware(requested) if requested is not None else None,
    )
