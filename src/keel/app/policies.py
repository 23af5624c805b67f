"""Decision policies as released artifacts: register, gate, release (four-eyes where
``release.approvals`` says so), approve or reject, roll back, list.

The path mirrors a model's: a policy version is registered from keel.yaml's ``decisions:``
section or a policy file (what ``keel decisions tune --write-policy`` writes), gated on the
champion's frozen benchmark set beside the policy in force (``keel.decisions.policy_gate``),
and put in force by a release row naming it, so the serving replicas pick it up for their next
requests exactly as they pick up a new champion, and every logged prediction carries its
digest. A rollback writes the policy that was in force before as a new release row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from keel.app.decisions import _benchmark, _decisions_section, _policy_file
from keel.app.result import Result
from keel.app.use_case import use_case
from keel.config import check_decision_columns
from keel.decisions.frames import decide_frame
from keel.decisions.policy import DECIDING, DecisionsSpec
from keel.decisions.policy_gate import Decided, cost_check, rate_checks, realized_cost
from keel.decisions.versions import (
    PolicyApproval,
    PolicyGate,
    PolicyVersion,
    check_policy_approver,
    policy_label,
)
from keel.errors import ConfigError, Conflict, InvalidInput, PolicyViolation
from keel.identity.actor import Actor
from keel.identity.roles import Role
from keel.registry.releases import Release, ReleaseState, next_release, policy_stack
from keel.schema import Invalid
from keel.store.sql import SqlUnit
from keel.types import utcnow
from keel.wiring import Keel


@dataclass(frozen=True)
class Registered(Result):
    policy: PolicyVersion
    created: bool
    """False when the same deciding keys were registered before (that version is returned)."""


@dataclass(frozen=True)
class PolicyRelease(Result):
    """A release asked for: applied (``release``), or waiting for approvals."""

    policy: PolicyVersion
    release: Release | None
    approvals: list[PolicyApproval]
    needed: int


@dataclass(frozen=True)
class PolicyListing(Result):
    live: int | None
    """The version in force (None: keel.yaml's decisions section)."""
    live_digest: str
    policies: list[PolicyVersion]


@use_case(Role.OPERATOR, action="registering a decision policy", writes=True)
def register_policy(
    keel: Keel,
    actor: Actor,
    policy_file: Path | None = None,
    *,
    section: Mapping[str, Any] | None = None,
    note: str = "",
) -> Registered:
    """Register the deciding keys of ``policy_file`` or ``section`` (a ``decisions:`` mapping
    sent over HTTP), else keel.yaml's ``decisions:``, as the next policy version; the same keys
    registered before return that version."""
    spec, source = _candidate(keel, policy_file, section)
    digest = spec.digest()
    with keel.unit() as unit:
        found = unit.policies.by_digest(keel.project.name, digest)
        if found is not None:
            return Registered(found, created=False)
        policy = PolicyVersion(
            project=keel.project.name,
            version=unit.policies.next_version(keel.project.name),
            digest=digest,
            deciding=spec.deciding(),
            source=source,
            note=note.strip(),
            created_by=actor.name,
            created_at=utcnow(),
        )
        unit.policies.add(policy)
        unit.audit.append(
            actor=actor.name,
            action="decisions.register",
            subject=f"policy:{policy.label}",
            details={"digest": digest, "source": source, "note": policy.note},
        )
    return Registered(policy, created=True)


@use_case(Role.OPERATOR, action="gating a decision policy", writes=True)
def gate_policy(keel: Keel, actor: Actor, version: int) -> PolicyGate:
    """Judge policy ``version`` on the champion's frozen benchmark set beside the policy in
    force: the project's constraints and, with costs, its realized cost per record. A new gate
    result replaces the old and drops a pending release request (approvers see new evidence)."""
    with keel.reader() as unit:
        policy = unit.policies.get(keel.project.name, version)
        head = unit.releases.head(keel.project.name)
    live_version, live_spec = keel.live_decisions()
    candidate_spec = keel.project.decisions.with_deciding(policy.deciding)
    benchmark, _, frame, scores, positive = _benchmark(keel)
    champion = head.state.champion if head is not None else None
    if champion is None:  # pragma: no cover - _benchmark refuses a project with no champion
        raise Conflict("no champion is released")
    candidate = Decided(decide_frame(candidate_spec.policy(), scores, frame))
    live = Decided(decide_frame(live_spec.policy(), scores, frame))
    section = keel.project.decisions
    lowest = int(np.argmin(scores)) if scores.size else None
    checks = rate_checks(
        candidate,
        review_action=section.review.action,
        approve_action=None if lowest is None else candidate.decisions[lowest],
        constraints=section.constraints,
    )
    costs = section.costs or candidate_spec.costs
    per_record = None
    if costs is not None:
        pricing = costs.policy()
        amounts = frame[pricing.amount].cast(pl.Float64).to_numpy() if pricing.amount else None
        checks.append(cost_check(pricing, candidate, live, positive, amounts))
        before = realized_cost(pricing, live, positive, amounts)
        after = realized_cost(pricing, candidate, positive, amounts)
        if before is not None and after is not None:
            per_record = {"live": before, "candidate": after}
    gate = PolicyGate(
        champion=champion,
        benchmark=benchmark,
        rows=len(candidate.decisions),
        live=live_version,
        checks=tuple(checks),
        shares=candidate.shares(),
        evaluated_at=utcnow(),
        actor=actor.name,
        live_shares=live.shares(),
        cost_per_record=per_record,
    )
    with keel.unit() as unit:
        unit.policies.set_gate(keel.project.name, version, gate)
        unit.audit.append(
            actor=actor.name,
            action="decisions.gate",
            subject=f"policy:{policy.label}",
            details=gate.to_dict(),
        )
    return gate


@use_case(Role.OPERATOR, action="releasing a decision policy", writes=True)
def release_policy(keel: Keel, actor: Actor, version: int, *, reason: str = "") -> PolicyRelease:
    """Put policy ``version`` in force now, or ask for the approvals ``release.approvals``
    needs; its gate must have passed against the current champion."""
    needed = keel.release_policy().approvals
    with keel.unit() as unit:
        policy = unit.policies.get(keel.project.name, version)
        head = unit.releases.head(keel.project.name)
        _check_releasable(policy, head)
        if needed == 0:
            details = {"reason": reason} if reason else {}
            release = _apply(keel, unit, head, policy, actor, "policy", details)
            return PolicyRelease(policy, release, [], needed)
        if policy.requested_by is not None:
            given = unit.policies.approvals(keel.project.name, version)
            return PolicyRelease(policy, None, given, needed)
        now = utcnow()
        unit.policies.request(keel.project.name, version, actor.name, now)
        unit.audit.append(
            actor=actor.name,
            action="decisions.release.requested",
            subject=f"policy:{policy.label}",
            details={"approvals_needed": needed, "reason": reason},
        )
        return PolicyRelease(
            replace(policy, requested_by=actor.name, requested_at=now), None, [], needed
        )


@use_case(Role.APPROVER, action="approving a decision policy", writes=True)
def approve_policy(keel: Keel, actor: Actor, version: int, *, note: str = "") -> PolicyRelease:
    """Approve the pending release of policy ``version`` (an approver other than the requester);
    the last approval needed puts it in force."""
    needed = keel.release_policy().approvals
    with keel.unit() as unit:
        policy = _pending(unit, keel.project.name, version)
        given = unit.policies.approvals(keel.project.name, version)
        check_policy_approver(actor, policy, given)
        head = unit.releases.head(keel.project.name)
        _check_releasable(policy, head)
        approval = PolicyApproval(actor.name, note, utcnow())
        unit.policies.approve(keel.project.name, version, approval)
        unit.audit.append(
            actor=actor.name,
            action="decisions.approve",
            subject=f"policy:{policy.label}",
            details={"requester": policy.requested_by, "note": note},
        )
        given = [*given, approval]
        if len(given) < needed:
            return PolicyRelease(policy, None, given, needed)
        details = {"requester": policy.requested_by, "approvers": [a.approver for a in given]}
        release = _apply(keel, unit, head, policy, actor, "policy", details)
        unit.policies.close_request(keel.project.name, version)
        return PolicyRelease(replace(policy, requested_by=None), release, given, needed)


@use_case(Role.APPROVER, action="rejecting a decision policy", writes=True)
def reject_policy(keel: Keel, actor: Actor, version: int, *, note: str) -> PolicyVersion:
    """Turn the pending release of policy ``version`` down with a written ``note``."""
    if not note.strip():
        raise InvalidInput("a rejection needs a note saying why", path="note")
    with keel.unit() as unit:
        policy = _pending(unit, keel.project.name, version)
        unit.policies.close_request(keel.project.name, version)
        unit.audit.append(
            actor=actor.name,
            action="decisions.reject",
            subject=f"policy:{policy.label}",
            details={"requester": policy.requested_by, "note": note.strip()},
        )
    return replace(policy, requested_by=None, requested_at=None)


@use_case(Role.OPERATOR, action="rolling back the decision policy", writes=True)
def rollback_policy(keel: Keel, actor: Actor, *, reason: str = "") -> Release:
    """Put back the policy in force before the current one (keel.yaml's section before the
    first), as a new release row; each rollback walks back one policy change."""
    with keel.unit() as unit:
        head = unit.releases.head(keel.project.name)
        history = list(reversed(unit.releases.history(keel.project.name, limit=1_000_000)))
        stack = policy_stack(history)
        if head is None or len(stack) < 2:
            raise Conflict(
                "no released decision policy is in force to roll back from; keel.yaml's"
                " decisions section decides",
                hint="'keel decisions policies' shows the versions and which one is in force",
            )
        target = stack[-2]
        state = replace(head.state, policy=target)
        release = next_release(
            head,
            state,
            project=keel.project.name,
            action="policy_rollback",
            actor=actor.name,
            at=utcnow(),
            reason=reason or None,
            details={"policy": policy_label(target), "from": policy_label(stack[-1])},
        )
        unit.releases.add(release)
        unit.audit.append(
            actor=actor.name,
            action="release.policy_rollback",
            subject=f"policy:{policy_label(target)}",
            details={"release": release.id, "from": policy_label(stack[-1]), "reason": reason},
        )
        return release


@use_case(Role.VIEWER, action="listing decision policies")
def list_policies(keel: Keel, actor: Actor) -> PolicyListing:
    """Every registered version, newest first, and the one in force."""
    live, spec = keel.live_decisions()
    with keel.reader() as unit:
        found = unit.policies.all(keel.project.name)
    return PolicyListing(live, spec.digest(), found)


@use_case(Role.VIEWER, action="showing a decision policy")
def show_policy(keel: Keel, actor: Actor, version: int) -> PolicyRelease:
    """One version with its gate and the approvals its pending release has."""
    with keel.reader() as unit:
        policy = unit.policies.get(keel.project.name, version)
        given = unit.policies.approvals(keel.project.name, version)
    return PolicyRelease(policy, None, given, keel.release_policy().approvals)


def _candidate(
    keel: Keel, policy_file: Path | None, section: Mapping[str, Any] | None
) -> tuple[DecisionsSpec, str]:
    """The project's section with the candidate's deciding keys, checked against the contract."""
    if policy_file is not None:
        spec, source = _read_section(keel, policy_file), str(policy_file)
    elif section is not None:
        spec, source = _over_project(keel, section, "request"), "request"
    else:
        spec, source = keel.project.decisions, "keel.yaml"
    if not spec.policy().decides:
        raise ConfigError(
            f"{source}: a released policy decides: give decisions.thresholds or decisions.costs",
            source=source,
            path="decisions.thresholds",
        )
    try:
        check_decision_columns(spec, keel.data_schema().specs)
    except Invalid as exc:
        raise ConfigError(f"{source}: {exc.message}", source=source, path=exc.at) from None
    return spec, source


def _read_section(keel: Keel, path: Path) -> DecisionsSpec:
    """A policy file's deciding keys over the project's section (a key the file leaves out,
    such as the costs that price a threshold policy, stays as keel.yaml has it); the keys that
    belong to the project (review, constraints, risk control, KPI limits) are refused, naming
    the key."""
    return _over_project(keel, _policy_file(path), str(path))


def _over_project(keel: Keel, data: object, source: str) -> DecisionsSpec:
    """``data`` (a ``decisions:`` section, or a mapping holding one) over keel.yaml's."""
    data = _decisions_section(data, source)
    foreign = [key for key in data if key not in DECIDING and key in DecisionsSpec.model_fields]
    if foreign:
        raise ConfigError(
            f"{source}: decisions.{foreign[0]} belongs to the project (keel.yaml), not to a"
            f" released policy; a policy holds {', '.join(DECIDING)}",
            source=source,
            path=f"decisions.{foreign[0]}",
        )
    try:
        current = keel.project.decisions
        return current.with_deciding({**current.deciding(), **data})
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc.message}", source=source, path=exc.path) from None


