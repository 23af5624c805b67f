"""The one composition root: settings in, connected backends and services out.

What keel.yaml declares was validated when the project opened; the objects derived from it (the
data schema, the target, the decision and release policies, the monitoring and benchmark specs,
the recipe) are built once per opened project, on first use, by ``_Derived``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from keel.config import ProjectFile, Settings, load_contract, load_project
from keel.data.contract import ColumnSpec, ColumnType, DataSchema
from keel.data.ingest import Ingestor, head
from keel.data.row_checks import check_rows
from keel.decisions.frames import decide_frame
from keel.decisions.policy import DecisionPolicy, DecisionsSpec
from keel.errors import InvalidInput
from keel.identity.actor import Actor, require_role
from keel.identity.roles import Role
from keel.identity.service import BREAK_GLASS, resolve_actor
from keel.monitoring.spec import MonitorSpec
from keel.registry.policy import ReleasePolicy
from keel.store.blob import ContentAddressedStore, open_blob_store
from keel.store.provenance import current_environment
from keel.store.sources import open_source
from keel.store.sql import Database, SqlUnit
from keel.store.sql.schema import check_schema, current_revision
from keel.store.tables import BlobRowStore
from keel.store.tables.outcome_log import OutcomeLog
from keel.store.tables.prediction_log import PredictionLog
from keel.store.tables.segment_log import SEGMENT_BYTES, RemoteParts
from keel.store.uri import is_object_store
from keel.training.spec import BenchmarkSpec

if TYPE_CHECKING:  # the training stack (LightGBM, scikit-learn) loads only when a command trains
    from keel.models.estimator import F64
    from keel.registry.evidence import LatencyProbe
    from keel.registry.service import Registry
    from keel.training.service import Recipe, Target, Trainer
from keel.types import utcnow

Durability = Literal["fsync", "write"]


@dataclass
class Keel:
    """A project opened for work: its file, settings, database and blob store."""

    settings: Settings
    project: ProjectFile
    db: Database
    blobs: ContentAddressedStore
    caller: Actor | None = None
    """Who a server established is acting for this request (API key or session); None: the
    key of the settings or the local-admin rule decides."""
    _derived: _Derived | None = field(default=None, init=False, repr=False, compare=False)

    def _built(self) -> _Derived:
        """The derived objects of the current ``project`` (rebuilt if it was replaced)."""
        if self._derived is None or self._derived.project is not self.project:
            self._derived = _Derived(self.project, self.settings.project_dir)
        return self._derived

    @contextmanager
    def unit(self) -> Iterator[SqlUnit]:
        """One write transaction; everything done in it (and its audit events) commits together."""
        with self.db.write() as conn:
            yield SqlUnit(conn)

    @contextmanager
    def reader(self) -> Iterator[SqlUnit]:
        """A read-only view; nothing written through it is meant to commit."""
        with self.db.read() as conn:
            yield SqlUnit(conn)

    def has_schema(self) -> bool:
        """True once the database has been migrated at least once (it has tables, maybe users)."""
        return current_revision(self.db) is not None

    def actor(self) -> Actor:
        """Who is acting: the caller a server established, else ``KEEL_API_KEY`` or the
        local-admin rule."""
        if self.caller is not None:
            return self.caller
        with self.reader() as unit:
            return resolve_actor(
                unit.users,
                self.settings.api_key,
                embedded=self.db.is_embedded,
                break_glass=self.settings.break_glass,
            )

    def acting(self, needed: Role, *, action: str) -> Actor:
        """The actor, after checking that its role allows ``action``."""
        actor = self.actor()
        require_role(actor, needed, action=action)
        if actor.via == BREAK_GLASS:  # every use of break-glass leaves its reason in the trail
            with self.unit() as unit:
                unit.audit.append(
                    actor=actor.name,
                    action="access.break_glass",
                    subject=f"action:{action}",
                    details={"reason": self.settings.break_glass},
                )
        return actor

    @property
    def rows(self) -> BlobRowStore:
        """Parquet parts of datasets and quarantine, on the blob store."""
        return BlobRowStore(self.blobs, scratch=self.settings.state_dir / "tmp")

    def prediction_log(
        self, durability: Durability = "fsync", *, segment_bytes: int = SEGMENT_BYTES
    ) -> PredictionLog:
        """The durable log of every answer the prediction service gave (open it, then close it)."""
        return PredictionLog(
            self.settings.state_dir / "predictions",
            durability=durability,
            segment_bytes=segment_bytes,
            parts=self._log_parts("predictions"),
        )

    def outcome_log(
        self, durability: Durability = "fsync", *, segment_bytes: int = SEGMENT_BYTES
    ) -> OutcomeLog:
        """The durable log of outcomes (labels, overrides) reported for logged predictions;
        a one-off writer (a review resolution) asks for small ``segment_bytes``."""
        return OutcomeLog(
            self.settings.state_dir / "outcomes",
            durability=durability,
            segment_bytes=segment_bytes,
            parts=self._log_parts("outcomes"),
        )

    def _log_parts(self, table: str) -> RemoteParts | None:
        """Sealed log parts go to the store when it is an object store, which every replica
        reaches; on a local store they stay beside the segments (docs/scaling.md)."""
        if not is_object_store(self.settings.store_url):
            return None
        return RemoteParts(self.blobs.backend, f"logs/{self.project.name}/{table}")

    @property
    def dataset(self) -> str:
        """The project's dataset of features: named after the project."""
        return self.project.name

    def data_schema(self) -> DataSchema:
        """The contract of ``keel.yaml`` (or the file ``contract.file`` names), with roles."""
        return self._built().data_schema

    def target(self) -> Target:
        """What the model predicts: the target column, its task and its positive class."""
        return self._built().target

    def benchmark_spec(self) -> BenchmarkSpec:
        """The ``benchmark:`` section: the frozen sets, slices and metrics."""
        return self.project.benchmark

    def release_policy(self) -> ReleasePolicy:
        """The ``release:`` section: the gates and approvals a new champion needs."""
        return self.project.release

    def monitor_spec(self) -> MonitorSpec:
        """The ``monitoring:`` section: chunks, drift, quality, performance, SLOs, notices."""
        return self.project.monitoring

    def decision_policy(self) -> DecisionPolicy:
        """The decision policy in force: the released one the release history names, else the
        ``decisions:`` section of keel.yaml."""
        version, spec = self.live_decisions()
        if version is None:
            return self._built().decision_policy
        return self.released_policy(version, spec.deciding())[1]

    def live_decisions(self) -> tuple[int | None, DecisionsSpec]:
        """The released policy version in force (None: keel.yaml's) and the ``decisions:``
        section it makes: keel.yaml's, with that version's deciding keys."""
        with self.reader() as unit:
            head = unit.releases.head(self.project.name)
            version = head.state.policy if head is not None else None
            if version is None:
                return None, self.project.decisions
            deciding = unit.policies.get(self.project.name, version).deciding
        return version, self.released_policy(version, deciding)[0]

    def released_policy(
        self, version: int, deciding: Mapping[str, Any]
    ) -> tuple[DecisionsSpec, DecisionPolicy]:
        """A released version's section and policy, parsed once per version (a version's
        deciding keys never change)."""
        released = self._built().released
        found = released.get(version)
        if found is None:
            spec = self.project.decisions.with_deciding(deciding)
            found = released[version] = (spec, spec.policy())
        return found

    @property
    def labels_dataset(self) -> str:
        """Labels arriving after the features are their own dataset, joined by entity id."""
        return f"{self.project.name}.labels"

    def labels_schema(self) -> DataSchema:
        """Entity id and target, as the features contract declares them; the label is required."""
        return self._built().labels_schema

    def labels_ingestor(self) -> Ingestor:
        """The write path for label batches."""
        return self.ingestor(self.labels_schema())

    def ingestor(self, schema: DataSchema | None = None) -> Ingestor:
        """The data layer's write path for this project (its features, unless told otherwise)."""
        return Ingestor(
            schema=schema or self.data_schema(),
            rows=self.rows,
            write=self.unit,
            read=self.reader,
            clock=utcnow,
            new_id=lambda: f"b-{secrets.token_hex(6)}",
        )

    def trainer(self, recipe: Recipe | None = None) -> Trainer:
        """The training service, with keel.yaml's recipe unless one is given (to reproduce)."""
        from keel.reporting.card import ModelCards  # noqa: PLC0415
        from keel.training.reviewed import ReviewedLabels  # noqa: PLC0415
        from keel.training.service import Trainer  # noqa: PLC0415 - see TYPE_CHECKING

        project = self.project
        review = project.decisions.review
        return Trainer(
            project=project.name,
            dataset=self.dataset,
            labels_dataset=self.labels_dataset,
            schema=self.data_schema(),
            target=self.target(),
            recipe=recipe or self.recipe(),
            benchmark=self.benchmark_spec(),
            limitations=tuple(project.limitations),
            rows=self.rows,
            artifacts=self.blobs,
            write=self.unit,
            read=self.reader,
            clock=utcnow,
            environment=current_environment(self.settings.project_dir),
            read_file=self._read_project_file,
            cards=ModelCards(),
            reviewed=ReviewedLabels(
                review.labels, self._reviewed_labels, weight=review.label_weight
            ),
        )

    def _reviewed_labels(self, before: datetime) -> list[tuple[str, float]]:
        """(entity id, label) of the reviews resolved with a label up to ``before``."""
        with self.reader() as unit:
            return unit.review_items.labels(self.project.name, before)

    def registry(self, *, latency_probe: LatencyProbe | None = None) -> Registry:
        """Model versions, gates, approvals and releases, under keel.yaml's release policy;
        ``latency_probe`` is how the latency gate answers one record (see its docstring)."""
        from keel.evaluation import MetricParams  # noqa: PLC0415 - see TYPE_CHECKING
        from keel.registry.service import Registry  # noqa: PLC0415

        benchmark = self.benchmark_spec()
        return Registry(
            project=self.project.name,
            schema=self.data_schema(),
            target=self.target(),
            policy=self.release_policy(),
            benchmark_sets=tuple(benchmark.sets),
            slices=tuple(benchmark.slices),
            metric_params=MetricParams(threshold=benchmark.threshold),
            rows=self.rows,
            artifacts=self.blobs,
            write=self.unit,
            read=self.reader,
            clock=utcnow,
            latency_probe=latency_probe,
            decide=self._decide_rows,
        )

    def _decide_rows(self, scores: F64, rows: pl.DataFrame) -> list[str | None]:
        """The decision policy on scores of ``rows``, reading the amount column it declares."""
        return decide_frame(self.decision_policy(), scores, rows)

    def recipe(self) -> Recipe:
        """The model and feature sections of keel.yaml."""
        return self._built().recipe

    def _read_project_file(self, relative: str) -> pl.DataFrame:
        """A data file inside the project (a golden benchmark set), typed by the contract."""
        folder = self.settings.project_dir.resolve()
        path = (folder / relative).resolve()
        if not path.is_relative_to(folder):
            raise InvalidInput(f"{relative!r} is outside the project folder", path="file")
        return self.read_checked(path)

    def read_checked(self, path: Path, *, rows: int | None = None) -> pl.DataFrame:
        """The rows of a data file (the first ``rows``), typed by the contract; all must pass."""
        source = open_source(path)
        chunks = source.chunks(rows or 1_000_000)
        frame = head(chunks, rows) if rows else pl.concat(list(chunks), how="vertical_relaxed")
        checked = check_rows(frame, self.data_schema(), from_text=source.from_text)
        if checked.rejected.height:
            raise InvalidInput(
                f"{path.name}: {checked.rejected.height} rows fail the contract",
                path="file",
                hint="rows scored or used as a benchmark must pass the same contract as the data",
            )
        return checked.accepted

    def close(self) -> None:
        self.db.dispose()


