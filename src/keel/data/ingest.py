"""Ingest one batch: stream it in chunks, validate, store, and record it in one transaction.

Each chunk is checked row by row (``check_rows``) and its raw input, accepted rows and rejected
rows are written as immutable, content-addressed parts, so memory is bounded by the chunk (plus the
entity ids seen, which uniqueness needs). Batch checks run on what the chunks observed. Only then,
in one metadata transaction, the batch record, the new dataset version and the audit events are
written together: a crash before that commit leaves unreferenced parts and no half-written version.
Invariant: ``rows == accepted + quarantined`` for every batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import orjson
import polars as pl

from keel.audit.ports import AuditLog
from keel.data.batch_checks import (
    Freshness,
    check_against_profile,
    check_columns,
    check_ids,
    check_reject_fraction,
)
from keel.data.contract import DataSchema
from keel.data.id_index import IdIndex
from keel.data.ports import BatchRepo, DatasetRepo, RowStore
from keel.data.profile import Profile, profile_frame
from keel.data.profile_merge import merge_profiles
from keel.data.quarantine import Manifest, StoredPart, quarantined_rows, raw_rows
from keel.data.reasons import REASONS_COLUMN, ROW_COLUMN, BatchReason, RowCode
from keel.data.row_checks import check_rows
from keel.data.versions import Batch, BatchKind, BatchStatus, DatasetVersion, Part, version_hash
from keel.errors import Conflict, InvalidInput

Progress = Callable[[int], None]
"""Called with the number of rows read so far, after each chunk."""


class DataUnit(Protocol):
    """The repositories one ingest transaction writes to."""

    @property
    def batches(self) -> BatchRepo: ...

    @property
    def datasets(self) -> DatasetRepo: ...

    @property
    def audit(self) -> AuditLog: ...


UnitFactory = Callable[[], AbstractContextManager[DataUnit]]


@dataclass(frozen=True)
class Chunk:
    """Rows of a batch in arrival order; ``from_text`` when every value arrived as text (CSV)."""

    frame: pl.DataFrame
    from_text: bool


@dataclass(frozen=True)
class BatchInput:
    """What is being ingested, where from, and by whom."""

    dataset: str
    source: str
    uri: str
    file_sha256: str | None
    from_text: bool
    actor: str
    kind: BatchKind = BatchKind.FEATURES
    replay_of: str | None = None


@dataclass(frozen=True)
class IngestResult:
    """The batch as recorded, its version (if one was made) and whether it was seen before."""

    batch: Batch
    version: DatasetVersion | None
    already_ingested: bool = False

    def to_dict(self) -> dict[str, Any]:
        body = self.batch.to_dict()
        body["already_ingested"] = self.already_ingested
        body["dataset_sha256"] = self.version.sha256 if self.version else None
        return body


@dataclass
class _Tally:
    """What the chunks of one batch added up to."""

    rows: int = 0
    accepted: int = 0
    raw: list[StoredPart] = field(default_factory=list)
    rejected: list[StoredPart] = field(default_factory=list)
    parts: list[Part] = field(default_factory=list)
    summary: dict[tuple[str, str], int] = field(default_factory=dict)
    failures: dict[tuple[str, str | None], BatchReason] = field(default_factory=dict)
    repeated: list[pl.Series] = field(default_factory=list)
    freshness: Freshness | None = None
    profile: Profile | None = None
    schema: dict[str, str] = field(default_factory=dict)

    def fail(self, reasons: Iterable[BatchReason]) -> None:
        for reason in reasons:
            self.failures.setdefault((reason.code.value, reason.column), reason)

    def count(self, summary: dict[tuple[str, str], int]) -> None:
        for key, n in summary.items():
            self.summary[key] = self.summary.get(key, 0) + n


@dataclass
class Ingestor:
    """The data layer's write path, bound to one project's schema and stores."""

    schema: DataSchema
    rows: RowStore
    write: UnitFactory
    read: UnitFactory
    clock: Callable[[], datetime]
    new_id: Callable[[], str]

    def ingest(
        self, batch: BatchInput, chunks: Iterable[Chunk], *, progress: Progress | None = None
    ) -> IngestResult:
        """Validate and store one batch; a byte-identical file seen before is not stored again."""
        seen = self._seen_before(batch)
        if seen is not None:
            return seen
        with self.read() as unit:
            parent = unit.datasets.latest(batch.dataset)
        reference = self._profile(parent)
        existing = self._existing_ids(parent)
        tally = self._stream(chunks, existing, reference, progress)
        if tally.rows == 0 and not tally.failures:
            raise InvalidInput(
                f"{batch.uri} has no rows (a header at most): there is nothing to ingest",
                path="file",
                hint="check the export that wrote it; nothing was stored",
            )
        return self._commit(batch, tally, parent)

    def replay(
        self, batch_id: str, *, actor: str, progress: Progress | None = None
    ) -> IngestResult:
        """Validate a quarantined batch again under the current contract; what passes moves on.

        The replay is a new batch (``replay_of`` names the original); the original is marked in the
        same transaction, so a batch is replayed at most once and no row is counted twice.
        """
        with self.read() as unit:
            original = unit.batches.get(batch_id)
        if not original.in_quarantine:
            raise Conflict(
                f"batch {batch_id} has no rows in quarantine"
                + (f" (replayed by {original.replayed_by})" if original.replayed_by else ""),
                hint="'keel quarantine list' shows the batches that still hold rows",
            )
        chunks = (
            Chunk(raw_rows(frame), original.from_text)
            for frame in quarantined_rows(self.rows, original)
        )
        request = BatchInput(
            dataset=original.dataset,
            source=original.source,
            uri=original.uri,
            file_sha256=None,
            from_text=original.from_text,
            actor=actor,
            kind=original.kind,
            replay_of=original.id,
        )
        return self.ingest(request, chunks, progress=progress)

    def _seen_before(self, batch: BatchInput) -> IngestResult | None:
        if batch.file_sha256 is None:
            return None
        with self.write() as unit:
            earlier = unit.batches.find_accepted_file(batch.dataset, batch.file_sha256)
            if earlier is None:
                return None
            unit.audit.append(
                actor=batch.actor,
                action="data.ingest.skipped",
                subject=f"batch:{earlier.id}",
                details={"uri": batch.uri, "reason": "byte-identical to an accepted batch"},
            )
            version = (
                unit.datasets.get(batch.dataset, earlier.dataset_version)
                if earlier.dataset_version is not None
                else None
            )
        return IngestResult(earlier, version, already_ingested=True)

    def _profile(self, version: DatasetVersion | None) -> Profile | None:
        if version is None:
            return None
        return Profile.from_dict(orjson.loads(self.rows.get_json(version.profile_digest)))

    def _existing_ids(self, version: DatasetVersion | None) -> IdIndex:
        """The entity ids already in the dataset, read part by part."""
        index = IdIndex()
        entity = self.schema.entity
        if version is None or entity is None or entity not in version.schema:
            return index
        digests = [part.digest for part in version.parts]
        for frame in self.rows.iter_read(digests, columns=[entity]):
            index.add(frame[entity])
        return index

    def _stream(
        self,
        chunks: Iterable[Chunk],
        existing: IdIndex,
        reference: Profile | None,
        progress: Progress | None,
    ) -> _Tally:
        tally = _Tally()
        contract, timestamp = self.schema.contract, self.schema.timestamp
        if timestamp is not None:  # the batch's time: when it began to arrive
            tally.freshness = Freshness(
                timestamp, self.clock(), max_age=contract.max_age, max_future=contract.max_future
            )
        earlier = IdIndex()  # ids of this batch's earlier chunks
        for index, chunk in enumerate(chunks):
            if index == 0:
                tally.fail(
                    check_columns(dict(chunk.frame.schema), self.schema, from_text=chunk.from_text)
                )
            ids = self._chunk_ids(chunk.frame)
            known = repeats = None
            if ids is not None:
                known, repeats = existing.seen(ids), earlier.seen(ids)
                if repeats.len():
                    tally.repeated.append(repeats)
                earlier.add(ids)
            self._check_chunk(chunk, tally, known, repeats, reference)
            if progress is not None:
                progress(tally.rows)
        self._flag_first_occurrences(tally)
        self._batch_checks(tally)
        return tally

    def _flag_first_occurrences(self, tally: _Tally) -> None:
        """Rows of earlier chunks whose id a later chunk repeated: duplicates too, as they would
        be had the batch been checked in one piece. Read back from the archived raw parts."""
        entity = self.schema.entity
        if not tally.repeated or entity is None:
            return
        repeated = pl.concat(tally.repeated).unique().implode()
        reasons = pl.concat(
            [self.rows.read(p.digest, columns=[ROW_COLUMN, REASONS_COLUMN]) for p in tally.rejected]
        )
        rejected_rows = reasons[ROW_COLUMN].cast(pl.Int64).implode()
        code = RowCode.DUPLICATE_ID.value
        flagged = (
            reasons.filter(
                pl.col(REASONS_COLUMN)
                .list.eval(pl.element().struct.field("code") == code)
                .list.any()
            )[ROW_COLUMN]
            .cast(pl.Int64)
            .implode()
        )
        offset = 0
        for part in tally.raw:
            frame = self.rows.read(part.digest).with_row_index(ROW_COLUMN, offset=offset)
            offset += part.rows
            frame = frame.with_columns(pl.col(ROW_COLUMN).cast(pl.Int64))
            first = frame.filter(
                pl.col(entity).cast(pl.String).is_in(repeated) & ~pl.col(ROW_COLUMN).is_in(flagged)
            )
            if first.is_empty():
                continue
            reason = pl.struct(
                column=pl.lit(entity), code=pl.lit(code), value=pl.col(entity).cast(pl.String)
            )
            first = first.with_columns(pl.concat_list(reason).alias(REASONS_COLUMN))
            tally.rejected.append(StoredPart(self.rows.write(first), first.height))
            tally.count({(entity, code): first.height})
            tally.accepted -= int((~first[ROW_COLUMN].is_in(rejected_rows)).sum())

    def _check_chunk(
        self,
        chunk: Chunk,
        tally: _Tally,
        known: pl.Series | None,
        repeats: pl.Series | None,
        reference: Profile | None,
    ) -> None:
        """Row checks, then the chunk's raw, rejected and accepted parts, profile and stats."""
        frame = chunk.frame
        result = check_rows(
            frame,
            self.schema,
            from_text=chunk.from_text,
            existing_ids=known,
            repeated_ids=repeats,
            chunk_rows=frame.height,
        )
        tally.raw.append(StoredPart(self.rows.archive(frame), frame.height))
        if result.rejected.height:
            rejected = result.rejected.with_columns(pl.col(ROW_COLUMN).cast(pl.Int64) + tally.rows)
            tally.rejected.append(StoredPart(self.rows.write(rejected), rejected.height))
        tally.count(result.summary)
        tally.rows += frame.height
        accepted = _storable(result.accepted)
        if accepted.height:
            tally.accepted += accepted.height
            tally.schema = tally.schema or {n: str(t) for n, t in accepted.schema.items()}
            tally.parts.append(Part(self.rows.write(accepted), accepted.height, ""))
            base = reference or tally.profile
            tally.profile = merge_profiles(tally.profile, profile_frame(accepted, reference=base))
            if tally.freshness is not None and tally.freshness.column in accepted.columns:
                tally.freshness.add(accepted[tally.freshness.column])
        if reference is not None:
            # the target may be absent until labels arrive: its nulls are not a broken feed
            observed = {k: v for k, v in result.observed.items() if k != self.schema.target}
            factor = self.schema.contract.unit_change_factor
            tally.fail(
                check_against_profile(observed, reference, factor=factor, specs=self.schema.specs)
            )

    def _chunk_ids(self, frame: pl.DataFrame) -> pl.Series | None:
        entity = self.schema.entity
        if entity is None or entity not in frame.columns:
            return None
        return frame[entity].cast(pl.String, strict=False)

    def _batch_checks(self, tally: _Tally) -> None:
        contract = self.schema.contract
        tally.fail(
            check_reject_fraction(
                tally.rows, tally.rows - tally.accepted, contract.max_reject_fraction
            )
        )
        entity = self.schema.entity
        if entity is not None:
            duplicates = tally.summary.get((entity, RowCode.DUPLICATE_ID.value), 0)
            known = tally.summary.get((entity, RowCode.EXISTING_ID.value), 0)
            tally.fail(check_ids(entity, duplicate_rows=duplicates, existing_rows=known))
        if tally.freshness is not None:
            tally.fail(tally.freshness.reasons())

    def _commit(
        self, batch: BatchInput, tally: _Tally, parent: DatasetVersion | None
    ) -> IngestResult:
        batch_id = self.new_id()
        accepted = not tally.failures
        manifest = Manifest(tuple(tally.raw), tuple(tally.rejected))
        manifest_digest = self.rows.put_json(manifest.to_json())
        version = (
            self._version(batch, batch_id, tally, parent) if accepted and tally.accepted else None
        )
        record = _batch_record(
            batch,
            batch_id=batch_id,
            tally=tally,
            accepted=accepted,
            version=version,
            manifest_digest=manifest_digest,
            now=self.clock(),
        )
        with self.write() as unit:
            latest = unit.datasets.latest(batch.dataset)
            if (latest.version if latest else None) != (parent.version if parent else None):
                raise Conflict(
                    f"dataset '{batch.dataset}' gained a version while this batch was validated",
                    hint="ingest the batch again; it is checked against the new version",
                )
            unit.batches.add(record)
            if batch.replay_of is not None:
                unit.batches.mark_replayed(batch.replay_of, batch_id)
            if version is not None:
                unit.datasets.add(version)
            _audit(unit.audit, record, version)
        return IngestResult(record, version)

    def _version(
        self, batch: BatchInput, batch_id: str, tally: _Tally, parent: DatasetVersion | None
    ) -> DatasetVersion:
        new_parts = tuple(Part(p.digest, p.rows, batch_id) for p in tally.parts)
        parts = (*(parent.parts if parent else ()), *new_parts)
        assert tally.profile is not None
        profile = merge_profiles(self._profile(parent), tally.profile)
        return DatasetVersion(
            dataset=batch.dataset,
            version=(parent.version + 1) if parent else 1,
            parent=parent.version if parent else None,
            sha256=version_hash(parts),
            rows=sum(part.rows for part in parts),
            schema={**(parent.schema if parent else {}), **tally.schema},
            parts=parts,
            batch_id=batch_id,
            profile_digest=self.rows.put_json(
                orjson.dumps(profile.to_dict(), option=orjson.OPT_SORT_KEYS)
            ),
            created_at=self.clock(),
        )


