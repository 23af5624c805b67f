"""The data plane: bring batches of features and labels in, replay quarantine, and read, compare
and export dataset versions.

Each operation opens what it reads itself (a file by its ``Path``, a query by its URL), so a face
only names the input; what counts as a positive label is ``keel.data.target``'s one rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from keel.app.result import Result
from keel.app.use_case import use_case
from keel.data.ingest import BatchInput, Chunk, IngestResult, Progress, read_version
from keel.data.labels import LabelCoverage, find_conflicts, label_coverage, label_rate_shift
from keel.data.profile import ColumnProfile, Profile
from keel.data.quarantine import quarantined_rows
from keel.data.refs import parse_version
from keel.data.versions import Batch, BatchKind, DatasetVersion
from keel.errors import InvalidInput
from keel.identity.actor import Actor
from keel.identity.roles import Role
from keel.store.sources import Source, SqlSource, open_source
from keel.wiring import Keel

CHUNK_ROWS = 500_000


@dataclass(frozen=True)
class BatchFrom:
    """Where a batch comes from: a file, or a query over a SQLAlchemy URL (one of the two)."""

    file: Path | None = None
    sql: str | None = None
    query: str | None = None

    @property
    def name(self) -> str:
        """How progress names the input: the file name, or the tail of the query's URI."""
        if self.file is not None:
            return self.file.name
        return Path(SqlSource(self.sql or "", self.query or "").uri).name

    def open(self) -> Source | SqlSource:
        """The reader, after checking that exactly one input was named."""
        if self.file is not None and self.sql is None:
            return open_source(self.file)
        if self.sql is None or self.file is not None:
            raise InvalidInput("give either a FILE or --sql URL --query TEXT", path="file")
        if not self.query:
            raise InvalidInput("--sql needs --query", path="query")
        return SqlSource(self.sql, self.query)


@use_case(Role.OPERATOR, action="ingesting data", writes=True)
def ingest(
    keel: Keel,
    actor: Actor,
    batch: BatchFrom,
    *,
    source: str = "",
    chunk_rows: int = CHUNK_ROWS,
    progress: Progress | None = None,
) -> IngestResult:
    """Validate a batch against the contract; accepted rows make a new dataset version."""
    reader = batch.open()
    return _ingest(
        keel,
        actor,
        reader,
        kind=BatchKind.FEATURES,
        source=source,
        chunk_rows=chunk_rows,
        progress=progress,
    )


def _ingest(
    keel: Keel,
    actor: Actor,
    reader: Source | SqlSource,
    *,
    kind: BatchKind,
    source: str,
    chunk_rows: int,
    progress: Progress | None,
) -> IngestResult:
    """Everything ``reader`` yields as one batch of features or labels."""
    labels = kind is BatchKind.LABELS
    request = BatchInput(
        dataset=keel.labels_dataset if labels else keel.dataset,
        source=source or reader.format,
        uri=reader.uri,
        file_sha256=reader.file_sha256,
        from_text=reader.from_text,
        actor=actor.name,
        kind=kind,
    )
    chunks = (Chunk(frame, reader.from_text) for frame in reader.chunks(chunk_rows))
    ingestor = keel.labels_ingestor() if labels else keel.ingestor()
    return ingestor.ingest(request, chunks, progress=progress)


@dataclass(frozen=True)
class RateShift(Result):
    """The positive rate of the labels stored before and of the new file, and the test's p."""

    reference_rate: float
    current_rate: float
    p_value: float


@dataclass(frozen=True)
class LabelReport(Result):
    """Coverage of the latest features, labels without features, conflicts, rate shift."""

    feature_rows: int
    coverage: float
    orphan_labels: int
    conflicts: int
    rate_shift: RateShift | None = None  # only once labels were stored before

    def to_dict(self) -> dict[str, Any]:
        body = super().to_dict()
        if self.rate_shift is None:
            del body["rate_shift"]
        return body


@dataclass(frozen=True)
class LabelsIngested(Result):
    """A label batch and its report; the JSON is the batch's with the report under ``labels``."""

    result: IngestResult
    labels: LabelReport

    def to_dict(self) -> dict[str, Any]:
        return {**self.result.to_dict(), "labels": self.labels.to_dict()}


@use_case(Role.OPERATOR, action="ingesting labels", writes=True)
def ingest_labels(
    keel: Keel,
    actor: Actor,
    file: Path,
    *,
    source: str = "",
    progress: Progress | None = None,
) -> LabelsIngested:
    """Validate and store a label batch; report coverage, conflicts and label-rate shift."""
    reader = open_source(file)
    before = _latest(keel, keel.labels_dataset)
    result = _ingest(
        keel,
        actor,
        reader,
        kind=BatchKind.LABELS,
        source=source,
        chunk_rows=CHUNK_ROWS,
        progress=progress,
    )
    return LabelsIngested(result, _label_report(keel, before, reader))


def _latest(keel: Keel, dataset: str) -> pl.DataFrame | None:
    """Every row of the latest version of ``dataset``, or None before the first."""
    with keel.reader() as unit:
        version = unit.datasets.latest(dataset)
    return read_version(keel.rows, version) if version is not None else None


