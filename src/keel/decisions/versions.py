"""Released decision policies: numbered versions of the deciding keys, the gate each passed,
and who asked for and approved its release.

A decision policy changes what happens to every record as surely as a new model does, so it
takes the same path: register (``p1``, ``p2``, ... named by the sha256 digest each logged
prediction carries), gate on the champion's frozen benchmark set, release (at once, or after
``release.approvals`` approvers other than the requester), and roll back. The release history
names the policy in force beside the models (``ReleaseState.policy``); ``None`` there means the
``decisions:`` section of keel.yaml decides, as before any policy was released.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from keel.errors import PolicyViolation
from keel.identity.actor import Actor, require_role
from keel.identity.roles import Role


def policy_label(version: int | None) -> str:
    """``p3``; ``keel.yaml`` for the section the project file holds."""
    return "keel.yaml" if version is None else f"p{version}"


@dataclass(frozen=True)
class PolicyCheck:
    """One gate check of a candidate policy on the benchmark rows."""

    name: str
    passed: bool
    value: float | None
    limit: float | None
    p_value: float | None
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "passed": self.passed,
            "value": self.value,
            "limit": self.limit,
            "p_value": self.p_value,
            "detail": self.detail,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PolicyCheck:
        return cls(
            name=str(data["name"]),
            passed=bool(data["passed"]),
            value=data.get("value"),
            limit=data.get("limit"),
            p_value=data.get("p_value"),
            detail=str(data.get("detail", "")),
        )


@dataclass(frozen=True)
class PolicyGate:
    """A candidate judged beside the policy in force, on the champion's frozen benchmark set."""

    champion: int
    benchmark: str
    rows: int
    live: int | None
    """The policy version in force when gated (None: keel.yaml's section)."""
    checks: tuple[PolicyCheck, ...]
    shares: dict[str, float]
    """The candidate's share of each decision on the benchmark rows."""
    evaluated_at: datetime
    actor: str
    live_shares: dict[str, float] | None = None
    """The same for the policy in force: the KPIs before and after, side by side."""
    cost_per_record: dict[str, float] | None = None
    """Realized cost per record on the benchmark rows, ``live`` and ``candidate`` (with costs)."""

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failed(self) -> list[PolicyCheck]:
        return [c for c in self.checks if not c.passed]

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "champion": self.champion,
            "benchmark": self.benchmark,
            "rows": self.rows,
            "live": self.live,
            "checks": [c.to_dict() for c in self.checks],
            "shares": self.shares,
            "evaluated_at": self.evaluated_at.isoformat(),
            "actor": self.actor,
            "live_shares": self.live_shares,
            "cost_per_record": self.cost_per_record,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PolicyGate:
        return cls(
            champion=int(data["champion"]),
            benchmark=str(data["benchmark"]),
            rows=int(data["rows"]),
            live=data.get("live"),
            checks=tuple(PolicyCheck.from_dict(c) for c in data["checks"]),
            shares={str(k): float(v) for k, v in data.get("shares", {}).items()},
            evaluated_at=datetime.fromisoformat(data["evaluated_at"]),
            actor=str(data["actor"]),
            live_shares=data.get("live_shares"),
            cost_per_record=data.get("cost_per_record"),
        )


@dataclass(frozen=True)
class PolicyApproval:
    approver: str
    note: str
    approved_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "approver": self.approver,
            "note": self.note,
            "approved_at": self.approved_at.isoformat(),
        }


@dataclass(frozen=True)
class PolicyVersion:
    """One registered policy: its deciding keys as written, and where its release stands."""

    project: str
    version: int
    digest: str
    deciding: dict[str, Any]
    source: str
    note: str
    created_by: str
    created_at: datetime
    gate: PolicyGate | None = None
    requested_by: str | None = None
    """Who asked for its release while approvals are pending (cleared by a new gate)."""
    requested_at: datetime | None = None

    @property
    def label(self) -> str:
        return policy_label(self.version)

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.label,
            "version": self.version,
            "digest": self.digest,
            "decisions": self.deciding,
            "source": self.source,
            "note": self.note,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "gate": None if self.gate is None else self.gate.to_dict(),
            "requested_by": self.requested_by,
            "requested_at": self.requested_at.isoformat() if self.requested_at else None,
        }


def check_policy_approver(actor: Actor, policy: PolicyVersion, given: list[PolicyApproval]) -> None:
    """Raise unless ``actor`` may approve the release of ``policy`` (role, four eyes, once)."""
    require_role(actor, Role.APPROVER, action=f"approving policy {policy.label}")
    if actor.name == policy.requested_by:
        raise PolicyViolation(
            f"{actor.name} asked for the release of policy {policy.label} and cannot approve it",
            hint="four-eyes: an approver other than the requester must approve",
        )
    if any(a.approver == actor.name for a in given):
        raise PolicyViolation(f"{actor.name} has already approved policy {policy.label}")
