"""Four-eyes promotion: a request, approvals by other people, tied to one gate result; and
what a promote or approve did."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from keel.errors import PermissionDenied, PolicyViolation
from keel.identity.actor import Actor, require_role
from keel.identity.roles import Role
from keel.registry.releases import Release


class RequestStatus(StrEnum):
    PENDING = "pending"
    APPLIED = "applied"
    INVALIDATED = "invalidated"  # a newer gate result replaced the one it was tied to
    REJECTED = "rejected"  # an approver turned it down, with a note


@dataclass(frozen=True)
class PromotionRequest:
    project: str
    seq: int
    version: int
    gate_seq: int
    requester: str
    needed: int
    status: RequestStatus
    created_at: datetime
    override: str | None = None  # the admin's reason when the gate had failed
    closed_at: datetime | None = None

    @property
    def id(self) -> str:
        return f"p-{self.seq:04d}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "promotion": self.id,
            "model_version": self.version,
            "gate_result": f"g-{self.gate_seq:04d}",
            "requester": self.requester,
            "approvals_needed": self.needed,
            "status": self.status.value,
            "override": self.override,
            "created_at": self.created_at.isoformat(),
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
        }


@dataclass(frozen=True)
class Approval:
    request_seq: int
    version: int
    gate_seq: int
    approver: str
    note: str
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "promotion": f"p-{self.request_seq:04d}",
            "model_version": self.version,
            "gate_result": f"g-{self.gate_seq:04d}",
            "approver": self.approver,
            "note": self.note,
            "at": self.at.isoformat(),
        }


@dataclass(frozen=True)
class Promotion:
    """What a promote or approve did: a new release, or a request still waiting for approvals."""

    release: Release | None
    request: PromotionRequest | None
    approvals: list[Approval] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "applied": self.release is not None,
            "release": self.release.to_dict() if self.release else None,
            "request": self.request.to_dict() if self.request else None,
            "approvals": [a.to_dict() for a in self.approvals],
        }


def check_approver(actor: Actor, request: PromotionRequest, given: list[Approval]) -> None:
    """Raise unless ``actor`` may add an approval to ``request`` (role, four eyes, once)."""
    require_role(actor, Role.APPROVER, action=f"approving v{request.version}")
    if actor.name == request.requester:
        raise PolicyViolation(
            f"{actor.name} requested the promotion of v{request.version} and cannot approve it",
            hint="four-eyes: an approver other than the requester must approve",
        )
    if any(a.approver == actor.name for a in given):
        raise PolicyViolation(f"{actor.name} has already approved v{request.version}")


def check_override(actor: Actor, reason: str | None, failed: list[str]) -> str:
    """An admin may promote past failing gates only with a written reason."""
    if not reason or not reason.strip():
        raise PolicyViolation(
            "the gate failed: " + "; ".join(failed),
            hint="fix the model, or as an admin pass --override 'written reason'",
        )
    if actor.role is not Role.ADMIN:
        raise PermissionDenied(
            f"overriding a failed gate needs the admin role; {actor.name} is {actor.role.value}"
        )
    return reason.strip()
