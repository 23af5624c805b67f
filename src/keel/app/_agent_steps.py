"""The agent's reconcile pass: observe, decide with the policy, act through the use cases.

``AgentPass`` is one tick. It takes the leader lease, stops if the agent is paused, advances the
action in flight by one step (or judges its canary), and starts what the triggers ask for. Every
change goes through the same use-case bodies a person's command runs (``train``, ``register``,
``gate``, ``shadow``, ``canary``, ``promote``, ``rollback``) as the agent's own identity, an
operator: it cannot approve (approving needs the approver role, and never one's own request).

Each step is journaled ``started`` before it changes anything and ``done`` after; a step found
``started`` without ``done`` (the process died) is done again, and each step first checks
whether the world already shows it (the version in shadow, the canary at that share, a run
tagged with the action's key), so nothing happens twice. ``on_step(event, step)`` is told
``started``, ``applied`` (the change is made, the journal not yet told) and ``done``, or
``failed`` (recorded so, before the action is compensated).
"""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from keel.automation.canary import Analysis, Arm, Verdict, analyse
from keel.automation.journal import ActionStatus, AgentAction, Guard, Step
from keel.automation.planner import (
    Decision,
    Labels,
    Observations,
    Observed,
    Overrides,
    SegmentOverrides,
    estimates_of,
    plan,
)
from keel.automation.policy import AutomationSpec, Mode
from keel.errors import Conflict, KeelError, PolicyViolation, StorageUnavailable
from keel.identity.actor import Actor
from keel.identity.roles import Role
from keel.monitoring.incidents import Breach, IncidentEvent, IncidentStatus, opened
from keel.registry.releases import Release
from keel.types import utcnow
from keel.wiring import Keel

AGENT = Actor("keel-agent", Role.OPERATOR, "agent")
"""Who the agent acts as: an operator, so it may change the release but never approve."""

OnStep = Callable[[str, str], None]
MAX_STEPS_PER_PASS = 32
SINGLE_STEP = {
    "rollback": "rollback",
    "pause_model": "pause",
    "open_review_items": "review",
    "notify": "notify",
}
"""The actions of one step, and the name of their step."""


@dataclass
class PassReport:
    """What one pass did: each line an event, each touched action."""

    leader: bool
    paused: bool
    events: list[str] = field(default_factory=list)
    actions: list[AgentAction] = field(default_factory=list)


