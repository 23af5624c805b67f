"""From raw column to contract type, as Polars expressions.

A raw column arrives either as text (CSV read as strings) or typed (Parquet, Arrow). Lossless
conversions (int32 -> int64, an integral float -> int, a zoned datetime -> UTC) always apply.
Parsing text into numbers or booleans happens only when the column declares ``coerce: true`` or
the caller says the whole batch is text (``from_text=True``): never silently. Datetimes are the
exception: most formats have no time type and carry them as ISO text, so text always parses, and
a value that does not parse is a ``wrong_type`` row reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from keel.data.contract import ColumnSpec, ColumnType

UTC_DATETIME = pl.Datetime("us", "UTC")
_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")
_BOOL_TEXT = {**dict.fromkeys(_TRUE, True), **dict.fromkeys(_FALSE, False)}


@dataclass(frozen=True)
class Parsed:
    """A column's value in contract type, and masks for 'raw is missing' and 'raw did not parse'."""

    value: pl.Expr
    missing: pl.Expr
    wrong_type: pl.Expr | None


def target_dtype(spec: ColumnSpec) -> pl.DataType:
    """The Polars dtype of an accepted column (categories become an Enum of their values)."""
    if spec.type is ColumnType.CATEGORY:
        return pl.Enum(list(spec.values)) if spec.values else pl.String()
    return {
        ColumnType.INT: pl.Int64(),
        ColumnType.FLOAT: pl.Float64(),
        ColumnType.STRING: pl.String(),
        ColumnType.BOOL: pl.Boolean(),
        ColumnType.DATETIME: UTC_DATETIME,
    }[spec.type]


def is_castable(dtype: pl.DataType, spec: ColumnSpec, *, from_text: bool) -> bool:
    """Whether a raw dtype can be converted to the spec's type at all (else: type changed)."""
    if dtype == pl.Null:
        return True
    if dtype == pl.String and spec.type is ColumnType.DATETIME:
        return True  # JSON, CSV and SQLite carry times as ISO text: parsing is not a coercion
    if dtype == pl.String and spec.type not in (ColumnType.STRING, ColumnType.CATEGORY):
        return from_text or spec.coerce
    return _castable_typed(dtype, spec.type)


def _castable_typed(dtype: pl.DataType, kind: ColumnType) -> bool:
    """The lossless conversions between typed columns."""
    if kind is ColumnType.INT:
        return dtype.is_integer() or dtype.is_float()
    if kind is ColumnType.FLOAT:
        return dtype.is_numeric()
    if kind is ColumnType.BOOL:
        return dtype == pl.Boolean
    if kind is ColumnType.DATETIME:
        return isinstance(dtype, pl.Datetime) or dtype == pl.Date
    return dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum) or dtype.is_integer()


def parse_column(name: str, dtype: pl.DataType, spec: ColumnSpec, *, from_text: bool) -> Parsed:
    """The expressions that turn raw column ``name`` of ``dtype`` into the spec's type."""
    raw = pl.col(name)
    if not is_castable(dtype, spec, from_text=from_text):
        return Parsed(pl.lit(None, target_dtype(spec)), raw.is_null(), raw.is_not_null())
    if dtype == pl.String and spec.type not in (ColumnType.STRING, ColumnType.CATEGORY):
        return _parse_text(raw, spec)
    value, ok = _convert_typed(raw, dtype, spec)
    wrong = None if ok is None else raw.is_not_null() & ~ok
    return Parsed(value, raw.is_null(), wrong)


def _parse_text(raw: pl.Expr, spec: ColumnSpec) -> Parsed:
    """Parse text: blank counts as missing, anything else that does not parse is a wrong type."""
    text = raw.str.strip_chars()
    blank = raw.is_null() | (text.str.len_bytes() == 0)
    value = _parse_stripped(text, spec)
    return Parsed(value, blank, ~blank & value.is_null())


def _parse_stripped(text: pl.Expr, spec: ColumnSpec) -> pl.Expr:
    """One parser per target type; failures become null (callers turn that into wrong_type)."""
    if spec.type is ColumnType.INT:
        return text.cast(pl.Int64, strict=False)
    if spec.type is ColumnType.FLOAT:
        return text.cast(pl.Float64, strict=False)
    if spec.type is ColumnType.BOOL:
        lowered = text.str.to_lowercase()
        return lowered.replace_strict(_BOOL_TEXT, default=None, return_dtype=pl.Boolean)
    return text.str.to_datetime(spec.format, strict=False, time_unit="us", time_zone="UTC")


def _convert_typed(
    raw: pl.Expr, dtype: pl.DataType, spec: ColumnSpec
) -> tuple[pl.Expr, pl.Expr | None]:
    """A lossless conversion and, where it can fail, the mask of rows where it succeeded."""
    if spec.type is ColumnType.INT and dtype.is_float():
        value = raw.cast(pl.Int64, strict=False)
        return value, value.is_not_null() & (value.cast(pl.Float64) == raw)
    if spec.type is ColumnType.INT and dtype != pl.Int64:
        value = raw.cast(pl.Int64, strict=False)
        return value, value.is_not_null()
    if spec.type is ColumnType.DATETIME:
        return _to_utc(raw, dtype), None
    if spec.type is ColumnType.CATEGORY and spec.values:
        text = raw if dtype == pl.String else raw.cast(pl.String)
        return text.cast(target_dtype(spec), strict=False), None
    if spec.type in (ColumnType.STRING, ColumnType.CATEGORY) and dtype != pl.String:
        return raw.cast(pl.String), None
    return raw.cast(target_dtype(spec)), None


def _to_utc(raw: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Naive datetimes are read as UTC; zoned ones are converted to UTC."""
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        return raw.dt.convert_time_zone("UTC").cast(UTC_DATETIME)
    return raw.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
