"""Promotion: making a model version champion, at once or after the approvals the policy needs.

With ``approvals: N`` a promotion opens a request tied to the version's latest gate result;
approvers other than the requester add approvals, and the last one needed applies it. Gating the
version again invalidates the request: people approve evidence, not a version number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from keel.errors import Conflict, InvalidInput
from keel.identity.actor import Actor, require_role
from keel.identity.roles import Role
from keel.registry.approvals import (
    Approval,
    Promotion,
    PromotionRequest,
    RequestStatus,
    check_approver,
)
from keel.registry.changes import Change, append_release, passed_gate
from keel.registry.gates import GateResult
from keel.registry.releases import Release, ReleaseState
from keel.registry.units import RegistryUnit, UnitFactory
from keel.registry.versions import ModelVersion


@dataclass(frozen=True)
class Promotions:
    """Promote and approve, for one project whose policy needs ``approvals`` approvers."""

    project: str
    approvals: int
    write: UnitFactory
    clock: Callable[[], datetime]

    def promote(self, version: int, actor: Actor, *, override: str | None = None) -> Promotion:
        """Make ``version`` champion now, or open a request if the policy needs approvals."""
        require_role(actor, Role.OPERATOR, action="promoting a model")
        with self.write() as unit:
            model = unit.models.get(self.project, version)
            result = passed_gate(unit, model, actor, override)
            head, state = self._promoted(unit, version)  # refuses the champion itself
            reason = override.strip() if override and not result.passed else None
            if self.approvals == 0:
                change = Change(state, "promote", model, reason, {"gate_result": result.id})
                return Promotion(append_release(unit, head, change, actor, self.clock()), None)
            pending = unit.promotions.pending(self.project, version)
            if pending is not None and pending.gate_seq == result.seq:
                return Promotion(
                    None, pending, unit.promotions.approvals(self.project, pending.seq)
                )
            request = self._request(unit, model, result, actor, reason=reason, replaces=pending)
            return Promotion(None, request)

    def _request(
        self,
        unit: RegistryUnit,
        model: ModelVersion,
        result: GateResult,
        actor: Actor,
        *,
        reason: str | None,
        replaces: PromotionRequest | None,
    ) -> PromotionRequest:
        """A new request tied to ``result``; it replaces one tied to an older gate result."""
        request = PromotionRequest(
            project=self.project,
            seq=unit.promotions.next_seq(self.project),
            version=model.version,
            gate_seq=result.seq,
            requester=actor.name,
            needed=self.approvals,
            status=RequestStatus.PENDING,
            created_at=self.clock(),
            override=reason,
        )
        if replaces is not None:
            unit.promotions.close(
                self.project, replaces.seq, RequestStatus.INVALIDATED, self.clock()
            )
        unit.promotions.add(request)
        unit.audit.append(
            actor=actor.name,
            action="release.promote.requested",
            subject=f"model:{model.label}",
            details={
                "promotion": request.id,
                "gate_result": result.id,
                "approvals_needed": request.needed,
                "override": reason,
            },
        )
        return request

    def approve(self, version: int, actor: Actor, *, note: str = "") -> Promotion:
        """Approve the pending promotion of ``version``; the last approval needed applies it."""
        with self.write() as unit:
            model = unit.models.get(self.project, version)
            request, latest = self._approvable(unit, version)
            given = unit.promotions.approvals(self.project, request.seq)
            check_approver(actor, request, given)
            approval = Approval(
                request.seq, version, request.gate_seq, actor.name, note, self.clock()
            )
            unit.promotions.approve(self.project, approval)
            unit.audit.append(
                actor=actor.name,
                action="registry.approve",
                subject=f"model:{model.label}",
                details={"promotion": request.id, "gate_result": latest.id, "note": note},
            )
            given = [*given, approval]
            if len(given) < request.needed:
                return Promotion(None, request, given)
            details = {
                "gate_result": latest.id,
                "promotion": request.id,
                "requester": request.requester,
                "approvers": [a.approver for a in given],
            }
            head, state = self._promoted(unit, version)
            change = Change(state, "promote", model, request.override, details)
            release = append_release(unit, head, change, actor, self.clock())
            unit.promotions.close(self.project, request.seq, RequestStatus.APPLIED, self.clock())
            applied = replace(request, status=RequestStatus.APPLIED, closed_at=self.clock())
            return Promotion(release, applied, given)

    def reject(self, version: int, actor: Actor, *, note: str) -> PromotionRequest:
        """Turn the pending promotion of ``version`` down with a written ``note`` (an approver,
        or the requester withdrawing it); the champion stays."""
        require_role(actor, Role.APPROVER, action=f"rejecting v{version}")
        if not note.strip():
            raise InvalidInput("a rejection needs a note saying why", path="note")
        with self.write() as unit:
            model = unit.models.get(self.project, version)
            request = unit.promotions.pending(self.project, version)
            if request is None:
                raise Conflict(f"no promotion of v{version} is waiting for approval")
            unit.promotions.close(self.project, request.seq, RequestStatus.REJECTED, self.clock())
            unit.audit.append(
                actor=actor.name,
                action="registry.reject",
                subject=f"model:{model.label}",
                details={"promotion": request.id, "requester": request.requester, "note": note},
            )
            return replace(request, status=RequestStatus.REJECTED, closed_at=self.clock())

    def _approvable(self, unit: RegistryUnit, version: int) -> tuple[PromotionRequest, GateResult]:
        """The pending request of ``version``, still tied to its latest gate result."""
        request = unit.promotions.pending(self.project, version)
        if request is None:
            raise Conflict(
                f"no promotion of v{version} is waiting for approval",
                hint=f"request one first: keel release promote v{version}",
            )
        latest = unit.gates.latest(self.project, version)
        if latest is None or latest.seq != request.gate_seq:
            raise Conflict(
                f"the request {request.id} was for gate result g-{request.gate_seq:04d};"
                f" v{version} was gated again since",
                hint=f"request the promotion again: keel release promote v{version}",
            )
        return request, latest

    def _promoted(self, unit: RegistryUnit, version: int) -> tuple[Release | None, ReleaseState]:
        """The current head, and the state with ``version`` as champion."""
        head = unit.releases.head(self.project)
        return head, (head.state if head else ReleaseState()).promote(version)
