"""The automation plane: the agent's passes (``tick``, ``run``), what it would do (``plan``), its
state and journal (``status``, ``history``, ``explain``), its kill switch (``pause``,
``resume``) and a person's approval of what it proposed (``approve``).

The agent acts as its own identity, ``keel-agent``, an operator (``_agent_steps.AGENT``):
whoever starts a pass needs the operator role, but what the pass changes is recorded as the
agent's, and the agent can never approve (approving needs the approver role, and a person other
than the requester). ``keel.automation`` holds the policy, the canary statistics and the
planner; ``_agent_steps`` the pass itself.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from keel.app._agent_steps import AGENT, AgentPass, OnStep
from keel.app.result import Result
from keel.app.use_case import use_case
from keel.audit.events import AuditEvent
from keel.automation.journal import ActionStatus, AgentAction, Controls, Step
from keel.automation.planner import Decision
from keel.errors import Conflict, PermissionDenied, StorageUnavailable
from keel.identity.actor import Actor
from keel.identity.roles import Role
from keel.types import utcnow
from keel.wiring import Keel


@dataclass(frozen=True)
class PassResult(Result):
    """What one pass of the agent did: whether it led, whether it was paused, what happened."""

    leader: bool
    paused: bool
    events: tuple[str, ...]
    actions: tuple[AgentAction, ...]


def _passed(agent: AgentPass) -> PassResult:
    report = agent.run()
    return PassResult(report.leader, report.paused, tuple(report.events), tuple(report.actions))


def _surviving(agent: AgentPass) -> PassResult:
    """A pass of the loop: an unreachable (or locked) database ends the pass, not the loop;
    the journal lets the next pass go on where this one stopped, without doing a step twice."""
    try:
        return _passed(agent)
    except StorageUnavailable as exc:
        what = "locked" if "locked" in exc.message else "unreachable"
        event = f"metadata database {what}, the next pass goes on: {exc.message}"
        return PassResult(False, False, (event,), ())


@use_case(Role.OPERATOR, action="running the agent", writes=True)
def tick(
    keel: Keel, actor: Actor, *, holder: str | None = None, on_step: OnStep | None = None
) -> PassResult:
    """One pass (for cron or a CronJob): lead if no other agent does, take the next step of the
    action in flight, start what the triggers ask for; then give the lease up."""
    agent = AgentPass(keel, holder=holder, on_step=on_step)
    try:
        return _passed(agent)
    finally:
        agent.release_lease()


@use_case(Role.OPERATOR, action="running the agent", writes=True)
def run(
    keel: Keel,
    actor: Actor,
    *,
    interval_seconds: float = 30.0,
    passes: int | None = None,
    on_pass: Callable[[PassResult], None] | None = None,
    holder: str | None = None,
    on_step: OnStep | None = None,
) -> int:
    """The reconcile loop: a pass every ``interval_seconds`` (``passes`` of them, or until
    interrupted), keeping the lease between passes; returns the number of passes made."""
    agent = AgentPass(keel, holder=holder, on_step=on_step)
    made = 0
    try:
        while passes is None or made < passes:
            result = _surviving(agent)
            made += 1
            if on_pass is not None:
                on_pass(result)
            if passes is None or made < passes:
                time.sleep(interval_seconds)
    finally:
        with contextlib.suppress(StorageUnavailable):
            agent.release_lease()
    return made


@dataclass(frozen=True)
class Plan(Result):
    """What a pass would do now, and why; nothing was changed to find out."""

    paused: bool
    decisions: tuple[Decision, ...]
    next_steps: dict[str, str]  # open action id -> the step it would take next


@use_case(Role.VIEWER, action="reading the agent's plan")
def plan(keel: Keel, actor: Actor) -> Plan:
    """The decisions the triggers ask for now and each open action's next step."""
    agent = AgentPass(keel)
    with keel.reader() as unit:
        controls = unit.agent.controls(keel.project.name)
        open_actions = unit.agent.actions(keel.project.name, open_only=True)
    steps = {a.id: _next_step(agent, a) for a in open_actions}
    return Plan(controls.paused, tuple(agent.decisions()), steps)


def _next_step(agent: AgentPass, action: AgentAction) -> str:
    if action.status is ActionStatus.PROPOSED:
        return f"waits for approval: keel agent approve {action.id}"
    for name in agent.steps(action.kind):
        if action.done(name) is None:
            return name
        if name.startswith("canary:") and action.done(f"passed:{name}") is None:
            return f"judge {name}"
    return "finish"


@dataclass(frozen=True)
class AgentStatus(Result):
    """The kill switch, the leader, the cooldown, the budgets used, the actions in flight."""

    enabled: bool
    dry_run: bool
    controls: Controls
    spent: dict[str, str]
    open: tuple[AgentAction, ...]


