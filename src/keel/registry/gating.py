"""Gate evaluation: gather the evidence each gate of the release policy asks for, judge it, and
store the result, which is what approvals and promotions are tied to.

The recorded benchmark results answer the metric gates; the non-inferiority, worst-slice and
latency gates score the frozen benchmark rows themselves, the candidate and the champion on the
same rows, so their comparison is paired.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, assert_never

import polars as pl

from keel.data.ports import RowStore
from keel.errors import IntegrityError, NotFound
from keel.evaluation import MetricParams
from keel.identity.actor import Actor, require_role
from keel.identity.roles import Role
from keel.models.bundle import ModelBundle, load_bundle
from keel.models.ports import ArtifactStore
from keel.registry import evidence, gates
from keel.registry.approvals import RequestStatus
from keel.registry.catalog import CARDS
from keel.registry.gates import GateCheck, GateResult
from keel.registry.policy import (
    GateSpec,
    LatencyGate,
    MetricGate,
    NonInferiorityGate,
    ReleasePolicy,
    SignatureGate,
    WorstSliceGate,
)
from keel.registry.units import RegistryUnit, UnitFactory
from keel.registry.versions import ModelVersion
from keel.training.service import Target


@dataclass(frozen=True)
class Candidate:
    """What one evaluation reads: the model, the champion it is compared with, the benchmark
    set and the candidate's verified bundle."""

    model: ModelVersion
    champion: ModelVersion | None
    benchmark: str | None
    digest: str | None  # of the frozen benchmark rows, when the set was frozen


@dataclass(frozen=True)
class Scored:
    """The gate's benchmark rows with both models' scores (``reference``: the champion's)."""

    frame: pl.DataFrame
    y: Any
    candidate: Any
    reference: Any
    groups: dict[str, Any]


@dataclass(frozen=True)
class GateEvaluator:
    """Evaluates one project's release policy for a model version."""

    project: str
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

    def gate(self, version: int, actor: Actor) -> GateResult:
        """Evaluate the release policy for ``version``; pending promotions of it are invalidated."""
        require_role(actor, Role.OPERATOR, action="gating a model")
        with self.read() as unit:
            candidate = self._candidate(unit, version)
        checks = self._checks(candidate)
        with self.write() as unit:
            result = GateResult(
                project=self.project,
                seq=unit.gates.next_seq(self.project),
                version=version,
                benchmark=candidate.benchmark,
                champion=candidate.champion.version if candidate.champion else None,
                checks=tuple(checks),
                evaluated_at=self.clock(),
                actor=actor.name,
            )
            unit.gates.add(result)
            self._record(unit, result, candidate.model, actor)
        return result

    def latest(self, version: int) -> GateResult | None:
        with self.read() as unit:
            return unit.gates.latest(self.project, version)

    def _candidate(self, unit: RegistryUnit, version: int) -> Candidate:
        model = unit.models.get(self.project, version)
        head = unit.releases.head(self.project)
        champion_version = head.state.champion if head else None
        champion = (
            unit.models.get(self.project, champion_version)
            if champion_version is not None and champion_version != version
            else None
        )
        benchmark = self._benchmark(model)
        frozen = unit.benchmarks.get(self.project, benchmark) if benchmark else None
        return Candidate(model, champion, benchmark, frozen.digest if frozen else None)

    def _benchmark(self, model: ModelVersion) -> str | None:
        """The policy's benchmark set, else the first configured set the model reported on."""
        if self.policy.benchmark is not None:
            return self.policy.benchmark
        for name in self.benchmark_sets:
            if name in model.benchmarks:
                return name
        return next(iter(model.benchmarks), None)

    def _record(
        self, unit: RegistryUnit, result: GateResult, model: ModelVersion, actor: Actor
    ) -> None:
        """Invalidate a pending promotion (people approve evidence) and audit the result."""
        pending = unit.promotions.pending(self.project, result.version)
        if pending is not None:
            closed = RequestStatus.INVALIDATED
            unit.promotions.close(self.project, pending.seq, closed, self.clock())
        unit.audit.append(
            actor=actor.name,
            action="registry.gate",
            subject=f"model:{model.label}",
            details={
                "gate_result": result.id,
                "passed": result.passed,
                "failed": [c.name for c in result.failed],
                "champion": result.champion,
                "invalidated": pending.id if pending else None,
            },
        )

    def _checks(self, candidate: Candidate) -> list[GateCheck]:
        """Integrity first (a model that fails it is judged on nothing else), then each gate."""
        try:
            bundle = load_bundle(self.artifacts, candidate.model.model_sha256)
            for name in CARDS:
                if name in candidate.model.artifacts:
                    self.artifacts.get(candidate.model.artifacts[name])
        except (IntegrityError, NotFound) as error:
            return [gates.integrity_check(error.message)]
        scored = None
        if candidate.digest is not None and self.policy.reads_rows:  # a frozen set to read
            scored = self._score(candidate.digest, bundle, candidate.champion)
        judged = [self._check(spec, candidate, bundle, scored) for spec in self.policy.gates]
        return [gates.integrity_check(None), *judged]

    def _score(self, digest: str, bundle: ModelBundle, champion: ModelVersion | None) -> Scored:
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
        return Scored(labelled, y, bundle.score(labelled), reference, groups)

    def _check(
        self, spec: GateSpec, candidate: Candidate, bundle: ModelBundle, scored: Scored | None
    ) -> GateCheck:
        """One gate judged on its evidence; each kind has its own branch and none is a default."""
        champion = candidate.champion
        match spec:
            case MetricGate():
                benchmark = candidate.benchmark or ""
                found = candidate.model.benchmarks.get(benchmark, {}).get(spec.metric)
                return gates.metric_check(spec, found, benchmark)
            case SignatureGate():
                compatibility = (
                    candidate.model.signature.compared_to(champion.signature) if champion else None
                )
                return gates.signature_check(compatibility, champion.version if champion else None)
            case LatencyGate() | NonInferiorityGate() | WorstSliceGate():
                if scored is None:
                    return GateCheck(
                        spec.kind,
                        spec.kind,
                        None,
                        None,
                        False,
                        detail="the model has no benchmark set to read",
                    )
                return self._check_rows(spec, candidate, bundle, scored)
        assert_never(spec)

    def _check_rows(
        self,
        spec: LatencyGate | NonInferiorityGate | WorstSliceGate,
        candidate: Candidate,
        bundle: ModelBundle,
        scored: Scored,
    ) -> GateCheck:
        """A gate whose evidence is the benchmark rows, scored."""
        champion = candidate.champion.version if candidate.champion else None
        match spec:
            case LatencyGate():
                records = scored.frame.head(self.policy.latency_rows).to_dicts()
                probe = self.latency_probe or evidence.bundle_scorer
                p99 = evidence.single_row_p99_ms(probe(bundle, candidate.model.label), records)
                return gates.latency_check(spec, p99, len(records))
            case NonInferiorityGate():
                difference = (
                    evidence.paired_improvement(
                        scored.y, scored.reference, scored.candidate, spec, self.metric_params
                    )
                    if scored.reference is not None
                    else None
                )
                return gates.non_inferiority_check(spec, difference, champion)
            case WorstSliceGate():
                drops = evidence.slice_drops(
                    scored.y,
                    scored.candidate,
                    reference=scored.reference,
                    groups=scored.groups,
                    spec=spec,
                    params=self.metric_params,
                )
                return gates.worst_slice_check(spec, drops, champion)
        assert_never(spec)