def _label_report(keel: Keel, before: pl.DataFrame | None, reader: Source) -> LabelReport:
    """Coverage of the latest features, conflicts between this file and stored labels, shift."""
    entity, target = keel.project.entity, keel.project.target.column
    arrived = pl.concat(list(reader.chunks(CHUNK_ROWS)), how="vertical_relaxed")
    incoming = _as_text(arrived, entity, target)
    stored = _as_text(before, entity, target) if before is not None else incoming.clear()
    conflicts = find_conflicts(pl.concat([stored, incoming]), entity=entity, target=target)
    labels = _latest(keel, keel.labels_dataset)
    kept = labels if labels is not None else incoming.clear()  # what was stored, not what came
    coverage = _coverage(keel, kept.select(pl.col(entity).cast(pl.String)), entity, target)
    shift = None
    if before is not None and before.height:
        found = label_rate_shift(
            before[target], arrived[target], positive=keel.project.target.positive
        )
        shift = RateShift(found.reference_rate, found.current_rate, found.p_value)
    return LabelReport(
        feature_rows=coverage.rows,
        coverage=coverage.fraction,
        orphan_labels=coverage.orphan_labels,
        conflicts=conflicts.height,
        rate_shift=shift,
    )


def _as_text(frame: pl.DataFrame, entity: str, target: str) -> pl.DataFrame:
    return frame.select(pl.col(entity).cast(pl.String), pl.col(target).cast(pl.String))


def _coverage(keel: Keel, stored_ids: pl.DataFrame, entity: str, target: str) -> LabelCoverage:
    """Label coverage of the latest feature version: inline targets count, as stored labels do."""
    features = _latest(keel, keel.dataset)
    rows = (
        features
        if features is not None
        else pl.DataFrame(schema={entity: pl.String, target: pl.String})
    ).with_columns(pl.col(entity).cast(pl.String))
    labelled_inline = (
        rows.filter(pl.col(target).is_not_null()).select(entity)
        if target in rows.columns
        else rows.clear().select(entity)
    )
    return label_coverage(
        rows.select(entity), pl.concat([labelled_inline, stored_ids]), entity=entity
    )


@use_case(Role.OPERATOR, action="replaying quarantine", writes=True)
def replay(
    keel: Keel, actor: Actor, batch_id: str, *, progress: Progress | None = None
) -> IngestResult:
    """Validate a quarantined batch again under the current contract; what passes moves on."""
    return keel.ingestor().replay(batch_id, actor=actor.name, progress=progress)


@use_case(Role.VIEWER, action="listing dataset versions")
def list_versions(keel: Keel, actor: Actor) -> list[DatasetVersion]:
    """Every version of the project's dataset, oldest first."""
    with keel.reader() as unit:
        return unit.datasets.list(keel.dataset)


@dataclass(frozen=True)
class VersionOrigin(Result):
    """Who or what made a version: the actor, the kind of batch, and its file or query."""

    version: int
    actor: str
    kind: str
    uri: str
    replay_of: str | None = None

    @property
    def text(self) -> str:
        """``ana · features from 2024-01.csv`` or ``ana · replay of b-…``."""
        what = f"replay of {self.replay_of}" if self.replay_of else f"{self.kind} from {self.uri}"
        return f"{self.actor} · {what}"


@use_case(Role.VIEWER, action="listing dataset versions")
def version_origins(keel: Keel, actor: Actor) -> tuple[VersionOrigin, ...]:
    """For every version, who made it and from which batch kind and source, oldest first."""
    with keel.reader() as unit:
        versions = unit.datasets.list(keel.dataset)
        batches = {b.id: b for b in unit.batches.list(keel.dataset)}
    found: list[VersionOrigin] = []
    for version in versions:
        batch = batches.get(version.batch_id)
        if batch is None:
            found.append(VersionOrigin(version.version, "?", "?", version.batch_id))
            continue
        found.append(
            VersionOrigin(
                version.version, batch.actor, batch.kind.value, batch.uri, batch.replay_of
            )
        )
    return tuple(found)


@dataclass(frozen=True)
class SourceBatch(Result):
    """A batch that a version's rows came from, and the file or query it read."""

    batch: str
    uri: str
    source: str


@dataclass(frozen=True)
class VersionDetail(Result):
    """One version with the batches it came from and its profile."""

    version: DatasetVersion
    sources: tuple[SourceBatch, ...]
    profile: Profile

    def to_dict(self) -> dict[str, Any]:
        body = self.version.to_dict()
        body["sources"] = [s.to_dict() for s in self.sources]
        body["profile"] = self.profile.to_dict()
        return body


@use_case(Role.VIEWER, action="reading a dataset version")
def show_version(keel: Keel, actor: Actor, version: str) -> VersionDetail:
    """One version (``v7`` or ``7``): hash, parts, the batches and files it came from, profile."""
    found = _version(keel, version)
    with keel.reader() as unit:
        batches = [unit.batches.get(b) for b in sorted({p.batch_id for p in found.parts})]
    sources = tuple(SourceBatch(b.id, b.uri, b.source) for b in batches)
    return VersionDetail(found, sources, _profile(keel, found))


