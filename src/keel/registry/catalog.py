"""Model versions: registering a succeeded run, and reading what was registered."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from keel.data.contract import DataSchema
from keel.errors import Conflict, NotFound
from keel.identity.actor import Actor, require_role
from keel.identity.roles import Role
from keel.models.bundle import ModelBundle, load_bundle
from keel.models.equivalence import Equivalence
from keel.models.ports import ArtifactStore
from keel.registry.compiled import ARTIFACT, store_verdict
from keel.registry.signature import InputField, Signature
from keel.registry.units import RegistryUnit, UnitFactory
from keel.registry.versions import ModelVersion
from keel.training.runs import Run, RunStatus

CARDS = ("card.md", "card.html")


@dataclass(frozen=True)
class Catalog:
    """The registered model versions of one project; a version never changes once made."""

    project: str
    schema: DataSchema
    artifacts: ArtifactStore
    write: UnitFactory
    read: UnitFactory
    clock: Callable[[], datetime]
    verify: Callable[[ModelBundle, str], Equivalence | None] | None = None
    """Checks a compiled back end against the native model (see keel.registry.compiled)."""

    def register(self, run_id: str, actor: Actor) -> tuple[ModelVersion, bool]:
        """The model version of a succeeded run; (version, False) if it was registered before."""
        require_role(actor, Role.OPERATOR, action="registering a model")
        with self.read() as unit:
            run = unit.runs.get(run_id)
            known = unit.models.by_run(self.project, run_id)
        if known is not None:
            return known, False
        sha256 = self._registrable(run)
        bundle = load_bundle(self.artifacts, sha256)  # verifies every blob
        for name in CARDS:
            if name in run.artifacts:
                self.artifacts.get(run.artifacts[name])
        verdict = self.verify(bundle, sha256) if self.verify is not None else None
        extra = {ARTIFACT: store_verdict(self.artifacts, verdict)} if verdict else {}
        with self.write() as unit:
            known = unit.models.by_run(self.project, run_id)
            if known is not None:
                return known, False
            model = self._version(unit, run, sha256, bundle, actor, extra)
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

    def _registrable(self, run: Run) -> str:
        """The sha256 of the run's model, if the run may be registered here."""
        if run.project != self.project:
            raise NotFound("run", run.id, message=f"run {run.id} is not of '{self.project}'")
        if run.status is not RunStatus.SUCCEEDED or not run.model_sha256:
            raise Conflict(
                f"run {run.id} is {run.status.value}; only a succeeded run can be registered",
                hint="'keel runs list' shows the runs and their status",
            )
        return run.model_sha256

    def _version(  # noqa: PLR0917 - private, one caller
        self,
        unit: RegistryUnit,
        run: Run,
        sha256: str,
        bundle: ModelBundle,
        actor: Actor,
        extra: dict[str, str],
    ) -> ModelVersion:
        return ModelVersion(
            project=self.project,
            version=unit.models.next_version(self.project),
            run_id=run.id,
            model_sha256=sha256,
            kind=str(run.params.get("model", {}).get("kind", "")),
            data_version=run.data_version,
            labels_version=run.labels_version,
            signature=self._signature(bundle),
            benchmarks=run.metrics.get("benchmarks", {}),
            slices=run.metrics.get("slices", {}),
            artifacts={"model": sha256, **run.artifacts, **extra},
            created_at=self.clock(),
            actor=actor.name,
        )

    def _signature(self, bundle: ModelBundle) -> Signature:
        """The contract columns the bundle reads, with type, requiredness and categories."""
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
        """Newest first."""
        with self.read() as unit:
            return unit.models.list(self.project)

    def bundle(self, version: int) -> ModelBundle:
        """The verified model bundle of a version (sha256 checked for every blob)."""
        return load_bundle(self.artifacts, self.model(version).model_sha256)