def _check_releasable(policy: PolicyVersion, head: Release | None) -> None:
    """Refuse a release the gate does not back: never gated, failed, or gated against
    another champion than the one serving now."""
    gate = policy.gate
    if gate is None:
        raise Conflict(
            f"policy {policy.label} has not been gated",
            hint=f"gate it first: keel decisions gate {policy.label}",
        )
    if not gate.passed:
        failed = "; ".join(f"{c.name}: {c.detail}" for c in gate.failed)
        raise PolicyViolation(
            f"policy {policy.label} failed its gate: {failed}",
            hint="change the policy (keel decisions tune), register and gate it again",
        )
    champion = head.state.champion if head is not None else None
    if champion != gate.champion:
        raise Conflict(
            f"policy {policy.label} was gated on v{gate.champion}'s scores, and the champion is"
            f" now {'none' if champion is None else f'v{champion}'}",
            hint=f"gate it again: keel decisions gate {policy.label}",
        )
    if head is not None and head.state.policy == policy.version:
        raise Conflict(f"policy {policy.label} is already in force")


def _pending(unit: SqlUnit, project: str, version: int) -> PolicyVersion:
    policy = unit.policies.get(project, version)
    if policy.requested_by is None:
        raise Conflict(
            f"no release of policy {policy.label} is waiting for approval",
            hint=f"ask for one first: keel decisions release {policy.label}",
        )
    return policy


def _apply(  # noqa: PLR0917 - one call site per way a policy comes into force
    keel: Keel,
    unit: SqlUnit,
    head: Release | None,
    policy: PolicyVersion,
    actor: Actor,
    action: str,
    details: dict[str, Any],
) -> Release:
    """The release row that puts ``policy`` in force, with its audit event."""
    state = replace(head.state if head is not None else ReleaseState(), policy=policy.version)
    release = next_release(
        head,
        state,
        project=keel.project.name,
        action=action,
        actor=actor.name,
        at=utcnow(),
        details={"policy": policy.label, "digest": policy.digest, **details},
    )
    unit.releases.add(release)
    unit.audit.append(
        actor=actor.name,
        action=f"release.{action}",
        subject=f"policy:{policy.label}",
        details={"release": release.id, "digest": policy.digest, **details},
    )
    return release
