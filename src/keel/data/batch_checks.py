"""Batch-level checks: problems that condemn a whole batch, not single rows.

Each function returns the failed checks as ``BatchReason`` values (empty when the check passes), so
that a report can list every problem at once. Any reason rejects the batch.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from keel.data.casting import is_castable
from keel.data.contract import ColumnSpec, ColumnType, DataSchema
from keel.data.profile import Profile
from keel.data.reasons import BatchCode, BatchReason
from keel.data.row_checks import ColumnObservation


def check_columns(
    columns: Mapping[str, pl.DataType], schema: DataSchema, *, from_text: bool = False
) -> list[BatchReason]:
    """Missing, unexpected and uncastable columns, with a hint when a column looks renamed."""
    expected = schema.expected
    missing = [n for n in expected if n not in columns and n not in schema.optional_columns]
    unexpected = [n for n in columns if n not in expected]
    reasons = [_missing(name, unexpected, _role(name, schema)) for name in missing]
    reasons.extend(_unexpected(name, missing) for name in unexpected)
    reasons.extend(_type_changes(columns, schema, from_text=from_text))
    return reasons


def likely_rename(name: str, candidates: list[str]) -> str | None:
    """The candidate that most looks like ``name`` renamed (prefix, suffix or close spelling)."""
    lowered = name.lower()
    for candidate in candidates:
        other = candidate.lower()
        if other.startswith(lowered) or lowered.startswith(other) or other.endswith(lowered):
            return candidate
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.75)
    return close[0] if close else None


def _role(name: str, schema: DataSchema) -> str | None:
    """The keel.yaml key that names ``name`` when the contract does not declare it, else None."""
    if name in schema.contract.columns:
        return None
    roles = {schema.entity: "entity", schema.timestamp: "timestamp", schema.target: "target"}
    return roles.get(name)


def _missing(name: str, unexpected: list[str], role: str | None = None) -> BatchReason:
    """An expected column is absent; point at an unexpected column that may be it, renamed.

    ``role`` is the keel.yaml key (``entity``, ``timestamp``) that names a column the contract
    itself does not declare, so the message says where the expectation comes from.
    """
    renamed = likely_rename(name, unexpected)
    where = "keel.yaml" if role else "the contract"
    hint = f"was '{name}' renamed to '{renamed}'? rename it back or update {where}"
    if role is None:
        message = f"column '{name}' is declared in the contract but missing from the batch"
        fallback = "send the column or remove it from the contract"
    else:
        message = (
            f"column '{name}' is the {role} column (keel.yaml '{role}')"
            " but is missing from the batch"
        )
        fallback = f"send the column, or change '{role}' in keel.yaml"
    return BatchReason(
        BatchCode.MISSING_COLUMN, message, column=name, hint=hint if renamed else fallback
    )


def _unexpected(name: str, missing: list[str]) -> BatchReason:
    """A column the contract does not declare."""
    renamed = likely_rename(name, missing) if missing else None
    hint = f"did you mean '{renamed}'?" if renamed else "declare it in the contract or drop it"
    return BatchReason(
        BatchCode.UNEXPECTED_COLUMN,
        f"column '{name}' is not declared in the contract",
        column=name,
        hint=hint,
    )


def _type_changes(
    columns: Mapping[str, pl.DataType], schema: DataSchema, *, from_text: bool
) -> list[BatchReason]:
    """Columns whose arriving type cannot be converted to the declared type."""
    reasons: list[BatchReason] = []
    for name, spec in schema.specs.items():
        dtype = columns.get(name)
        if dtype is not None and not is_castable(dtype, spec, from_text=from_text):
            reasons.append(
                BatchReason(
                    BatchCode.TYPE_CHANGED,
                    f"column '{name}' arrived as {dtype}; it cannot be read as {spec.type.value}",
                    column=name,
                    hint="fix the producer, or set coerce: true if text values are expected",
                )
            )
    return reasons


def check_reject_fraction(rows_in: int, rejected: int, max_fraction: float) -> list[BatchReason]:
    """Too many bad rows mean the batch itself is broken, not a few of its rows."""
    fraction = rejected / rows_in if rows_in else 0.0
    if fraction <= max_fraction:
        return []
    message = f"{rejected} of {rows_in} rows ({fraction:.2%}) failed, above {max_fraction:.2%}"
    return [BatchReason(BatchCode.REJECT_FRACTION, message, hint="see the row reasons")]


def check_ids(column: str, *, duplicate_rows: int, existing_rows: int) -> list[BatchReason]:
    """Entity ids must be unique in the batch and new to the dataset (counts from row checks)."""
    reasons: list[BatchReason] = []
    if duplicate_rows:
        message = f"{duplicate_rows} rows share an entity id with another row of the batch"
        reasons.append(BatchReason(BatchCode.DUPLICATE_ID, message, column=column))
    if existing_rows:
        message = f"{existing_rows} rows carry an entity id that is already in the dataset"
        hint = "send corrections as a new dataset version, not as a re-ingest of the same ids"
        reasons.append(BatchReason(BatchCode.EXISTING_ID, message, column=column, hint=hint))
    return reasons


def check_timestamps(
    timestamps: pl.Series,
    now: datetime,
    *,
    max_age: timedelta | None,
    max_future: timedelta | None,
) -> list[BatchReason]:
    """Timestamps older than ``now - max_age`` (stale) or beyond ``now + max_future``."""
    freshness = Freshness(timestamps.name, now, max_age=max_age, max_future=max_future)
    freshness.add(timestamps)
    return freshness.reasons()


class Freshness:
    """``check_timestamps`` over a batch that streams by in chunks: counts and the oldest value
    are kept, not the timestamps (80 MB for 10M rows)."""

    def __init__(
        self,
        column: str,
        now: datetime,
        *,
        max_age: timedelta | None,
        max_future: timedelta | None,
    ) -> None:
        now = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
        self.column = column
        self.max_age, self.max_future = max_age, max_future
        self.stale_before = now - max_age if max_age is not None else None
        self.ahead_after = now + max_future if max_future is not None else None
        self.stale = self.ahead = 0
        self.oldest: Any = None

    def add(self, timestamps: pl.Series) -> None:
        """Count one chunk's timestamps (nulls are neither stale nor ahead)."""
        values = timestamps.drop_nulls()
        if not len(values):
            return
        if self.stale_before is not None:
            old = int((values < self.stale_before).sum())
            if old:
                self.stale += old
                low = values.min()
                self.oldest = low if self.oldest is None else min(self.oldest, low)
        if self.ahead_after is not None:
            self.ahead += int((values > self.ahead_after).sum())

    def reasons(self) -> list[BatchReason]:
        reasons: list[BatchReason] = []
        if self.stale:
            message = (
                f"{self.stale} timestamps are older than {self.max_age} (oldest {self.oldest})"
            )
            reasons.append(BatchReason(BatchCode.STALE, message, column=self.column))
        if self.ahead:
            message = f"{self.ahead} timestamps are more than {self.max_future} in the future"
            reasons.append(BatchReason(BatchCode.FUTURE, message, column=self.column))
        return reasons


