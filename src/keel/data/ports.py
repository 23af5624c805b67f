"""Persistence ports of the data layer: batch and version records, and the row files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import polars as pl

from keel.data.versions import Batch, DatasetVersion


class BatchRepo(Protocol):
    def add(self, batch: Batch) -> None:
        """Insert a batch record; raises ``Conflict`` if the id exists."""
        ...

    def get(self, batch_id: str) -> Batch:
        """The batch; raises ``NotFound``."""
        ...

    def find_accepted_file(self, dataset: str, file_sha256: str) -> Batch | None:
        """An accepted batch of this dataset that came from byte-identical input, if any."""
        ...

    def list(self, dataset: str, *, quarantined_only: bool = False) -> list[Batch]:
        """Batches newest first; optionally only those with rows still in quarantine."""
        ...

    def mark_replayed(self, batch_id: str, replayed_by: str) -> None:
        """Record that a replay moved this batch's quarantine on; raises ``Conflict`` if done."""
        ...


class DatasetRepo(Protocol):
    def add(self, version: DatasetVersion) -> None:
        """Insert a version; raises ``Conflict`` if its number or parent is already taken."""
        ...

    def get(self, dataset: str, version: int) -> DatasetVersion:
        """The version; raises ``NotFound``."""
        ...

    def latest(self, dataset: str) -> DatasetVersion | None:
        """The newest version, or None before the first accepted batch."""
        ...

    def list(self, dataset: str) -> list[DatasetVersion]:
        """Every version, oldest first."""
        ...


class RowStore(Protocol):
    """Immutable Parquet files of rows, addressed by the sha256 of their bytes."""

    def write(self, frame: pl.DataFrame) -> str:
        """Store a frame as Parquet and return its digest (identical frames share a digest)."""
        ...

    def archive(self, frame: pl.DataFrame) -> str:
        """Like ``write``, for rows kept for the record and rarely read (a batch's raw input):
        lighter compression, no statistics, so ingest pays less for keeping them."""
        ...

    def write_file(self, path: Path) -> str:
        """Store an existing Parquet file and return its digest."""
        ...

    def read(self, digest: str, *, columns: list[str] | None = None) -> pl.DataFrame:
        """Read a verified file back; raises ``IntegrityError`` if its bytes changed."""
        ...

    def iter_read(
        self, digests: list[str], *, columns: list[str] | None = None
    ) -> Iterator[pl.DataFrame]:
        """Read several files one at a time, so memory is bounded by the largest part."""
        ...

    def read_all(self, digests: list[str], *, columns: list[str] | None = None) -> pl.DataFrame:
        """Read several files into one frame, in order; parts whose columns differ are aligned
        by name, with types relaxed to fit them all."""
        ...

    def put_json(self, body: bytes) -> str:
        """Store a small JSON document (profiles, reports); returns its digest."""
        ...

    def get_json(self, digest: str) -> bytes:
        """A verified JSON document."""
        ...
