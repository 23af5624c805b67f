"""Stable reason codes for rejected rows and rejected batches.

The codes are stored with quarantined rows and in batch reports, so they are part of the public
format: add new codes, never rename old ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import polars as pl

REASONS_COLUMN = "_keel_reasons"
"""The list-of-struct column that a rejected frame carries next to the raw values."""

ROW_COLUMN = "_keel_row"
"""The 0-based position of a rejected row in the input batch."""


class RowCode(StrEnum):
    """Why a single row was rejected."""

    MISSING_VALUE = "missing_value"
    WRONG_TYPE = "wrong_type"
    NOT_FINITE = "not_finite"
    BELOW_MIN = "below_min"
    ABOVE_MAX = "above_max"
    NOT_ALLOWED = "not_allowed"
    REGEX_MISMATCH = "regex_mismatch"
    DUPLICATE_VALUE = "duplicate_value"
    DUPLICATE_ID = "duplicate_id"
    EXISTING_ID = "existing_id"


class BatchCode(StrEnum):
    """Why a whole batch was rejected."""

    MISSING_COLUMN = "missing_column"
    UNEXPECTED_COLUMN = "unexpected_column"
    TYPE_CHANGED = "type_changed"
    REJECT_FRACTION = "reject_fraction"
    DUPLICATE_ID = "duplicate_id"
    EXISTING_ID = "existing_id"
    STALE = "stale"
    FUTURE = "future"
    UNIT_CHANGE = "unit_change"
    ALL_NULL = "all_null"


REASON_DTYPE = pl.List(pl.Struct({"column": pl.String, "code": pl.String, "value": pl.String}))
"""The dtype of ``REASONS_COLUMN``; ``value`` is the offending raw value as text (null if null)."""


@dataclass(frozen=True)
class BatchReason:
    """One failed batch check; ``column`` is set when the check concerns one column."""

    code: BatchCode
    message: str
    column: str | None = None
    hint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form for reports and the audit log."""
        body: dict[str, Any] = {"code": self.code.value, "message": self.message}
        if self.column is not None:
            body["column"] = self.column
        if self.hint is not None:
            body["hint"] = self.hint
        return body

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BatchReason:
        """Inverse of ``to_dict``."""
        return cls(BatchCode(data["code"]), data["message"], data.get("column"), data.get("hint"))