def _version(keel: Keel, text: str) -> DatasetVersion:
    with keel.reader() as unit:
        return unit.datasets.get(keel.dataset, parse_version(text))


def _profile(keel: Keel, version: DatasetVersion) -> Profile:
    return Profile.from_dict(orjson.loads(keel.rows.get_json(version.profile_digest)))


@dataclass(frozen=True)
class ColumnChange(Result):
    """One statistic of one column that moved between two versions."""

    column: str
    statistic: str  # null rate | mean | median
    old: float
    new: float
    change: str  # relative ("+12.0%"), or absolute where the old value is 0


@dataclass(frozen=True)
class VersionDiff(Result):
    """What changed between two versions: rows, batches, schema, per-column statistics."""

    before: DatasetVersion
    after: DatasetVersion
    batches_added: tuple[str, ...]
    schema_changes: tuple[str, ...]
    columns: tuple[ColumnChange, ...]

    @property
    def rows_added(self) -> int:
        return self.after.rows - self.before.rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "old": self.before.version,
            "new": self.after.version,
            "rows_added": self.rows_added,
            "batches_added": list(self.batches_added),
            "schema_changes": list(self.schema_changes),
            "columns": [c.to_dict() for c in self.columns],
        }


@use_case(Role.VIEWER, action="comparing dataset versions")
def diff_versions(keel: Keel, actor: Actor, old: str, new: str) -> VersionDiff:
    """Compare two versions (``v1``, ``v2``) and their profiles."""
    a, b = _version(keel, old), _version(keel, new)
    return _diff(a, b, _profile(keel, a), _profile(keel, b))


def _diff(a: DatasetVersion, b: DatasetVersion, pa: Profile, pb: Profile) -> VersionDiff:
    schema_changes = [f"added column {n} ({t})" for n, t in b.schema.items() if n not in a.schema]
    schema_changes += [f"removed column {n}" for n in a.schema if n not in b.schema]
    schema_changes += [
        f"column {n}: {a.schema[n]} → {t}" for n, t in b.schema.items() if a.schema.get(n, t) != t
    ]
    added = sorted({p.batch_id for p in b.parts} - {p.batch_id for p in a.parts})
    changes = tuple(
        change
        for name, new in pb.columns.items()
        if (old := pa.columns.get(name)) is not None
        for change in _column_changes(name, old, new)
    )
    return VersionDiff(a, b, tuple(added), tuple(schema_changes), changes)


def _column_changes(name: str, old: ColumnProfile, new: ColumnProfile) -> list[ColumnChange]:
    pairs = {
        "null rate": (old.null_count / max(old.count, 1), new.null_count / max(new.count, 1)),
        "mean": (old.mean, new.mean),
        "median": (old.median, new.median),
    }
    changes = []
    for statistic, (x, y) in pairs.items():
        if x is None or y is None or x == y:
            continue
        relative = f"{(y - x) / abs(x):+.1%}" if x else f"{y - x:+.4g}"
        changes.append(ColumnChange(name, statistic, x, y, relative))
    return changes


@dataclass(frozen=True)
class Exported(Result):
    """Rows of one version written to one file."""

    version: int
    rows: int
    out: Path

    @property
    def label(self) -> str:
        return f"v{self.version}"


@use_case(Role.VIEWER, action="exporting a dataset version")
def export_version(keel: Keel, actor: Actor, version: str, out: Path) -> Exported:
    """Write every row of a version to a .parquet or .csv file; same version, same rows."""
    found = _version(keel, version)
    if out.suffix not in (".parquet", ".csv"):
        raise InvalidInput(f"--out must end in .parquet or .csv; got {out.name!r}", path="out")
    frame = read_version(keel.rows, found)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".csv":
        frame.write_csv(out)
    else:
        frame.write_parquet(out)
    return Exported(found.version, frame.height, out)


@use_case(Role.VIEWER, action="listing the quarantine")
def list_quarantine(keel: Keel, actor: Actor, *, all_batches: bool = False) -> list[Batch]:
    """Batches that hold rows in quarantine (with ``all_batches``, every batch), newest first."""
    with keel.reader() as unit:
        return unit.batches.list(keel.dataset, quarantined_only=not all_batches)


@dataclass(frozen=True, eq=False)
class QuarantineView(Result):
    """A batch and the first of its quarantined rows: raw values and every reason."""

    batch: Batch
    rows: pl.DataFrame

    def to_dict(self) -> dict[str, Any]:
        return {"batch": self.batch.to_dict(), "rows": self.rows.to_dicts()}


@use_case(Role.VIEWER, action="reading the quarantine")
def show_quarantine(keel: Keel, actor: Actor, batch_id: str, *, limit: int = 20) -> QuarantineView:
    """A batch's quarantined rows, at most ``limit`` of them."""
    with keel.reader() as unit:
        batch = unit.batches.get(batch_id)
    frames = list(quarantined_rows(keel.rows, batch))
    rows = pl.concat(frames, how="diagonal_relaxed").head(limit) if frames else pl.DataFrame()
    return QuarantineView(batch, rows)