def check_against_profile(
    observed: Mapping[str, ColumnObservation],
    reference: Profile,
    *,
    factor: float,
    specs: Mapping[str, ColumnSpec] | None = None,
) -> list[BatchReason]:
    """A unit change (median moved by ``factor`` either way) or a column with no usable value.

    A column whose values all arrived but none could be read (``specs`` says as what) is not
    called null: the reason names the type or the allowed values, with an example value.
    """
    reasons: list[BatchReason] = []
    for name, seen in observed.items():
        ref = reference.columns.get(name)
        if ref is None:
            continue
        if seen.rows and seen.nulls == seen.rows and ref.null_count < ref.count:
            reasons.append(_no_usable_value(name, seen, (specs or {}).get(name)))
        ratio = _median_ratio(seen.median, ref.median)
        if ratio is not None and not 1 / factor <= ratio <= factor:
            reasons.append(_unit_change(name, seen.median, ref.median, ratio))
    return reasons


def _no_usable_value(name: str, seen: ColumnObservation, spec: ColumnSpec | None) -> BatchReason:
    """All null after parsing: either nothing arrived, or what arrived could not be read."""
    if not seen.unread:
        message = f"column '{name}' is entirely null; the reference had values"
        return BatchReason(BatchCode.ALL_NULL, message, column=name)
    example = repr(seen.example) if seen.example is not None else "?"
    share = f"{seen.unread} of {seen.rows}"
    if spec is not None and spec.type is ColumnType.CATEGORY and spec.values:
        allowed = ", ".join(spec.values)
        message = (
            f"column '{name}' has no allowed value: {share} values are not in the contract's"
            f" categories (e.g. {example}; allowed: {allowed})"
        )
        hint = f"add the new categories to contract.columns.{name}.values, or fix the producer"
    else:
        kind = spec.type.value if spec is not None else "its declared type"
        message = (
            f"column '{name}' has no value that reads as {kind}: {share} values do not"
            f" (e.g. {example})"
        )
        hint = "fix the producer, or set coerce: true if text values are expected"
    return BatchReason(BatchCode.ALL_NULL, message, column=name, hint=hint)


def _median_ratio(new: float | None, old: float | None) -> float | None:
    """|new| / |old|, or None when either is unknown or the reference is 0."""
    if new is None or old is None or old == 0:
        return None
    return abs(new) / abs(old)


def _unit_change(name: str, new: float | None, old: float | None, ratio: float) -> BatchReason:
    """The reason for a median that jumped: most often cents vs euros, or grams vs kilograms."""
    return BatchReason(
        BatchCode.UNIT_CHANGE,
        f"median of '{name}' moved from {old:g} to {new:g} (x{ratio:.3g}): a unit change?",
        column=name,
        hint="check the producer's units; convert before ingesting",
    )