def _storable(frame: pl.DataFrame) -> pl.DataFrame:
    """Categories are stored as text: the allowed set is the contract's, and contracts change."""
    enums = [name for name, dtype in frame.schema.items() if isinstance(dtype, pl.Enum)]
    return frame.with_columns(pl.col(enums).cast(pl.String)) if enums else frame


def _batch_record(
    batch: BatchInput,
    *,
    batch_id: str,
    tally: _Tally,
    accepted: bool,
    version: DatasetVersion | None,
    manifest_digest: str,
    now: datetime,
) -> Batch:
    items = sorted(tally.summary.items(), key=lambda kv: (-kv[1], kv[0]))
    return Batch(
        id=batch_id,
        dataset=batch.dataset,
        kind=batch.kind,
        source=batch.source,
        uri=batch.uri,
        file_sha256=batch.file_sha256,
        from_text=batch.from_text,
        status=BatchStatus.ACCEPTED if accepted else BatchStatus.REJECTED,
        rows=tally.rows,
        accepted=tally.accepted if accepted else 0,
        quarantined=(tally.rows - tally.accepted) if accepted else tally.rows,
        reasons=tuple(reason.to_dict() for reason in tally.failures.values()),
        row_reasons=tuple({"column": c, "code": k, "rows": n} for (c, k), n in items),
        dataset_version=version.version if version else None,
        quarantine_digest=manifest_digest,
        actor=batch.actor,
        created_at=now,
        replay_of=batch.replay_of,
    )


