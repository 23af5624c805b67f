"""Quarantine: where every row that did not reach a dataset version is kept, with its reasons.

A batch keeps two kinds of Parquet parts on the row store, listed in one manifest:

- ``raw``: the batch exactly as it arrived (in order), so a rejected batch loses nothing, not even
  columns the contract does not know;
- ``rejected``: the rows that failed a row check, raw, with ``_keel_row`` (position in the batch)
  and ``_keel_reasons`` (every failed check: column, code, offending value).

A batch accepted as a whole holds in quarantine only its rejected rows; a batch rejected by a batch
check holds every raw row, each with its row reasons (empty where the row itself was fine).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import polars as pl

from keel.data.ports import RowStore
from keel.data.reasons import REASON_DTYPE, REASONS_COLUMN, ROW_COLUMN
from keel.data.versions import Batch, BatchStatus

BATCH_COLUMN = "_keel_batch"
"""The batch id, added to every row shown from quarantine."""


@dataclass(frozen=True)
class StoredPart:
    """A Parquet part on the row store and how many rows it holds."""

    digest: str
    rows: int

    def to_dict(self) -> dict[str, Any]:
        return {"digest": self.digest, "rows": self.rows}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StoredPart:
        return cls(data["digest"], int(data["rows"]))


@dataclass(frozen=True)
class Manifest:
    """The parts of one batch's raw input and of its rejected rows."""

    raw: tuple[StoredPart, ...]
    rejected: tuple[StoredPart, ...]

    def to_json(self) -> bytes:
        body = {
            "raw": [p.to_dict() for p in self.raw],
            "rejected": [p.to_dict() for p in self.rejected],
        }
        return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)

    @classmethod
    def from_json(cls, body: bytes) -> Manifest:
        data = orjson.loads(body)
        return cls(
            tuple(StoredPart.from_dict(p) for p in data["raw"]),
            tuple(StoredPart.from_dict(p) for p in data["rejected"]),
        )


def load_manifest(rows: RowStore, batch: Batch) -> Manifest:
    """The batch's manifest; every batch has one (an empty batch has empty lists)."""
    if batch.quarantine_digest is None:
        return Manifest((), ())
    return Manifest.from_json(rows.get_json(batch.quarantine_digest))


def quarantined_rows(rows: RowStore, batch: Batch) -> Iterator[pl.DataFrame]:
    """Every row of ``batch`` still in quarantine: raw values, reasons, position, batch id."""
    manifest = load_manifest(rows, batch)
    if batch.status is BatchStatus.ACCEPTED:
        for part in manifest.rejected:
            yield _tagged(rows.read(part.digest), batch.id)
        return
    reasons = _all_reasons(rows, manifest)
    offset = 0
    for part in manifest.raw:
        frame = rows.read(part.digest).with_row_index(ROW_COLUMN, offset=offset)
        frame = frame.with_columns(pl.col(ROW_COLUMN).cast(pl.Int64))
        joined = frame.join(reasons, on=ROW_COLUMN, how="left", maintain_order="left")
        empty = pl.lit([], dtype=REASON_DTYPE)
        joined = joined.with_columns(pl.col(REASONS_COLUMN).fill_null(empty))
        offset += part.rows
        yield _tagged(joined, batch.id)


def raw_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """A quarantined frame without Keel's bookkeeping columns: the rows as they arrived."""
    return frame.drop([c for c in frame.columns if c.startswith("_keel_")])


def _all_reasons(rows: RowStore, manifest: Manifest) -> pl.DataFrame:
    frames = [rows.read(p.digest, columns=[ROW_COLUMN, REASONS_COLUMN]) for p in manifest.rejected]
    if not frames:
        return pl.DataFrame(schema={ROW_COLUMN: pl.Int64, REASONS_COLUMN: REASON_DTYPE})
    stacked = pl.concat(frames).with_columns(pl.col(ROW_COLUMN).cast(pl.Int64))
    # a row can be explained by two parts (its own checks, then a repeat found later)
    merged = pl.col(REASONS_COLUMN).list.explode(keep_nulls=False, empty_as_null=False)
    return stacked.group_by(ROW_COLUMN, maintain_order=True).agg(merged)


def _tagged(frame: pl.DataFrame, batch_id: str) -> pl.DataFrame:
    return frame.with_columns(pl.lit(batch_id).alias(BATCH_COLUMN))