@use_case(Role.VIEWER, action="reading the agent's status")
def status(keel: Keel, actor: Actor) -> AgentStatus:
    """Whether the agent is paused, who leads, what it has spent and what is in flight."""
    from datetime import timedelta  # noqa: PLC0415

    policy = keel.project.automation
    project = keel.project.name
    now = utcnow()
    with keel.reader() as unit:
        controls = unit.agent.controls(project)
        spent = {}
        for kind in ("retrain", "canary"):
            limit, hours = policy.budgets.limit(kind)
            used = unit.agent.spent(project, kind, now - timedelta(hours=hours))
            spent[kind] = f"{used} of {limit} in {hours} h"
        open_actions = unit.agent.actions(project, open_only=True)
    return AgentStatus(policy.enabled, policy.dry_run, controls, spent, tuple(open_actions))


@use_case(Role.VIEWER, action="reading the agent's journal")
def history(keel: Keel, actor: Actor, *, limit: int = 20) -> list[AgentAction]:
    """The agent's actions, newest first."""
    with keel.reader() as unit:
        return unit.agent.actions(keel.project.name, limit=limit)


@dataclass(frozen=True)
class Explanation(Result):
    """One action with every audit event about it: the rule, the evidence, each step, each
    canary verdict (per metric: n, the estimate, its interval, the threshold), the outcome."""

    action: AgentAction
    events: tuple[AuditEvent, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.action.to_dict(),
            "events": [
                {"seq": e.seq, "at": e.at, "action": e.action, "details": e.details}
                for e in self.events
            ],
        }


@use_case(Role.VIEWER, action="explaining an agent action")
def explain(keel: Keel, actor: Actor, seq: int) -> Explanation:
    """Why the agent took (or proposed, or skipped) action ``seq`` and what came of it."""
    project = keel.project.name
    with keel.reader() as unit:
        action = unit.agent.get(project, seq)
        events = unit.audit.recent(limit=500, subject=f"agent:{project}#{action.id}")
    return Explanation(action, tuple(reversed(events)))


@use_case(Role.OPERATOR, action="pausing the agent", writes=True)
def pause(keel: Keel, actor: Actor, *, reason: str | None = None) -> Controls:
    """The kill switch: the agent starts nothing more, and an action in flight stops before
    its next step (what already serves stays; ``keel release`` changes it by hand)."""
    return _switch(keel, actor, paused=True, reason=reason)


@use_case(Role.OPERATOR, action="resuming the agent", writes=True)
def resume(keel: Keel, actor: Actor) -> Controls:
    """Undo ``pause``: the next pass goes on where the agent stopped."""
    return _switch(keel, actor, paused=False, reason=None)


def _switch(keel: Keel, actor: Actor, *, paused: bool, reason: str | None) -> Controls:
    project = keel.project.name
    with keel.unit() as unit:
        controls = unit.agent.set_paused(project, paused, actor.name, reason, utcnow())
        unit.audit.append(
            actor=actor.name,
            action="agent.pause" if paused else "agent.resume",
            subject=f"agent:{project}",
            details={"reason": reason},
        )
    return controls


@use_case(Role.APPROVER, action="approving an agent action", writes=True)
def approve(keel: Keel, actor: Actor, seq: int, *, note: str = "") -> AgentAction:
    """Approve what action ``seq`` waits for (its start, or its shadow, canary or promotion
    step), as a person other than the agent; the next pass goes on."""
    if actor.name == AGENT.name or actor.via == "agent":
        raise PermissionDenied("the agent cannot approve its own proposals", actor=actor.name)
    project = keel.project.name
    with keel.unit() as unit:
        action = unit.agent.get(project, seq)
        kind = _awaited(action)
        step = Step(f"approved:{kind}", "done", utcnow(), {"by": actor.name, "note": note})
        saved = unit.agent.step(project, seq, step, None)
        unit.audit.append(
            actor=actor.name,
            action="agent.approve",
            subject=f"agent:{project}#{action.id}",
            details={"action": action.id, "approved": kind, "note": note},
        )
    return saved


def _awaited(action: AgentAction) -> str:
    """What ``action`` waits for a person to approve; ``Conflict`` when nothing."""
    if action.status is ActionStatus.PROPOSED and not any(
        s.name == f"approved:{action.kind}" for s in action.steps
    ):
        return action.kind
    if action.status is ActionStatus.RUNNING:
        waiting = [s.name.split(":", 1)[1] for s in action.steps if s.state == "waiting"]
        approved = {s.name.split(":", 1)[1] for s in action.steps if s.name.startswith("approved:")}
        pending = [kind for kind in waiting if kind not in approved]
        if pending:
            return pending[-1]
    raise Conflict(f"{action.id} waits for no approval ({action.status.value})")
