"""Registry verbs: register, gate, promote, approve, shadow, canary, rollback.

Every verb runs in one write transaction with its audit event, so a change and the record of who
made it commit together or not at all. Roles are checked here, not only in the command line, so
every interface (CLI, API, agent) obeys the same rules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

import polars as pl

from keel.audit.ports import AuditLog
from keel.data.contract import DataSchema
from keel.data.ports import RowStore
from keel.errors import Conflict, IntegrityError, NotFound
from keel.evaluation import MetricParams
from keel.identity.actor import Actor, require_role
from keel.identity.roles import Role
from keel.models.bundle import ModelBundle, load_bundle
from keel.models.ports import ArtifactStore
from keel.registry import evidence, gates
from keel.registry.approvals import (
    Approval,
    PromotionRequest,
    RequestStatus,
    check_approver,
    check_override,
)
from keel.registry.gates import GateCheck, GateResult
from keel.registry.policy import GateSpec, ReleasePolicy
from keel.registry.ports import GateRepo, ModelRepo, PromotionRepo, ReleaseRepo
from keel.registry.releases import Release, ReleaseState, next_release, rollback_target
from keel.registry.signature import InputField, Signature
from keel.registry.versions import ModelVersion
from keel.training.ports import BenchmarkRepo, RunRepo
from keel.training.runs import RunStatus
from keel.training.service import Target


class RegistryUnit(Protocol):
    @property
    def runs(self) -> RunRepo: ...

    @property
    def benchmarks(self) -> BenchmarkRepo: ...

    @property
    def models(self) -> ModelRepo: ...

    @property
    def gates(self) -> GateRepo: ...

    @property
    def releases(self) -> ReleaseRepo: ...

    @property
    def promotions(self) -> PromotionRepo: ...

    @property
    def audit(self) -> AuditLog: ...


UnitFactory = Callable[[], AbstractContextManager[RegistryUnit]]


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


@dataclass
class Registry:
    """The model registry and release history of one project."""

    project: str
    schema: DataSchema
    target: Target
    policy: ReleasePolicy
    benchmark_sets: tuple[str, ...]
    slices: tuple[str, ...]
    metric_params: MetricParams
    rows: RowStore
    artifacts: ArtifactStore
    write: UnitFactory
    read: UnitFactory
    clock: Callable[[], datetime]
    latency_probe: evidence.LatencyProbe | None = None

    # --- versions ---------------------------------------------------------------------------

    def register(self, run_id: str, actor: Actor) -> tuple[ModelVersion, bool]:
        """The model version of a succeeded run; (version, False) if it was registered before."""
        require_role(actor, Role.OPERATOR, action="registering a model")
        with self.read() as unit:
            run = unit.runs.get(run_id)
            known = unit.models.by_run(self.project, run_id)
        if known is not None:
            return known, False
        if run.project != self.project:
            raise NotFound("run", run_id, message=f"run {run_id} is not of '{self.project}'")
        if run.status is not RunStatus.SUCCEEDED or not run.model_sha256:
            raise Conflict(
                f"run {run_id} is {run.status.value}; only a succeeded run can be registered",
                hint="'keel runs list' shows the runs and their status",
            )
        bundle = load_bundle(self.artifacts, run.model_sha256)  # verifies every blob
        for name in ("card.md", "card.html"):
            if name in run.artifacts:
                self.artifacts.get(run.artifacts[name])
        with self.write() as unit:
            known = unit.models.by_run(self.project, run_id)
            if known is not None:
                return known, False
            model = ModelVersion(
                project=self.project,
                version=unit.models.next_version(self.project),
                run_id=run.id,
                model_sha256=run.model_sha256,
                kind=str(run.params.get("model", {}).get("kind", "")),
                data_version=run.data_version,
                labels_version=run.labels_version,
                signature=self._signature(bundle),
                benchmarks=run.metrics.get("benchmarks", {}),
                slices=run.metrics.get("slices", {}),
                artifacts={"model": run.model_sha256, **run.artifacts},
                created_at=self.clock(),
                actor=actor.name,
            )
            unit.models.add(model)
            unit.audit.append(
                actor=actor.name,
                action="registry.register",
                subject=f"model:{model.label}",
                details={
                    "run_id": run.id,
                    "model_sha256": run.model_sha256,
                    "data_version": run.data_version,
                },
            )
        return model, True

    def _signature(self, bundle: ModelBundle) -> Signature:
        specs = self.schema.specs
        fields = []
        for name in bundle.signature:
            spec = specs.get(name)
            if spec is None:
                continue
            values = tuple(str(v) for v in spec.values) if spec.values else None
            fields.append(InputField(name, spec.type.value, not spec.nullable, values))
        return Signature(tuple(fields))

    def model(self, version: int) -> ModelVersion:
        with self.read() as unit:
            return unit.models.get(self.project, version)

    def models(self) -> list[ModelVersion]:
        with self.read() as unit:
            return unit.models.list(self.project)

    def bundle(self, version: int) -> ModelBundle:
        """The verified model bundle of a version (sha256 checked for every blob)."""
        return load_bundle(self.artifacts, self.model(version).model_sha256)

    # --- gates ------------------------------------------------------------------------------

    def gate(self, version: int, actor: Actor) -> GateResult:
        """Evaluate the release policy for ``version``; pending promotions of it are invalidated."""
        require_role(actor, Role.OPERATOR, action="gating a model")
        with self.read() as unit:
            candidate = unit.models.get(self.project, version)
            head = unit.releases.head(self.project)
            champion_version = head.state.champion if head else None
            champion = (
                unit.models.get(self.project, champion_version)
                if champion_version is not None and champion_version != version
                else None
            )
            benchmark = self._gate_benchmark(candidate)
            frozen = unit.benchmarks.get(self.project, benchmark) if benchmark else None
        checks = self._checks(candidate, champion, benchmark, frozen.digest if frozen else None)
        with self.write() as unit:
            result = GateResult(
                project=self.project,
                seq=unit.gates.next_seq(self.project),
                version=version,
                benchmark=benchmark,
                champion=champion.version if champion else None,
                checks=tuple(checks),
                evaluated_at=self.clock(),
                actor=actor.name,
            )
            unit.gates.add(result)
            pending = unit.promotions.pending(self.project, version)
            if pending is not None:
                unit.promotions.close(
                    self.project, pending.seq, RequestStatus.INVALIDATED, self.clock()
                )
            unit.audit.append(
                actor=actor.name,
                action="registry.gate",
                subject=f"model:{candidate.label}",
                details={
                    "gate_result": result.id,
                    "passed": result.passed,
                    "failed": [c.name for c in result.failed],
                    "champion": result.champion,
                    "invalidated": pending.id if pending else None,
                },
            )
        return result

    def _gate_benchmark(self, candidate: ModelVersion) -> str | None:
        if self.policy.benchmark is not None:
            return self.policy.benchmark
        for name in self.benchmark_sets:
            if name in candidate.benchmarks:
                return name
        return next(iter(candidate.benchmarks), None)

    def _checks(
        self,
        candidate: ModelVersion,
        champion: ModelVersion | None,
        benchmark: str | None,
        digest: str | None,
    ) -> list[GateCheck]:
        try:
            bundle = load_bundle(self.artifacts, candidate.model_sha256)
            for name in ("card.md", "card.html"):
                if name in candidate.artifacts:
                    self.artifacts.get(candidate.artifacts[name])
        except (IntegrityError, NotFound) as error:
            return [gates.integrity_check(error.message)]
        checks = [gates.integrity_check(None)]
        scored = _Scored.empty()
        if benchmark is not None and digest is not None and self._needs_rows():
            scored = self._score(digest, bundle, champion)
        for spec in self.policy.gates:
            checks.append(
                self._check(
                    spec,
                    candidate=candidate,
                    champion=champion,
                    benchmark=benchmark or "",
                    bundle=bundle,
                    scored=scored,
                )
            )
        return checks

    def _needs_rows(self) -> bool:
        return any(
            s.kind in ("non_inferiority", "worst_slice", "latency") for s in self.policy.gates
        )

    def _score(self, digest: str, bundle: ModelBundle, champion: ModelVersion | None) -> _Scored:
        frame = self.rows.read(digest)
        labelled = frame.filter(pl.col(self.target.column).is_not_null())
        y = self.target.labels(labelled[self.target.column])
        reference = (
            load_bundle(self.artifacts, champion.model_sha256).score(labelled)
            if champion is not None
            else None
        )
        groups = {
            c: labelled[c].cast(pl.String).fill_null("(missing)").to_numpy()
            for c in self.slices
            if c in labelled.columns
        }
        return _Scored(labelled, y, bundle.score(labelled), reference, groups)

    def _check(
        self,
        spec: GateSpec,
        *,
        candidate: ModelVersion,
        champion: ModelVersion | None,
        benchmark: str,
        bundle: ModelBundle,
        scored: _Scored,
    ) -> GateCheck:
        kind = spec.kind
        if kind == "metric":
            found = candidate.benchmarks.get(benchmark, {}).get(spec.metric or "")
            return gates.metric_check(spec, found, benchmark)
        if kind == "signature":
            compatibility = (
                candidate.signature.compared_to(champion.signature) if champion else None
            )
            return gates.signature_check(compatibility, champion.version if champion else None)
        if scored.frame is None:
            return GateCheck(
                kind, kind, None, None, False, detail="the model has no benchmark set to read"
            )
        if kind == "latency":
            records = scored.frame.head(self.policy.latency_rows).to_dicts()
            probe = self.latency_probe or evidence.bundle_scorer
            p99 = evidence.single_row_p99_ms(probe(bundle, candidate.label), records)
            return gates.latency_check(spec, p99, len(records))
        if kind == "non_inferiority":
            difference = (
                evidence.paired_improvement(
                    scored.y, scored.reference, scored.candidate, spec, self.metric_params
                )
                if scored.reference is not None
                else None
            )
            return gates.non_inferiority_check(
                spec, difference, champion.version if champion else None
            )
        drops = evidence.slice_drops(
            scored.y,
            scored.candidate,
            reference=scored.reference,
            groups=scored.groups,
            spec=spec,
            params=self.metric_params,
        )
        return gates.worst_slice_check(spec, drops, champion.version if champion else None)

    def latest_gate(self, version: int) -> GateResult | None:
        with self.read() as unit:
            return unit.gates.latest(self.project, version)

    # --- releases ---------------------------------------------------------------------------

    def status(self) -> tuple[Release | None, list[PromotionRequest]]:
        with self.read() as unit:
            return unit.releases.head(self.project), unit.promotions.all_pending(self.project)

    def history(self, *, limit: int = 50) -> list[Release]:
        with self.read() as unit:
            return unit.releases.history(self.project, limit=limit)

    def promote(self, version: int, actor: Actor, *, override: str | None = None) -> Promotion:
        """Make ``version`` champion now, or open a request if the policy needs approvals."""
        require_role(actor, Role.OPERATOR, action="promoting a model")
        with self.write() as unit:
            model = unit.models.get(self.project, version)
            result = self._passed_gate(unit, model, actor, override)
            head = unit.releases.head(self.project)
            state = (head.state if head else ReleaseState()).promote(version)
            reason = override.strip() if override and not result.passed else None
            if self.policy.approvals == 0:
                release = self._append(
                    unit,
                    head=head,
                    state=state,
                    action="promote",
                    actor=actor,
                    model=model,
                    reason=reason,
                    details={"gate_result": result.id},
                )
                return Promotion(release, None)
            pending = unit.promotions.pending(self.project, version)
            if pending is not None and pending.gate_seq == result.seq:
                return Promotion(
                    None, pending, unit.promotions.approvals(self.project, pending.seq)
                )
            request = PromotionRequest(
                project=self.project,
                seq=unit.promotions.next_seq(self.project),
                version=version,
                gate_seq=result.seq,
                requester=actor.name,
                needed=self.policy.approvals,
                status=RequestStatus.PENDING,
                created_at=self.clock(),
                override=reason,
            )
            if pending is not None:
                unit.promotions.close(
                    self.project, pending.seq, RequestStatus.INVALIDATED, self.clock()
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
            return Promotion(None, request)

    def approve(self, version: int, actor: Actor, *, note: str = "") -> Promotion:
        """Approve the pending promotion of ``version``; the last approval needed applies it."""
        with self.write() as unit:
            model = unit.models.get(self.project, version)
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
            head = unit.releases.head(self.project)
            state = (head.state if head else ReleaseState()).promote(version)
            release = self._append(
                unit,
                head=head,
                state=state,
                action="promote",
                actor=actor,
                model=model,
                reason=request.override,
                details={
                    "gate_result": latest.id,
                    "promotion": request.id,
                    "requester": request.requester,
                    "approvers": [a.approver for a in given],
                },
            )
            unit.promotions.close(self.project, request.seq, RequestStatus.APPLIED, self.clock())
            applied = replace(request, status=RequestStatus.APPLIED, closed_at=self.clock())
            return Promotion(release, applied, given)

    def shadow(self, version: int, actor: Actor, *, stop: bool = False) -> Release:
        """Score ``version`` beside the champion on live traffic without returning its answers."""
        require_role(actor, Role.OPERATOR, action="changing the release")
        with self.write() as unit:
            model = unit.models.get(self.project, version)
            head = unit.releases.head(self.project)
            state = head.state if head else ReleaseState()
            changed = state.without_shadow(version) if stop else state.with_shadow(version)
            action = "shadow.stop" if stop else "shadow"
            return self._append(
                unit,
                head=head,
                state=changed,
                action=action,
                actor=actor,
                model=model,
                reason=None,
                details={},
            )

    def canary(
        self, version: int, share: float, actor: Actor, *, override: str | None = None
    ) -> Release:
        """Serve ``version`` to ``share`` percent of entities; share 0 ends the canary."""
        require_role(actor, Role.OPERATOR, action="changing the release")
        with self.write() as unit:
            model = unit.models.get(self.project, version)
            head = unit.releases.head(self.project)
            state = head.state if head else ReleaseState()
            details: dict[str, Any] = {"share": share}
            reason = None
            if share > 0:
                result = self._passed_gate(unit, model, actor, override)
                details["gate_result"] = result.id
                reason = override.strip() if override and not result.passed else None
            changed = state.with_canary(version, share)
            action = "canary" if share > 0 else "canary.stop"
            return self._append(
                unit,
                head=head,
                state=changed,
                action=action,
                actor=actor,
                model=model,
                reason=reason,
                details=details,
            )

    def rollback(self, actor: Actor, *, reason: str | None = None) -> Release:
        """Undo the last change not undone yet: the state before it serves again."""
        require_role(actor, Role.OPERATOR, action="rolling back a release")
        with self.write() as unit:
            head = unit.releases.head(self.project)
            if head is None:
                raise Conflict("nothing has been released yet", hint="keel release promote VERSION")
            origin = unit.releases.get(self.project, head.restores)
            target = unit.releases.get(self.project, rollback_target(head, origin))
            release = replace(
                next_release(
                    head,
                    target.state,
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

    def _passed_gate(
        self, unit: RegistryUnit, model: ModelVersion, actor: Actor, override: str | None
    ) -> GateResult:
        """The latest gate result of ``model``: passed, or failed with an admin's written reason."""
        result = unit.gates.latest(self.project, model.version)
        if result is None:
            raise Conflict(
                f"v{model.version} has not been gated",
                hint=f"run the release policy first: keel gate v{model.version}",
            )
        if not result.passed:
            reason = check_override(actor, override, [c.name for c in result.failed])
            unit.audit.append(
                actor=actor.name,
                action="release.override",
                subject=f"model:{model.label}",
                details={
                    "gate_result": result.id,
                    "failed": [c.name for c in result.failed],
                    "reason": reason,
                },
            )
        return result

    def _append(
        self,
        unit: RegistryUnit,
        *,
        head: Release | None,
        state: ReleaseState,
        action: str,
        actor: Actor,
        model: ModelVersion,
        reason: str | None,
        details: Mapping[str, Any],
    ) -> Release:
        release = next_release(
            head,
            state,
            project=self.project,
            action=action,
            actor=actor.name,
            at=self.clock(),
            subject=model.version,
            reason=reason,
            details=dict(details),
        )
        unit.releases.add(release)
        unit.audit.append(
            actor=actor.name,
            action=f"release.{action}",
            subject=f"model:{model.label}",
            details={"release": release.id, **state.to_dict(), "reason": reason, **details},
        )
        return release


@dataclass(frozen=True)
class _Scored:
    """The gate's benchmark rows with both models' scores (``reference``: the champion's)."""

    frame: pl.DataFrame | None
    y: Any
    candidate: Any
    reference: Any
    groups: dict[str, Any]

    @classmethod
    def empty(cls) -> _Scored:
        return cls(None, None, None, None, {})