class AgentPass:
    """One reconcile pass of the agent over one project (see the module docstring)."""

    def __init__(
        self,
        keel: Keel,
        *,
        holder: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        on_step: OnStep | None = None,
    ) -> None:
        self.keel = keel
        self.policy: AutomationSpec = keel.project.automation
        self.project = keel.project.name
        self.holder = holder or self.process_name()
        self.clock = clock
        self.on_step = on_step or (lambda _event, _step: None)

    @staticmethod
    def process_name() -> str:
        """This process, as the lease names it."""
        return f"agent@{socket.gethostname()}:{os.getpid()}"

    # --- observing -------------------------------------------------------------------------

    def decisions(self) -> list[Decision]:
        """What the triggers ask for now, without the keys already answered."""
        with self.keel.reader() as unit:
            incidents = [
                Observed(i.seq, i.category, i.severity.value, i.title)
                for status in (IncidentStatus.OPEN, IncidentStatus.ACKED)
                for i in unit.incidents.all(self.project, status=status)
            ]
            chunks = unit.monitors.chunks(self.project, limit=1)
            answered = [a.key for a in unit.agent.actions(self.project, limit=1000)]
        estimates = estimates_of(chunks[-1].label, chunks[-1].results) if chunks else []
        observed = Observations(
            incidents, estimates, self._labels(), self.clock(), self._overrides()
        )
        return plan(self.policy, observed, answered=answered)

    def _labels(self) -> Labels | None:
        """The latest labels version and the labelled rows added since the champion's."""
        if not any(t.when == "new_labels" for t in self.policy.triggers):
            return None
        head, _ = self.keel.registry().status()
        with self.keel.reader() as unit:
            latest = unit.datasets.latest(self.keel.labels_dataset)
            if latest is None:
                return None
            trained = 0
            if head is not None and head.state.champion is not None:
                champion = unit.models.get(self.project, head.state.champion)
                if champion.labels_version is not None:
                    trained = unit.datasets.get(
                        self.keel.labels_dataset, champion.labels_version
                    ).rows
        return Labels(latest.version, latest.rows - trained)

    def _overrides(self) -> Overrides | None:
        """The champion's automatic decisions that reviewers settled, and how many they
        changed (the review action and ``defer`` decide nothing a person could override)."""
        if not any(t.when == "override_rate" for t in self.policy.triggers):
            return None
        head, _ = self.keel.registry().status()
        if head is None or head.state.champion is None:
            return None
        from keel.app.review import _queue  # noqa: PLC0415 - only this trigger reads reviews
        from keel.decisions.states import ItemState  # noqa: PLC0415

        model = f"{self.project}/v{head.state.champion}"
        queue = _queue(self.keel)
        not_automatic = (queue.spec.action, "defer", None)
        settled = [
            item
            for item in queue.items(state=ItemState.RESOLVED, limit=1_000_000)
            if item.model == model and item.decision not in not_automatic
        ]
        changed = sum(item.resolution != item.decision for item in settled)
        segments: tuple[SegmentOverrides, ...] = ()
        if any(getattr(t, "by_segment", False) for t in self.policy.triggers):
            segments = self._segment_overrides(settled)
        return Overrides(model, len(settled), changed, segments)

    def _segment_overrides(self, settled: list[Any]) -> tuple[SegmentOverrides, ...]:
        """The settled items per segment, as ``keel review stats`` breaks them down: by each
        value of the decision policy's segment column (else the benchmark's slices), read from
        the logged inputs of each item's prediction."""
        from keel.app.review import _segment_values  # noqa: PLC0415

        values = _segment_values(self.keel, {item.prediction_id for item in settled})
        tally: dict[tuple[str, str], list[int]] = {}
        for item in settled:
            for column, value in values.get(item.prediction_id, {}).items():
                counts = tally.setdefault((column, str(value)), [0, 0])
                counts[0] += 1
                counts[1] += item.resolution != item.decision
        return tuple(
            SegmentOverrides(column, value, reviewed, changed)
            for (column, value), (reviewed, changed) in sorted(tally.items())
        )

    # --- the pass --------------------------------------------------------------------------

    def run(self) -> PassReport:
        now = self.clock()
        with self.keel.unit() as unit:
            lease = unit.agent.acquire(self.project, self.holder, now, self.policy.lease_seconds)
            controls = unit.agent.controls(self.project)
        if lease is None:
            holder = controls.lease.holder if controls.lease else "another agent"
            return PassReport(False, controls.paused, [f"{holder} leads; this agent waits"])
        report = PassReport(True, controls.paused)
        if controls.paused:
            report.events.append(f"paused by {controls.paused_by}: nothing is done")
            return report
        try:
            self._advance_open(report)
            self._start_new(report)
        except (PolicyViolation, Conflict) as exc:  # paused meanwhile, the lease lost: stop
            report.events.append(exc.message)
        return report

    def release_lease(self) -> None:
        with self.keel.unit() as unit:
            unit.agent.release(self.project, self.holder)

    def _advance_open(self, report: PassReport) -> None:
        with self.keel.reader() as unit:
            running = [
                a
                for a in unit.agent.actions(self.project, open_only=True)
                if a.status is ActionStatus.RUNNING or self._approved(a, a.kind)
            ]
        for found in reversed(running):
            action = self._begin(found, report) if found.status is ActionStatus.PROPOSED else found
            if action.status is ActionStatus.RUNNING:
                report.actions.append(self._advance_all(action, report))

    def _start_new(self, report: PassReport) -> None:
        for decision in self.decisions():
            action = self._journal(decision, report)
            if action is not None and action.status is ActionStatus.RUNNING:
                report.actions.append(self._advance_all(action, report))

    # --- starting --------------------------------------------------------------------------

    def _guard(self, kind: str) -> Guard:
        budget = None
        if kind == "retrain":
            limit, hours = self.policy.budgets.limit("retrain")
            budget = ("retrain", limit, hours)
        return Guard(holder=self.holder, budget=budget, cooldown=kind == "retrain")

    def _journal(self, decision: Decision, report: PassReport) -> AgentAction | None:
        """Record a decision: skipped (forbidden, dry run), proposed (needs approval), or
        started with every guard taken; a refused guard is recorded as rejected."""
        now = self.clock()
        status = ActionStatus.RUNNING
        if decision.dry_run or decision.mode is Mode.FORBIDDEN:
            status = ActionStatus.SKIPPED
        elif decision.mode is Mode.NEEDS_APPROVAL:
            status = ActionStatus.PROPOSED
        action = AgentAction(
            project=self.project,
            seq=0,
            key=decision.key,
            kind=decision.kind,
            rule=decision.rule,
            mode="dry_run" if decision.dry_run else decision.mode.value,
            status=status,
            actor=AGENT.name,
            created_at=now,
            updated_at=now,
            evidence=decision.evidence,
        )
        try:
            with self.keel.unit() as unit:
                self._renew(unit, now)
                action = unit.agent.start(action, self._guard(decision.kind), now)
                self._audit(unit, action, "agent.decide", {"decision": decision.to_dict()})
        except (Conflict, PolicyViolation) as exc:
            if "paused" in exc.message or "lease" in exc.message:
                raise PolicyViolation(exc.message) from exc
            self._rejected(action, exc, report)
            return None
        report.events.append(f"{action.id} {action.kind}: {action.status.value} ({action.rule})")
        if status is not ActionStatus.RUNNING:
            report.actions.append(action)
        return action

    def _rejected(self, action: AgentAction, exc: KeelError, report: PassReport) -> None:
        """A guard refused it: journal the refusal once (same key), so it explains itself."""
        report.events.append(f"{action.key}: not started: {exc.message}")
        if "cools down" in exc.message or "in flight" in exc.message:
            return  # not final: the trigger may start it once the guard lifts
        refused = replace(action, status=ActionStatus.REJECTED, outcome={"refused": exc.message})
        with self.keel.unit() as unit:
            done = unit.agent.start(refused, self._guard(action.kind), self.clock())
            self._audit(unit, done, "agent.decide", {"refused": exc.message})
        report.actions.append(done)

    def _begin(self, action: AgentAction, report: PassReport) -> AgentAction:
        """An approved proposal starts, taking its guards now."""
        running = replace(action, status=ActionStatus.RUNNING, steps=())
        try:
            with self.keel.unit() as unit:
                now = self.clock()
                self._renew(unit, now)
                started = unit.agent.start(running, self._guard(action.kind), now)
                self._audit(unit, started, "agent.start", {"approved": True})
        except (Conflict, PolicyViolation) as exc:
            report.events.append(f"{action.id}: approved, not started yet: {exc.message}")
            return action
        return started

    # --- advancing -------------------------------------------------------------------------

    def steps(self, kind: str) -> list[str]:
        """The steps of an action of ``kind``, as the policy shapes them."""
        if kind in SINGLE_STEP:
            return [SINGLE_STEP[kind]]
        names = ["train", "register", "gate"]
        if self.policy.mode("shadow") is not Mode.FORBIDDEN:
            names.append("shadow")
        if self.policy.mode("canary") is not Mode.FORBIDDEN:
            names += [f"canary:{share:g}" for share in self.policy.canary.steps]
        if self.policy.mode("promote") is not Mode.FORBIDDEN:
            names.append("promote")
        return names

    def _advance_all(self, action: AgentAction, report: PassReport) -> AgentAction:
        """Step ``action`` on until it waits (a canary on hold, an approval) or ends."""
        for _ in range(MAX_STEPS_PER_PASS):
            before = len(action.steps)
            action = self._advance(action, report)
            if action.status is not ActionStatus.RUNNING or len(action.steps) == before:
                break
        return action

    def _advance(self, action: AgentAction, report: PassReport) -> AgentAction:
        """Take the next step of ``action`` (or judge its canary); one change per pass."""
        ending = self._unrecorded_end(action)
        if ending is not None:
            return ending(report)
        for name in self.steps(action.kind):
            if action.done(name) is None:
                return self._step(action, name, report)
            if name.startswith("canary:") and action.done(f"passed:{name}") is None:
                return self._judge(action, name, report)
        return self._finish(action, ActionStatus.DONE, {"result": "every step done"}, report)

    def _unrecorded_end(self, action: AgentAction) -> Callable[[PassReport], AgentAction] | None:
        """How ``action`` ends when a pass decided its end but could not record it (the
        database went away in between): a refused gate, a failed step, a compensation. Going
        on with the next step instead would serve a refused candidate or redo a failed step."""
        rolled_back = action.done("rolled_back")
        if rolled_back is not None:
            reason = str(rolled_back.details.get("reason"))
            outcome = {"result": reason, "resumed": True}
            outcome["stopped"] = rolled_back.details.get("stopped", [])
            breaches = [Breach(**b) for b in rolled_back.details.get("breaches", [])]

            def end(report: PassReport) -> AgentAction:
                if breaches:  # the canary's verdict: its incident, if not opened before
                    outcome["incident"] = self._incident(action, reason, breaches)
                return self._finish(action, ActionStatus.FAILED, outcome, report)

            return end
        failed = next(
            (s for s in action.steps if s.state == "failed" and action.done(s.name) is None), None
        )
        if failed is not None:
            reason = f"{failed.name} failed: {failed.details.get('error')}"
            return lambda report: self._compensate(action, reason, report)
        gate = action.done("gate")
        if gate is not None and not gate.details.get("passed"):
            outcome = _refused(gate.details)
            return lambda report: self._finish(action, ActionStatus.FAILED, outcome, report)
        return None

    def _step_kind(self, name: str) -> str:
        return name.split(":", 1)[0]

    def _approved(self, action: AgentAction, kind: str) -> bool:
        return any(s.name == f"approved:{kind}" for s in action.steps)

    def _needs_person(self, action: AgentAction, name: str) -> bool:
        kind = self._step_kind(name)
        if kind not in ("shadow", "canary", "promote"):
            return False
        if self.policy.mode(kind) is not Mode.NEEDS_APPROVAL:
            return False
        if kind == "promote" and self.keel.release_policy().approvals > 0:
            return False  # the registry's own promotion request is the proposal
        return not self._approved(action, kind)

    def _step(self, action: AgentAction, name: str, report: PassReport) -> AgentAction:
        if self._needs_person(action, name):
            kind = self._step_kind(name)
            if not any(s.name == f"awaiting:{kind}" for s in action.steps):
                action = self._record(action, Step(f"awaiting:{kind}", "waiting", self.clock()))
            report.events.append(f"{action.id}: {kind} waits for approval (keel agent approve)")
            return action
        budget = None
        if name == f"canary:{self.policy.canary.steps[0]:g}":
            budget = ("canary", *self.policy.budgets.limit("canary"))
        # a step started again (its first start's end was never recorded) keeps the release it
        # first started from: its own change must not become its starting point
        first = next((s for s in action.steps if s.name == name and s.state == "started"), None)
        before = first.details.get("release_before") if first is not None else None
        if before is None:
            before = self._head_seq()
        started = Step(name, "started", self.clock(), {"release_before": before})
        try:
            action = self._record(action, started, budget=budget)
        except PolicyViolation as exc:
            if "paused" in exc.message:
                raise
            return self._compensate(action, f"{name} not started: {exc.message}", report)
        self.on_step("started", name)
        try:
            details = self._do(action, name)
        except StorageUnavailable:
            raise  # not the step's fault: the next pass does it again
        except KeelError as exc:
            self._record(action, Step(name, "failed", self.clock(), {"error": exc.message}))
            self.on_step("failed", name)
            return self._compensate(action, f"{name} failed: {exc.message}", report)
        self.on_step("applied", name)
        action = self._record(action, Step(name, "done", self.clock(), details))
        self.on_step("done", name)
        report.events.append(f"{action.id}: {name} done")
        if name == "notify" and not details.get("delivered"):
            why = f"the notice was not delivered: {details.get('error')}"
            return self._finish(
                action, ActionStatus.FAILED, {"result": why, "notice": details}, report
            )
        if name == "gate" and not details.get("passed"):
            return self._finish(action, ActionStatus.FAILED, _refused(details), report)
        return action

    def _record(
        self, action: AgentAction, step: Step, *, budget: tuple[str, int, int] | None = None
    ) -> AgentAction:
        with self.keel.unit() as unit:
            if step.state == "started":  # a long step (training) may outlive the lease
                self._renew(unit, step.at)
            saved = unit.agent.step(self.project, action.seq, step, self.holder, budget)
            self._audit(unit, saved, "agent.step", step.to_dict())
        return saved

    def _renew(self, unit: Any, now: datetime) -> None:
        """Renew the lease before starting anything: a step may have outlived it; only
        another agent having taken it over meanwhile stops this one."""
        if unit.agent.acquire(self.project, self.holder, now, self.policy.lease_seconds) is None:
            raise Conflict(f"{self.holder} lost the agent lease to another agent")

    def _audit(self, unit: Any, action: AgentAction, what: str, details: dict[str, Any]) -> None:
        unit.audit.append(
            actor=AGENT.name,
            action=what,
            subject=f"agent:{self.project}#{action.id}",
            details={"action": action.id, "kind": action.kind, "rule": action.rule, **details},
        )

    def _head_seq(self) -> int:
        head, _ = self.keel.registry().status()
        return head.seq if head else 0

    # --- the steps, each checking the world first --------------------------------------------

    def _version(self, action: AgentAction) -> int:
        registered = action.done("register")
        if registered is None:
            raise Conflict(f"{action.id} has no registered version")
        return int(registered.details["version"])

    def _do(self, action: AgentAction, name: str) -> dict[str, Any]:
        kind = self._step_kind(name)
        by_action: dict[str, Callable[[AgentAction], dict[str, Any]]] = {
            "train": self._train,
            "register": self._register,
            "rollback": self._rollback,
            "pause": self._pause,
            "review": self._review,
            "notify": self._notify,
        }
        if kind in by_action:
            return by_action[kind](action)
        version = self._version(action)
        if kind == "gate":
            return self._gate(version)
        if kind == "promote":
            return self._promote(version)
        return self._serve(version, name)

    def _register(self, action: AgentAction) -> dict[str, Any]:
        from keel.app.registry import register  # noqa: PLC0415 - the registry stack on use

        trained = action.done("train")
        if trained is None:  # pragma: no cover - _advance takes the steps in order
            raise Conflict(f"{action.id} has no trained run")
        run_id = str(trained.details["run"])
        registered = register.body(self.keel, AGENT, run_id)  # once per run: idempotent
        return {"version": registered.model.version, "run": run_id}

    def _gate(self, version: int) -> dict[str, Any]:
        """The gate, and the candidate re-scored from its stored artifact: a metric gate reads
        the benchmark results recorded when the run was registered, so the agent scores the
        stored bundle on the frozen rows itself and passes only if both agree and hold."""
        from keel.app.registry import gate  # noqa: PLC0415

        result = gate.body(self.keel, AGENT, version)
        rescored = self._rescored(version)
        agrees = all(r["agrees"] and r["passed"] for r in rescored)
        return {
            "gate": result.id,
            "passed": result.passed and agrees,
            "gate_passed": result.passed,
            "rescored": rescored,
            "version": version,
        }

    def _rescored(self, version: int) -> list[dict[str, Any]]:
        from keel.evaluation import get_metric  # noqa: PLC0415
        from keel.registry.policy import MetricGate  # noqa: PLC0415

        registry = self.keel.registry()
        specs = [g for g in registry.policy.gates if isinstance(g, MetricGate)]
        model = registry.model(version)
        benchmark = registry.policy.benchmark or next(iter(model.benchmarks), None)
        with self.keel.reader() as unit:
            frozen = unit.benchmarks.get(self.project, benchmark) if benchmark else None
        if not specs or frozen is None:
            return []
        target = registry.target
        frame = self.keel.rows.read(frozen.digest).filter(pl.col(target.column).is_not_null())
        labels = target.labels(frame[target.column])
        scores = registry.bundle(version).score(frame)
        found = []
        for spec in specs:
            value = float(get_metric(spec.metric).score(labels, scores, registry.metric_params))
            recorded = (model.benchmarks.get(benchmark or "", {}).get(spec.metric) or {}).get(
                "value"
            )
            found.append(
                {
                    "metric": spec.metric,
                    "rescored": value,
                    "recorded": recorded,
                    "agrees": recorded is not None and abs(float(recorded) - value) <= 1e-6,
                    "passed": (spec.min is None or value >= spec.min)
                    and (spec.max is None or value <= spec.max),
                }
            )
        return found

    def _serve(self, version: int, name: str) -> dict[str, Any]:
        """Shadow, or a canary step: unless the release already shows it."""
        from keel.app.registry import canary, shadow  # noqa: PLC0415

        head, _ = self.keel.registry().status()
        state = head.state if head else None
        if name == "shadow":
            if state is None or version not in state.shadow:
                shadow.body(self.keel, AGENT, version)
            return {"version": version, "release": self._head_seq()}
        share = float(name.split(":", 1)[1])
        if state is None or state.canary != version or state.canary_share != share:
            canary.body(self.keel, AGENT, version, share)
        return {"version": version, "share": share, "release": self._head_seq()}

    def _promote(self, version: int) -> dict[str, Any]:
        """A champion already, or a request already open, is done; else promote (or request)."""
        from keel.app.registry import promote  # noqa: PLC0415

        head, pending = self.keel.registry().status()
        if head is not None and head.state.champion == version:
            return {"version": version, "applied": True}
        if any(request.version == version for request in pending):
            return {"version": version, "applied": False, "requested": True}
        promotion = promote.body(self.keel, AGENT, version)
        return {
            "version": version,
            "applied": promotion.release is not None,
            "requested": promotion.request is not None,
        }

    def _train(self, action: AgentAction) -> dict[str, Any]:
        from keel.app.training import train  # noqa: PLC0415 - the training stack on use
        from keel.training.runs import RunStatus  # noqa: PLC0415

        with self.keel.reader() as unit:
            runs = unit.runs.list(self.project, limit=200)
        for run in runs:
            if action.key in run.tags and run.status is RunStatus.SUCCEEDED:
                return {"run": run.id, "resumed": True}
        for run in runs:
            if action.key in run.tags and run.status is RunStatus.RUNNING:
                self._abandoned(action, run)
        summary = train.body(self.keel, AGENT, tags=(action.key,))
        return {"run": summary.run.id, "data_version": summary.run.data_version}

    def _abandoned(self, action: AgentAction, run: Any) -> None:
        """A run of this action left running: its pass was cut off (the database went away, the
        agent was killed) before its end could be recorded. It is recorded failed, so that it
        does not stay 'running' for ever beside the run trained in its place."""
        from keel.training.runs import RunStatus  # noqa: PLC0415

        error = (
            f"abandoned: its end was never recorded (the metadata database went away or the"
            f" agent stopped); {action.id} trains again"
        )
        failed = replace(run, status=RunStatus.FAILED, finished_at=self.clock(), error=error)
        with self.keel.unit() as unit:
            unit.runs.finish(failed)
            unit.audit.append(
                actor=AGENT.name,
                action="training.run.failed",
                subject=f"run:{run.id}",
                details={"error": error, "action": action.id},
            )

    def _rollback(self, action: AgentAction) -> dict[str, Any]:
        from keel.app.registry import rollback  # noqa: PLC0415

        last = action.steps[-1] if action.steps else None
        before = int(last.details.get("release_before", 0)) if last else 0
        reason = f"{action.id}: {action.rule}"
        for change in self.keel.registry().history(limit=100):  # newest first
            if change.seq <= before:
                break
            if (
                change.action == "rollback"
                and change.actor == AGENT.name
                and change.reason == reason
            ):
                return {"release": change.id, "resumed": True}  # done before a crash: not twice
        release = rollback.body(self.keel, AGENT, reason=reason)
        return {"release": release.id, "champion": release.state.champion}

    def _release_before(self, action: AgentAction) -> int:
        """The head of the release when the last step started (journaled with it)."""
        last = action.steps[-1] if action.steps else None
        return int(last.details.get("release_before", 0)) if last else 0

    def _champion_label(self, action: AgentAction) -> str | None:
        """The champion when the step started (the one the evidence is about)."""
        before = self._release_before(action)
        with self.keel.reader() as unit:
            release: Release | None = (
                unit.releases.get(self.project, before)
                if before
                else unit.releases.head(self.project)
            )
        if release is None or release.state.champion is None:
            return None
        return f"{self.project}/v{release.state.champion}"

    def _pause(self, action: AgentAction) -> dict[str, Any]:
        """Pause the champion, unless this action paused it before a crash, or it is paused."""
        from keel.app.registry import pause  # noqa: PLC0415

        before = self._release_before(action)
        for release in self.keel.registry().history(limit=100):
            if release.seq <= before:
                break
            if release.action == "pause" and release.actor == AGENT.name:
                return {"release": release.id, "champion": release.state.champion, "resumed": True}
        head, _ = self.keel.registry().status()
        if head is not None and head.state.paused:
            return {"release": head.id, "champion": head.state.champion, "paused_by": head.actor}
        release = pause.body(self.keel, AGENT, reason=f"{action.id}: {action.rule}")
        return {"release": release.id, "champion": release.state.champion}

    def _review(self, action: AgentAction) -> dict[str, Any]:
        """Review items for a seeded sample of the champion's automatic decisions logged in the
        window before the action was decided: a restart draws the same sample, and items
        already open for it are not opened again."""
        from keel.app.review import open_sample  # noqa: PLC0415

        model = self._champion_label(action)
        if model is None:
            raise Conflict("there is no champion whose decisions could be reviewed")
        size = int(action.evidence.get("review_sample", self.policy.review_sample))
        days = int(action.evidence.get("window_days", self.policy.review_window_days))
        until = action.created_at
        since = until - timedelta(days=days)
        seed = int.from_bytes(hashlib.blake2b(action.key.encode(), digest_size=4).digest(), "big")
        sampled = open_sample.body(
            self.keel,
            AGENT,
            model=model,
            size=size,
            seed=seed,
            since=since,
            until=until,
            subject=f"agent:{self.project}#{action.id}",
            details={"action": action.id, "rule": action.rule},
        )
        window = {"since": since.isoformat(), "until": until.isoformat()}
        return {"model": model, "size": size, **window, **sampled.to_dict()}

    def _notify(self, action: AgentAction) -> dict[str, Any]:
        """The rule, the evidence and the champion on the monitor's webhook, unless a notice
        of this action was delivered before a crash. Nothing the receiver answers is read
        but its status."""
        from keel.app.monitoring import notify  # noqa: PLC0415

        subject = f"agent:{self.project}#{action.id}"
        with self.keel.reader() as unit:
            sent = list(unit.audit.recent(limit=500, subject=subject))
        for event in sent:
            if event.action == "monitor.notify":
                return {**event.details, "resumed": True}
        champion = self._champion_label(action)
        payload = {
            "event": "agent.notify",
            "action": action.id,
            "key": action.key,
            "rule": action.rule,
            "evidence": action.evidence,
            "champion": champion,
        }
        notice = notify.body(self.keel, AGENT, subject=subject, payload=payload)
        return {"champion": champion, **notice.to_dict()}

    # --- the canary ----------------------------------------------------------------------------

    def _judge(self, action: AgentAction, name: str, report: PassReport) -> AgentAction:
        """Look at the canary of this step; pass moves on, fail (or a long hold) rolls back."""
        first = action.done(f"canary:{self.policy.canary.steps[0]:g}")
        current = action.done(name)
        if first is None or current is None:  # pragma: no cover - _advance guarantees them
            raise Conflict(f"{action.id} has no canary step {name}")
        analysis = self.analysis(action, since=first.at, step_since=current.at)
        with self.keel.unit() as unit:
            self._audit(unit, action, "agent.canary", {"step": name, **analysis.to_dict()})
        report.events.append(f"{action.id}: {name} {analysis.verdict.value}: {analysis.reason}")
        if analysis.verdict is Verdict.PASS:
            return self._record(
                action, Step(f"passed:{name}", "done", self.clock(), analysis.to_dict())
            )
        deadline = current.at + timedelta(minutes=self.policy.canary.deadline_minutes)
        if analysis.verdict is Verdict.FAIL:
            return self._compensate(
                action, f"canary failed at {name}: {analysis.reason}", report, analysis
            )
        if self.clock() >= deadline:
            reason = f"canary held past its deadline at {name}: {analysis.reason}"
            return self._compensate(action, reason, report, analysis)
        return action

    def analysis(self, action: AgentAction, *, since: datetime, step_since: datetime) -> Analysis:
        """The canary against the champion on the same windows since the canary began."""
        version = self._version(action)
        label = self.keel.registry().model(version).label
        names = {m.name for m in self.policy.canary.metrics}
        frame = self._logged(since, outcomes="realized_roc_auc" in names)
        # the canary's requests: those it answered, and those the fallback chain answered
        # for it (the champion first), which are the canary's failures
        canary = frame.filter(
            (pl.col("route") == "canary")
            & ((pl.col("model") == label) | pl.col("fallback").is_not_null())
        )
        champion = frame.filter(pl.col("route") == "champion")
        step_requests = canary.filter(pl.col("time") >= step_since).height
        flips = None
        if "flip_rate" in names:
            flips = self._flips(frame, label)
        calibrated = "estimated_roc_auc" in names
        head, _ = self.keel.registry().status()
        served = head.state.champion if head is not None else None
        served_label = self.keel.registry().model(served).label if served is not None else None
        return analyse(
            self._arm(canary, version, label, calibrated=calibrated),
            self._arm(champion, served, served_label, calibrated=calibrated),
            self.policy.canary,
            flips=flips,
            step_requests=step_requests,
        )

    def _arm(
        self, frame: pl.DataFrame, version: int | None, label: str | None, *, calibrated: bool
    ) -> Arm:
        """One arm; with the calibrated probabilities of ``version`` when ``calibrated`` and
        its arrived outcomes when joined, both only where ``label`` gave the score (see
        ``keel.app._canary_arms``)."""
        from keel.app import _canary_arms as arms  # noqa: PLC0415 - the AUC metrics only

        scores = frame["score"].cast(pl.Float64).fill_null(float("nan")).to_numpy()
        probabilities = labels = None
        calibration = arms.calibration(self.keel, version) if calibrated and version else None
        if calibration is not None:
            probabilities = calibration(scores)
        if "label" in frame.columns:
            labels = frame["label"].cast(pl.Float64).fill_null(float("nan")).to_numpy()
        if label is not None:
            probabilities = None if probabilities is None else arms.own(frame, label, probabilities)
            labels = None if labels is None else arms.own(frame, label, labels)
        return _arm(frame, probabilities=probabilities, labels=labels)

    def _logged(self, since: datetime, *, outcomes: bool = False) -> pl.DataFrame:
        log = self.keel.prediction_log()
        try:
            columns = [
                "time",
                "request_id",
                "prediction_id",
                "entity_id",
                "model",
                "score",
                "decision",
                "fallback",
                "latency_ms",
                "route",
            ]
            lazy = log.scan().filter(pl.col("time") >= since).select(columns)
            if outcomes:
                from keel.app._canary_arms import with_outcomes  # noqa: PLC0415

                lazy = with_outcomes(self.keel, lazy)
            return lazy.collect()
        finally:
            log.close()

    def _flips(self, frame: pl.DataFrame, label: str) -> list[float]:
        shadow = frame.filter((pl.col("route") == "shadow") & (pl.col("model") == label))
        served = frame.filter(pl.col("route") == "champion")
        pairs = served.join(shadow, on="request_id", suffix="_shadow")
        return [
            float(a != b) for a, b in zip(pairs["decision"], pairs["decision_shadow"], strict=True)
        ]

    # --- ending --------------------------------------------------------------------------------

    def _compensate(
        self,
        action: AgentAction,
        reason: str,
        report: PassReport,
        analysis: Analysis | None = None,
    ) -> AgentAction:
        """Undo what serves of the candidate (canary, shadow), open an incident, fail."""
        from keel.app import registry as plane  # noqa: PLC0415

        undone: list[str] = []
        registered = action.done("register")
        if registered is not None:
            version = int(registered.details["version"])
            head, _ = self.keel.registry().status()
            if head is not None and head.state.canary == version:
                plane.canary.body(self.keel, AGENT, version, 0)  # the manual 'canary V 0'
                undone.append("canary")
            head, _ = self.keel.registry().status()
            if head is not None and version in head.state.shadow:
                plane.shadow.body(self.keel, AGENT, version, stop=True)
                undone.append("shadow")
        breaches = _breaches(action, reason, analysis) if analysis is not None else []
        details = {"stopped": undone, "reason": reason, "breaches": [b.to_dict() for b in breaches]}
        action = self._record(action, Step("rolled_back", "done", self.clock(), details))
        self.on_step("done", "rolled_back")
        incident = self._incident(action, reason, breaches) if breaches else None
        outcome = {"result": reason, "stopped": undone, "incident": incident}
        return self._finish(action, ActionStatus.FAILED, outcome, report)

    def _incident(self, action: AgentAction, reason: str, breaches: list[Breach]) -> int:
        """The canary incident that holds ``action``'s breaches: opened, or appended to the
        open one. Once only: a pass resumed after an outage finds the breaches already there."""
        now = self.clock()
        with self.keel.unit() as unit:
            current = unit.incidents.open_for(self.project, "canary")
            if current is not None and _holds(
                unit.incidents.events(self.project, current.seq), action
            ):
                return current.seq
            if current is None:
                incident = opened(
                    self.project, unit.incidents.next_seq(self.project), breaches, now
                )
                unit.incidents.add(incident)
            else:
                incident = current.appended(breaches, now)
                unit.incidents.update(incident)
            unit.incidents.add_event(
                self.project,
                IncidentEvent(
                    incident.seq,
                    now,
                    "opened",
                    AGENT.name,
                    {"breaches": [b.to_dict() for b in breaches]},
                ),
            )
            unit.audit.append(
                actor=AGENT.name,
                action="incident.opened",
                subject=f"incident:{self.project}#{incident.seq}",
                details={"category": "canary", "action": action.id, "reason": reason},
            )
        return incident.seq

    def _finish(
        self,
        action: AgentAction,
        status: ActionStatus,
        outcome: dict[str, Any],
        report: PassReport,
    ) -> AgentAction:
        now = self.clock()
        until = now + timedelta(minutes=self.policy.cooldown_minutes)
        with self.keel.unit() as unit:
            done = unit.agent.finish(
                self.project, action.seq, status, outcome=outcome, now=now, cooldown_until=until
            )
            self._audit(unit, done, "agent.finish", {"status": status.value, **outcome})
        report.events.append(f"{done.id}: {status.value}: {outcome.get('result')}")
        return done


