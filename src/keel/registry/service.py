"""The model registry of one project, whole: its catalog of versions, its gate evaluation, its
promotions and its release changes, each a service of its own module, under one name.

Roles are checked in each service, not only by the callers, so every interface (CLI, API,
agent) obeys the same rules. The parts are built from this object's fields on each use, so a
copy with another policy (``dataclasses.replace``) evaluates and promotes under that policy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

import polars as pl

from keel.data.contract import DataSchema
from keel.data.ports import RowStore
from keel.evaluation import MetricParams
from keel.identity.actor import Actor
from keel.models.bundle import ModelBundle
from keel.models.equivalence import Equivalence
from keel.models.estimator import F64
from keel.models.ports import ArtifactStore
from keel.registry import compiled
from keel.registry.approvals import Promotion, PromotionRequest
from keel.registry.catalog import Catalog
from keel.registry.evidence import LatencyProbe
from keel.registry.gates import GateResult
from keel.registry.gating import GateEvaluator
from keel.registry.policy import ReleasePolicy
from keel.registry.promotions import Promotions
from keel.registry.releases import Release
from keel.registry.rollout import Rollout
from keel.registry.units import RegistryUnit, UnitFactory
from keel.registry.versions import ModelVersion
from keel.training.service import Target

# ``Promotion`` and the unit types were defined here before the split; still importable here.
__all__ = ["Promotion", "Registry", "RegistryUnit", "UnitFactory"]


DecideRows = Callable[[F64, pl.DataFrame], Sequence[str | None]]
"""Decisions for scores of the given rows (a cost policy reads each row's amount)."""


def _decide_on(decide: DecideRows, rows: pl.DataFrame, scores: F64) -> Sequence[str | None]:
    return decide(scores, rows)


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
    latency_probe: LatencyProbe | None = None
    decide: DecideRows | None = None
    """Decides the frozen benchmark rows (their scores, and the rows for the columns a policy
    reads, such as a cost policy's amount) when a compiled back end is checked at
    registration."""

    @property
    def catalog(self) -> Catalog:
        """Model versions: register, read."""
        return Catalog(
            self.project,
            self.schema,
            self.artifacts,
            self.write,
            self.read,
            self.clock,
            verify=self._verify_compiled,
        )

    def _verify_compiled(self, bundle: ModelBundle, sha256: str) -> Equivalence | None:
        """The compiled back end against the native one on the first frozen benchmark set."""
        if not compiled.enabled():
            return None
        frame = None
        with self.read() as unit:
            for name in self.benchmark_sets:
                frozen = unit.benchmarks.get(self.project, name)
                if frozen is not None:
                    frame = self.rows.read(frozen.digest)
                    break
        rows, decide_rows = frame, self.decide
        decide = None
        if rows is not None and decide_rows is not None:
            decide = partial(_decide_on, decide_rows, rows)
        return compiled.verify(bundle, sha256, frame, decide)

    @property
    def gating(self) -> GateEvaluator:
        """Gate evaluation under the release policy."""
        return GateEvaluator(
            project=self.project,
            target=self.target,
            policy=self.policy,
            benchmark_sets=self.benchmark_sets,
            slices=self.slices,
            metric_params=self.metric_params,
            rows=self.rows,
            artifacts=self.artifacts,
            write=self.write,
            read=self.read,
            clock=self.clock,
            latency_probe=self.latency_probe,
        )

    @property
    def promotions(self) -> Promotions:
        """Promote and approve, with the approvals the policy needs."""
        return Promotions(self.project, self.policy.approvals, self.write, self.clock)

    @property
    def rollout(self) -> Rollout:
        """The current release, its history, shadow, canary and rollback."""
        return Rollout(self.project, self.write, self.read, self.clock)

    # The verbs of the parts, for callers that hold the registry whole.

    def serving_bundle(self, version: int) -> ModelBundle:
        """The verified bundle of a version, compiled where its registration proved the
        compiled back end equivalent (and the extra is installed); else the native one."""
        model = self.model(version)
        bundle = self.bundle(version)
        verdict = self.inference(model)
        return compiled.serving_bundle(bundle, model.model_sha256, verdict)[0]

    def inference(self, model: ModelVersion) -> Equivalence | None:
        """The compiled back end's verdict stored at registration (None: native, unchecked)."""
        return compiled.read_verdict(self.artifacts, model.artifacts)

    def register(self, run_id: str, actor: Actor) -> tuple[ModelVersion, bool]:
        return self.catalog.register(run_id, actor)

    def model(self, version: int) -> ModelVersion:
        return self.catalog.model(version)

    def models(self) -> list[ModelVersion]:
        return self.catalog.models()

    def bundle(self, version: int) -> ModelBundle:
        return self.catalog.bundle(version)

    def gate(self, version: int, actor: Actor) -> GateResult:
        return self.gating.gate(version, actor)

    def latest_gate(self, version: int) -> GateResult | None:
        return self.gating.latest(version)

    def promote(self, version: int, actor: Actor, *, override: str | None = None) -> Promotion:
        return self.promotions.promote(version, actor, override=override)

    def approve(self, version: int, actor: Actor, *, note: str = "") -> Promotion:
        return self.promotions.approve(version, actor, note=note)

    def reject(self, version: int, actor: Actor, *, note: str) -> PromotionRequest:
        return self.promotions.reject(version, actor, note=note)

    def status(self) -> tuple[Release | None, list[PromotionRequest]]:
        return self.rollout.status()

    def history(self, *, limit: int = 50) -> list[Release]:
        return self.rollout.history(limit=limit)

    def shadow(self, version: int, actor: Actor, *, stop: bool = False) -> Release:
        return self.rollout.shadow(version, actor, stop=stop)

    def canary(
        self, version: int, share: float, actor: Actor, *, override: str | None = None
    ) -> Release:
        return self.rollout.canary(version, share, actor, override=override)

    def rollback(self, actor: Actor, *, reason: str | None = None) -> Release:
        return self.rollout.rollback(actor, reason=reason)

    def pause(self, actor: Actor, *, reason: str | None = None, paused: bool = True) -> Release:
        return self.rollout.pause(actor, reason=reason, paused=paused)
