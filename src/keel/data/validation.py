"""Validate one batch: row checks, then batch checks, in one report.

The report keeps both outcomes apart: ``rows`` says which rows would be accepted, ``failures`` says
whether the batch as a whole may be accepted at all. Callers quarantine everything when
``failures`` is not empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl

from keel.data.batch_checks import (
    check_against_profile,
    check_columns,
    check_ids,
    check_reject_fraction,
    check_timestamps,
)
from keel.data.contract import DataSchema
from keel.data.profile import Profile
from keel.data.reasons import BatchReason, RowCode
from keel.data.row_checks import Progress, RowResult, check_rows


@dataclass(frozen=True)
class BatchReport:
    """Row-level outcome plus every failed batch check."""

    rows: RowResult
    failures: tuple[BatchReason, ...]

    @property
    def accepted(self) -> bool:
        """True when no batch check failed (the accepted rows may then be stored)."""
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (no row data)."""
        return {
            "accepted": self.accepted,
            "rows_in": self.rows.rows_in,
            "rows_accepted": self.rows.accepted.height,
            "rows_rejected": self.rows.rejected.height,
            "row_reasons": self.rows.summary_rows(),
            "batch_reasons": [f.to_dict() for f in self.failures],
        }


def validate_batch(
    frame: pl.DataFrame,
    schema: DataSchema,
    *,
    now: datetime,
    reference: Profile | None = None,
    existing_ids: pl.Series | None = None,
    from_text: bool = False,
    chunk_rows: int = 1_000_000,
    progress: Progress | None = None,
) -> BatchReport:
    """Run every row and batch check of ``schema`` over ``frame``."""
    rows = check_rows(
        frame,
        schema,
        from_text=from_text,
        existing_ids=existing_ids,
        chunk_rows=chunk_rows,
        progress=progress,
    )
    failures = check_columns(dict(frame.schema), schema, from_text=from_text)
    failures += _row_based(rows, schema, now=now, reference=reference)
    return BatchReport(rows, tuple(failures))


def _row_based(
    rows: RowResult, schema: DataSchema, *, now: datetime, reference: Profile | None
) -> list[BatchReason]:
    """Batch checks computed from the row outcome."""
    contract = schema.contract
    failures = check_reject_fraction(
        rows.rows_in, rows.rejected.height, contract.max_reject_fraction
    )
    if schema.entity is not None:
        failures += check_ids(
            schema.entity,
            duplicate_rows=rows.summary.get((schema.entity, RowCode.DUPLICATE_ID.value), 0),
            existing_rows=rows.summary.get((schema.entity, RowCode.EXISTING_ID.value), 0),
        )
    if schema.timestamp is not None and schema.timestamp in rows.accepted.columns:
        failures += check_timestamps(
            rows.accepted[schema.timestamp],
            now,
            max_age=contract.max_age,
            max_future=contract.max_future,
        )
    if reference is not None:
        failures += check_against_profile(
            rows.observed, reference, factor=contract.unit_change_factor, specs=schema.specs
        )
    return failures
