"""``BatchRepo`` and ``DatasetRepo`` on SQL."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from keel.data.versions import Batch, BatchKind, BatchStatus, DatasetVersion, Part
from keel.errors import Conflict, NotFound
from keel.store.sql.tables import batches, dataset_versions
from keel.store.sql.timestamps import aware


class SqlBatchRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, batch: Batch) -> None:
        self.conn.execute(batches.insert().values(_batch_row(batch)))

    def get(self, batch_id: str) -> Batch:
        row = self.conn.execute(sa.select(batches).where(batches.c.id == batch_id)).mappings()
        found = row.first()
        if found is None:
            raise NotFound("batch", batch_id, hint="list batches with 'keel quarantine list --all'")
        return _batch(found)

    def find_accepted_file(self, dataset: str, file_sha256: str) -> Batch | None:
        query = (
            sa.select(batches)
            .where(
                batches.c.dataset == dataset,
                batches.c.file_sha256 == file_sha256,
                batches.c.status == BatchStatus.ACCEPTED.value,
            )
            .order_by(batches.c.created_at)
            .limit(1)
        )
        row = self.conn.execute(query).mappings().first()
        return _batch(row) if row is not None else None

    def list(self, dataset: str, *, quarantined_only: bool = False) -> list[Batch]:
        query = sa.select(batches).where(batches.c.dataset == dataset)
        if quarantined_only:
            query = query.where(batches.c.quarantined > 0, batches.c.replayed_by.is_(None))
        query = query.order_by(batches.c.created_at.desc(), batches.c.id.desc())
        return [_batch(row) for row in self.conn.execute(query).mappings()]

    def mark_replayed(self, batch_id: str, replayed_by: str) -> None:
        result = self.conn.execute(
            batches.update()
            .where(batches.c.id == batch_id, batches.c.replayed_by.is_(None))
            .values(replayed_by=replayed_by)
        )
        if result.rowcount != 1:
            raise Conflict(f"batch {batch_id} was already replayed")


class SqlDatasetRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, version: DatasetVersion) -> None:
        self.conn.execute(dataset_versions.insert().values(_version_row(version)))

    def get(self, dataset: str, version: int) -> DatasetVersion:
        query = sa.select(dataset_versions).where(
            dataset_versions.c.dataset == dataset, dataset_versions.c.version == version
        )
        row = self.conn.execute(query).mappings().first()
        if row is None:
            raise NotFound(
                "dataset version", f"v{version}", hint="list them with 'keel data versions'"
            )
        return _version(row)

    def latest(self, dataset: str) -> DatasetVersion | None:
        query = (
            sa.select(dataset_versions)
            .where(dataset_versions.c.dataset == dataset)
            .order_by(dataset_versions.c.version.desc())
            .limit(1)
        )
        row = self.conn.execute(query).mappings().first()
        return _version(row) if row is not None else None

    def list(self, dataset: str) -> list[DatasetVersion]:
        query = (
            sa.select(dataset_versions)
            .where(dataset_versions.c.dataset == dataset)
            .order_by(dataset_versions.c.version)
        )
        return [_version(row) for row in self.conn.execute(query).mappings()]


def _batch_row(batch: Batch) -> dict[str, Any]:
    return {
        "id": batch.id,
        "dataset": batch.dataset,
        "kind": batch.kind.value,
        "source": batch.source,
        "uri": batch.uri,
        "file_sha256": batch.file_sha256,
        "from_text": batch.from_text,
        "status": batch.status.value,
        "rows": batch.rows,
        "accepted": batch.accepted,
        "quarantined": batch.quarantined,
        "reasons": json.dumps(list(batch.reasons)),
        "row_reasons": json.dumps(list(batch.row_reasons)),
        "dataset_version": batch.dataset_version,
        "quarantine_digest": batch.quarantine_digest,
        "replay_of": batch.replay_of,
        "replayed_by": batch.replayed_by,
        "actor": batch.actor,
        "created_at": batch.created_at,
    }


def _batch(row: RowMapping) -> Batch:
    return Batch(
        id=row["id"],
        dataset=row["dataset"],
        kind=BatchKind(row["kind"]),
        source=row["source"],
        uri=row["uri"],
        file_sha256=row["file_sha256"],
        from_text=bool(row["from_text"]),
        status=BatchStatus(row["status"]),
        rows=int(row["rows"]),
        accepted=int(row["accepted"]),
        quarantined=int(row["quarantined"]),
        reasons=tuple(json.loads(row["reasons"])),
        row_reasons=tuple(json.loads(row["row_reasons"])),
        dataset_version=row["dataset_version"],
        quarantine_digest=row["quarantine_digest"],
        actor=row["actor"],
        created_at=aware(row["created_at"]),
        replay_of=row["replay_of"],
        replayed_by=row["replayed_by"],
    )


def _version_row(version: DatasetVersion) -> dict[str, Any]:
    return {
        "dataset": version.dataset,
        "version": version.version,
        "parent": version.parent,
        "sha256": version.sha256,
        "rows": version.rows,
        "schema": json.dumps(version.schema),
        "parts": json.dumps([part.to_dict() for part in version.parts]),
        "batch_id": version.batch_id,
        "profile_digest": version.profile_digest,
        "created_at": version.created_at,
    }


def _version(row: RowMapping) -> DatasetVersion:
    return DatasetVersion(
        dataset=row["dataset"],
        version=int(row["version"]),
        parent=row["parent"],
        sha256=row["sha256"],
        rows=int(row["rows"]),
        schema=json.loads(row["schema"]),
        parts=tuple(Part.from_dict(part) for part in json.loads(row["parts"])),
        batch_id=row["batch_id"],
        profile_digest=row["profile_digest"],
        created_at=aware(row["created_at"]),
    )