def _audit(audit: AuditLog, batch: Batch, version: DatasetVersion | None) -> None:
    action = "data.ingest" if batch.status is BatchStatus.ACCEPTED else "data.reject"
    details: dict[str, Any] = {
        "uri": batch.uri,
        "source": batch.source,
        "file_sha256": batch.file_sha256,
        "rows": batch.rows,
        "accepted": batch.accepted,
        "quarantined": batch.quarantined,
        "reasons": [r["code"] for r in batch.reasons],
    }
    if batch.replay_of:
        details["replay_of"] = batch.replay_of
    audit.append(actor=batch.actor, action=action, subject=f"batch:{batch.id}", details=details)
    if version is not None:
        audit.append(
            actor=batch.actor,
            action="data.version",
            subject=f"dataset:{version.dataset}:v{version.version}",
            details={
                "sha256": version.sha256,
                "rows": version.rows,
                "parent": version.parent,
                "batch": batch.id,
            },
        )


def head(frames: Iterable[pl.DataFrame], rows: int) -> pl.DataFrame:
    """The first ``rows`` rows of a stream of frames, reading no further than needed."""
    taken: list[pl.DataFrame] = []
    count = 0
    for frame in frames:
        taken.append(frame.head(rows - count))
        count += taken[-1].height
        if count >= rows:
            break
    return pl.concat(taken, how="diagonal_relaxed") if taken else pl.DataFrame()


def read_version(
    rows: RowStore, version: DatasetVersion, columns: list[str] | None = None
) -> pl.DataFrame:
    """All rows of a version in one frame, each part verified against its digest."""
    return rows.read_all([part.digest for part in version.parts], columns=columns)


def iter_version(
    rows: RowStore, version: DatasetVersion, columns: list[str] | None = None
) -> Iterator[pl.DataFrame]:
    """The rows of a version, part by part, each part verified against its digest."""
    return rows.iter_read([part.digest for part in version.parts], columns=columns)