class _Derived:
    """What one validated project file implies, each built on first use and then kept."""

    def __init__(self, project: ProjectFile, project_dir: Path) -> None:
        self.project = project
        self.project_dir = project_dir
        self.released: dict[int, tuple[DecisionsSpec, DecisionPolicy]] = {}
        """Released decision policies parsed against this project file, by version."""

    @cached_property
    def data_schema(self) -> DataSchema:
        project = self.project
        return DataSchema(
            contract=load_contract(project, self.project_dir),
            entity=project.entity,
            timestamp=project.timestamp,
            target=project.target.column,
        )

    @cached_property
    def labels_schema(self) -> DataSchema:
        contract = load_contract(self.project, self.project_dir)
        entity, target = self.project.entity, self.project.target.column
        columns = {
            entity: contract.columns.get(entity, ColumnSpec(type=ColumnType.STRING)),
            target: contract.columns.get(target, ColumnSpec(type=ColumnType.INT)).model_copy(
                update={"nullable": False}
            ),
        }
        limits = contract.model_copy(update={"columns": columns})
        return DataSchema(contract=limits, entity=entity)

    @cached_property
    def target(self) -> Target:
        from keel.training.service import Target  # noqa: PLC0415 - see TYPE_CHECKING

        spec = self.project.target
        return Target(spec.column, spec.kind, spec.positive)

    @cached_property
    def decision_policy(self) -> DecisionPolicy:
        return self.project.decisions.policy()

    @cached_property
    def recipe(self) -> Recipe:
        from keel.training.service import Recipe  # noqa: PLC0415 - see TYPE_CHECKING

        return Recipe(model=self.project.model, features=self.project.features)


def open_keel(
    settings: Settings, *, project: ProjectFile | None = None, check: bool = True
) -> Keel:
    """Connect to a project's backends; with ``check``, refuse a database at the wrong schema."""
    project = project or load_project(settings.project_file)
    db = Database(settings.database_url)
    try:
        if check:
            check_schema(db)
        blobs = open_blob_store(settings.store_url)
    except BaseException:
        db.dispose()
        raise
    return Keel(settings=settings, project=project, db=db, blobs=blobs)
