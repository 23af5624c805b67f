"""Release changes other than promotion: shadow, canary, rollback, pause and resume, and
reading the release.

A release says which versions serve; every change appends a row whose parent is the previous one,
so rollback is "back to the state before the last change", in one step. A pause (the fallback
chain answers instead of the champion and the canary) is not a change rollback undoes: it
stays through every other change until a person resumes, and a rollback after it undoes the
model change before it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from keel.errors import Conflict
from keel.identity.actor import Actor, require_role
from keel.identity.roles import Role
from keel.registry.approvals import PromotionRequest
from keel.registry.changes import Change, append_release, passed_gate
from keel.registry.releases import Release, ReleaseState, next_release, rollback_target
from keel.registry.units import UnitFactory


@dataclass(frozen=True)
class Rollout:
    """The release of one project: what serves now, its history, and the changes to it."""

    project: str
    write: UnitFactory
    read: UnitFactory
    clock: Callable[[], datetime]

    def status(self) -> tuple[Release | None, list[PromotionRequest]]:
        """The current release (None before the first) and the promotions awaiting approval."""
        with self.read() as unit:
            return unit.releases.head(self.project), unit.promotions.all_pending(self.project)

    def history(self, *, limit: int = 50) -> list[Release]:
        """Newest first."""
        with self.read() as unit:
            return unit.releases.history(self.project, limit=limit)

    def shadow(self, version: int, actor: Actor, *, stop: bool = False) -> Release:
        """Score ``version`` beside the champion on live traffic without returning its answers."""
        require_role(actor, Role.OPERATOR, action="changing the release")
        with self.write() as unit:
            model = unit.models.get(self.project, version)
            head = unit.releases.head(self.project)
            state = head.state if head else ReleaseState()
            changed = state.without_shadow(version) if stop else state.with_shadow(version)
            change = Change(changed, "shadow.stop" if stop else "shadow", model, None, {})
            return append_release(unit, head, change, actor, self.clock())

    def canary(
        self, version: int, share: float, actor: Actor, *, override: str | None = None
    ) -> Release:
        """Serve ``version`` to ``share`` percent of entities; share 0 ends the canary.

        Starting a canary needs a passed gate (or an admin's written override); ending one not.
        """
        require_role(actor, Role.OPERATOR, action="changing the release")
        with self.write() as unit:
            model = unit.models.get(self.project, version)
            head = unit.releases.head(self.project)
            state = head.state if head else ReleaseState()
            details: dict[str, Any] = {"share": share}
            reason = None
            if share > 0:
                result = passed_gate(unit, model, actor, override)
                details["gate_result"] = result.id
                reason = override.strip() if override and not result.passed else None
            changed = state.with_canary(version, share)
            action = "canary" if share > 0 else "canary.stop"
            change = Change(changed, action, model, reason, details)
            return append_release(unit, head, change, actor, self.clock())

    def rollback(self, actor: Actor, *, reason: str | None = None) -> Release:
        """Undo the last change not undone yet: the state before it serves again."""
        require_role(actor, Role.OPERATOR, action="rolling back a release")
        with self.write() as unit:
            head = unit.releases.head(self.project)
            if head is None:
                raise Conflict("nothing has been released yet", hint="keel release promote VERSION")
            origin = unit.releases.get(self.project, head.restores)
            target = unit.releases.get(self.project, rollback_target(head, origin))
            # a pause is a person's to lift: rolling back a model change keeps it
            restored = replace(target.state, paused=head.state.paused)
            release = replace(
                next_release(
                    head,
                    restored,
                    project=self.project,
                    action="rollback",
                    actor=actor.name,
                    at=self.clock(),
                    subject=target.state.champion,
                    reason=reason,
                    details={"undoes": origin.id, "restores": target.id},
                ),
                restores=target.restores,
            )
            unit.releases.add(release)
            unit.audit.append(
                actor=actor.name,
                action="release.rollback",
                subject=f"release:{release.id}",
                details={**release.state.to_dict(), "undoes": origin.id, "reason": reason},
            )
            return release

    def pause(self, actor: Actor, *, reason: str | None = None, paused: bool = True) -> Release:
        """Pause the champion (and the canary): the fallback chain answers every request and
        the log names the route ``paused``; ``paused=False`` resumes."""
        action = "pause" if paused else "resume"
        require_role(actor, Role.OPERATOR, action=f"{'pausing' if paused else 'resuming'} a model")
        with self.write() as unit:
            head = unit.releases.head(self.project)
            if head is None:
                raise Conflict("nothing has been released yet", hint="keel release promote VERSION")
            release = replace(
                next_release(
                    head,
                    head.state.with_pause(paused),
                    project=self.project,
                    action=action,
                    actor=actor.name,
                    at=self.clock(),
                    subject=head.state.champion,
                    reason=reason,
                ),
                restores=head.restores,  # rollback walks past a pause to the change before it
            )
            unit.releases.add(release)
            unit.audit.append(
                actor=actor.name,
                action=f"release.{action}",
                subject=f"release:{release.id}",
                details={**release.state.to_dict(), "reason": reason},
            )
            return release
