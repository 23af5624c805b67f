"""The records of the agent's journal: every action, its steps, and the controls it obeys.

An action is written before it starts (with its idempotency key, the rule that fired and the
evidence) and after each step: ``started`` before a step changes anything, ``done`` with what it
produced once it has. A step found ``started`` but not ``done`` after a crash is resumed by
checking the world (was the version put in shadow?) before doing it again, so each step happens
once; an action that cannot go on is compensated (its canary and shadow stopped).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any


class ActionStatus(StrEnum):
    PROPOSED = "proposed"  # waits for a person (needs_approval) or was only planned (dry run)
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # stopped, compensated: nothing of it serves
    REJECTED = "rejected"  # refused by a guard before it did anything
    SKIPPED = "skipped"  # decided, not taken: the policy forbids it, or it runs dry

    @property
    def is_open(self) -> bool:
        return self in (ActionStatus.PROPOSED, ActionStatus.RUNNING)


@dataclass(frozen=True)
class Step:
    """One step of an action: ``started`` before it changes anything, then ``done``/``failed``."""

    name: str
    state: str  # started | done | failed
    at: datetime
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "state": self.state, "at": self.at.isoformat(), **self.details}


@dataclass(frozen=True)
class AgentAction:
    """One journaled action of the agent (or one it proposed)."""

    project: str
    seq: int
    key: str  # idempotency key: the same trigger never starts two actions
    kind: str  # retrain | rollback | pause_model | open_review_items | notify
    rule: str  # the policy rule that fired
    mode: str  # auto | needs_approval | dry_run
    status: ActionStatus
    actor: str
    created_at: datetime
    updated_at: datetime
    evidence: dict[str, Any] = field(default_factory=dict)
    steps: tuple[Step, ...] = ()
    outcome: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"act-{self.seq:04d}"

    @property
    def last(self) -> Step | None:
        return self.steps[-1] if self.steps else None

    def done(self, name: str) -> Step | None:
        """The finished record of step ``name``, if it finished."""
        return next((s for s in self.steps if s.name == name and s.state == "done"), None)

    def with_step(self, step: Step) -> AgentAction:
        return replace(self, steps=(*self.steps, step), updated_at=step.at)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "seq": self.seq,
            "key": self.key,
            "kind": self.kind,
            "rule": self.rule,
            "mode": self.mode,
            "status": self.status.value,
            "actor": self.actor,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "evidence": self.evidence,
            "steps": [s.to_dict() for s in self.steps],
            "outcome": self.outcome,
        }


@dataclass(frozen=True)
class Lease:
    """Who leads: one agent at a time per project, until ``expires_at`` unless renewed."""

    holder: str
    term: int  # rises at each takeover: a fencing number
    expires_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"holder": self.holder, "term": self.term, "expires_at": self.expires_at.isoformat()}


@dataclass(frozen=True)
class Controls:
    """The kill switch and the leader, as stored."""

    paused: bool = False
    paused_by: str | None = None
    reason: str | None = None
    changed_at: datetime | None = None
    lease: Lease | None = None
    cooldown_until: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "cooldown_until": self.cooldown_until.isoformat() if self.cooldown_until else None,
            "paused": self.paused,
            "paused_by": self.paused_by,
            "reason": self.reason,
            "changed_at": self.changed_at.isoformat() if self.changed_at else None,
            "lease": self.lease.to_dict() if self.lease else None,
        }


@dataclass(frozen=True)
class Guard:
    """What must hold, in one transaction, for an action to start (see ``AgentRepo.start``)."""

    holder: str  # the lease the agent must still hold
    budget: tuple[str, int, int] | None  # (kind, limit, window hours) or None
    cooldown: bool  # refuse while the model cools down
