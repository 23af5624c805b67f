"""The two steps every release change shares: the gate it needs, and the row it appends.

Both run inside the caller's write transaction, so the release row, its audit event and any
override event commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from keel.errors import Conflict
from keel.identity.actor import Actor
from keel.registry.approvals import check_override
from keel.registry.gates import GateResult
from keel.registry.releases import Release, ReleaseState, next_release
from keel.registry.units import RegistryUnit
from keel.registry.versions import ModelVersion


def passed_gate(
    unit: RegistryUnit, model: ModelVersion, actor: Actor, override: str | None
) -> GateResult:
    """The latest gate result of ``model``: passed, or failed with an admin's written reason
    (recorded as its own audit event)."""
    result = unit.gates.latest(model.project, model.version)
    if result is None:
        raise Conflict(
            f"v{model.version} has not been gated",
            hint=f"run the release policy first: keel gate v{model.version}",
        )
    if not result.passed:
        failed = [c.name for c in result.failed]
        reason = check_override(actor, override, failed)
        unit.audit.append(
            actor=actor.name,
            action="release.override",
            subject=f"model:{model.label}",
            details={"gate_result": result.id, "failed": failed, "reason": reason},
        )
    return result


@dataclass(frozen=True)
class Change:
    """One release change about one model version, before it is written."""

    state: ReleaseState
    action: str
    model: ModelVersion
    reason: str | None = None
    details: Mapping[str, Any] | None = None


def append_release(
    unit: RegistryUnit, head: Release | None, change: Change, actor: Actor, at: datetime
) -> Release:
    """Write ``change`` as the row after ``head``, with its ``release.<action>`` audit event."""
    details = dict(change.details or {})
    release = next_release(
        head,
        change.state,
        project=change.model.project,
        action=change.action,
        actor=actor.name,
        at=at,
        subject=change.model.version,
        reason=change.reason,
        details=details,
    )
    unit.releases.add(release)
    unit.audit.append(
        actor=actor.name,
        action=f"release.{change.action}",
        subject=f"model:{change.model.label}",
        details={
            "release": release.id,
            **change.state.to_dict(),
            "reason": change.reason,
            **details,
        },
    )
    return release