def _breaches(action: AgentAction, reason: str, analysis: Analysis) -> list[Breach]:
    """The evidence a failed canary's incident carries: its failed metrics (else the first)."""
    failed = [m for m in analysis.metrics if m.verdict is Verdict.FAIL] or list(
        analysis.metrics[:1]
    )
    return [
        Breach("canary", f"canary {m.name}", m.estimate, m.fail_above, action.id, reason)
        for m in failed
    ]


def _holds(events: list[IncidentEvent], action: AgentAction) -> bool:
    """Whether an incident's timeline has breaches of ``action`` (their chunk is its id)."""
    return any(
        breach.get("chunk") == action.id
        for event in events
        for breach in event.details.get("breaches", [])
    )


def _refused(gate: dict[str, Any]) -> dict[str, Any]:
    """The outcome of an action whose gate step refused its candidate."""
    why = "the gate refused the candidate"
    if gate.get("gate_passed"):
        why = "the candidate re-scored from its artifact does not bear out its record"
    return {"result": why, "gate": gate}


def _arm(
    frame: pl.DataFrame,
    *,
    probabilities: npt.NDArray[np.float64] | None = None,
    labels: npt.NDArray[np.float64] | None = None,
) -> Arm:
    return Arm.of(
        errors=frame["score"].is_null().to_numpy(),
        fallbacks=frame["fallback"].is_not_null().to_numpy(),
        latency_ms=frame["latency_ms"].fill_null(0.0).to_numpy(),
        scores=frame["score"].fill_null(float("nan")).to_numpy(),
        probabilities=probabilities,
        labels=labels,
    )
