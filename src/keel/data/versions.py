"""Batches and immutable dataset versions: the records of what was ingested and what was kept."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class BatchStatus(StrEnum):
    ACCEPTED = "accepted"  # its passing rows reached a dataset version (some may be quarantined)
    REJECTED = "rejected"  # a batch check failed: every row is in quarantine


class BatchKind(StrEnum):
    FEATURES = "features"
    LABELS = "labels"


@dataclass(frozen=True)
class Part:
    """One content-addressed Parquet file of accepted rows, and the batch that brought it."""

    digest: str
    rows: int
    batch_id: str

    def to_dict(self) -> dict[str, Any]:
        return {"digest": self.digest, "rows": self.rows, "batch": self.batch_id}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Part:
        return cls(data["digest"], int(data["rows"]), data["batch"])


def version_hash(parts: Sequence[Part]) -> str:
    """The content hash of a version: sha256 over its ordered part digests (each a sha256)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.digest.encode("ascii"))
        digest.update(b"\n")
    return digest.hexdigest()


@dataclass(frozen=True)
class Batch:
    """One ingested unit and its validation outcome; ``rows == accepted + quarantined``."""

    id: str
    dataset: str
    kind: BatchKind
    source: str
    uri: str
    file_sha256: str | None
    from_text: bool
    status: BatchStatus
    rows: int
    accepted: int
    quarantined: int
    reasons: tuple[dict[str, Any], ...]
    row_reasons: tuple[dict[str, Any], ...]
    dataset_version: int | None
    quarantine_digest: str | None
    actor: str
    created_at: datetime
    replay_of: str | None = None
    replayed_by: str | None = None

    @property
    def in_quarantine(self) -> bool:
        """Rows of this batch still held, not yet moved on by a replay."""
        return self.quarantined > 0 and self.replayed_by is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "batch_id": self.id,
            "dataset": self.dataset,
            "kind": self.kind.value,
            "source": self.source,
            "uri": self.uri,
            "file_sha256": self.file_sha256,
            "status": self.status.value,
            "rows": self.rows,
            "accepted": self.accepted,
            "quarantined": self.quarantined,
            "reasons": list(self.reasons),
            "row_reasons": list(self.row_reasons),
            "dataset_version": self.dataset_version,
            "quarantine_digest": self.quarantine_digest,
            "replay_of": self.replay_of,
            "replayed_by": self.replayed_by,
            "actor": self.actor,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class DatasetVersion:
    """An immutable, ordered set of parts; reading it always returns the same rows."""

    dataset: str
    version: int
    parent: int | None
    sha256: str
    rows: int
    schema: dict[str, str]
    parts: tuple[Part, ...]
    batch_id: str
    profile_digest: str
    created_at: datetime
    batches: tuple[str, ...] = field(default=())

    @property
    def label(self) -> str:
        return f"v{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "version": self.version,
            "label": self.label,
            "parent": self.parent,
            "sha256": self.sha256,
            "rows": self.rows,
            "schema": self.schema,
            "parts": [part.to_dict() for part in self.parts],
            "batches": sorted({part.batch_id for part in self.parts}),
            "batch_id": self.batch_id,
            "profile_digest": self.profile_digest,
            "created_at": self.created_at.isoformat(),
        }
