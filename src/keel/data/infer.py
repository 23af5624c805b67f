"""Propose a contract from a sample, as a starting point a person then reviews.

The proposal is deliberately a little loose (ranges widened by a margin, nullability from what was
seen) so that the next batch from the same source passes; tightening is a human decision.
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl
import yaml

from keel.data.contract import ColumnSpec, ColumnType, Contract

MAX_CATEGORIES = 20
"""Text columns with at most this many distinct values become categories."""


def infer_contract(
    sample: pl.DataFrame, *, margin: float = 0.1, entity: str | None = None
) -> Contract:
    """A contract whose checks the sample passes; ``entity`` is marked unique."""
    columns = {name: infer_column(sample[name], margin=margin) for name in sample.columns}
    if entity is not None and entity in columns:
        columns[entity] = columns[entity].model_copy(update={"unique": True})
    return Contract(columns=columns)


def infer_column(series: pl.Series, *, margin: float = 0.1) -> ColumnSpec:
    """One column's spec from its dtype and values (text is parsed when every value parses)."""
    was_text = series.dtype == pl.String
    if was_text:
        blank = series.str.strip_chars() == ""
        series = series.to_frame().select(pl.when(~blank).then(pl.col(series.name))).to_series()
    values = series.drop_nulls()
    nullable = values.len() < series.len()
    if was_text and values.len():
        values = _parse_text(values)
    kind = _kind(values)
    body: dict[str, Any] = {"type": kind, "nullable": nullable}
    if was_text and kind not in (ColumnType.STRING, ColumnType.CATEGORY):
        body["coerce"] = True
    body.update(_checks(values, kind, margin))
    return ColumnSpec.model_validate(body)


def _parse_text(values: pl.Series) -> pl.Series:
    """The values as int, float or datetime when all of them parse, else the text unchanged."""
    text = values.str.strip_chars()
    for dtype in (pl.Int64, pl.Float64):
        parsed = text.cast(dtype, strict=False)
        if parsed.null_count() == 0:
            return parsed.alias(values.name)
    stamps = text.str.to_datetime(strict=False, time_unit="us", time_zone="UTC")
    if stamps.null_count() == 0:
        return stamps.alias(values.name)
    return values


def _kind(series: pl.Series) -> ColumnType:
    """The contract type for a (possibly parsed) column."""
    dtype = series.dtype
    if dtype == pl.Boolean:
        return ColumnType.BOOL
    if dtype.is_integer():
        return ColumnType.INT
    if dtype.is_float():
        return ColumnType.FLOAT
    if dtype.is_temporal():
        return ColumnType.DATETIME
    present = series.drop_nulls()
    distinct = present.n_unique()
    if 0 < distinct <= MAX_CATEGORIES and distinct <= max(1, present.len() // 2):
        return ColumnType.CATEGORY
    return ColumnType.STRING


def _checks(values: pl.Series, kind: ColumnType, margin: float) -> dict[str, Any]:
    """Range, allowed values or uniqueness, from what the sample holds."""
    if values.is_empty():
        return {}
    if kind in (ColumnType.INT, ColumnType.FLOAT):
        return _range(values, kind, margin)
    if kind is ColumnType.CATEGORY:
        return {"values": sorted(str(v) for v in values.cast(pl.String).unique())}
    if kind is ColumnType.STRING and values.n_unique() == values.len() and values.len() > 1:
        return {"unique": True}
    return {}


def _range(values: pl.Series, kind: ColumnType, margin: float) -> dict[str, Any]:
    """Observed min and max widened by ``margin`` of the range; never crossing zero."""
    finite = values.cast(pl.Float64)
    finite = finite.filter(finite.is_finite())
    if finite.is_empty():
        return {}
    low, high = float(finite.min()), float(finite.max())  # type: ignore[arg-type]
    if kind is ColumnType.INT and set(finite.unique().to_list()) <= {0.0, 1.0}:
        return {"min": 0, "max": 1}  # a 0/1 flag or target: widening it would allow a 2
    pad = (high - low) * margin
    new_low = low - pad if low < 0 else max(low - pad, 0.0)
    new_high = high + pad if high > 0 else min(high + pad, 0.0)
    if kind is ColumnType.INT:
        return {"min": math.floor(new_low), "max": math.ceil(new_high)}
    return {"min": _round(new_low), "max": _round(new_high)}


def _round(value: float) -> float:
    """Keep 6 significant digits so that the YAML stays readable."""
    return float(f"{value:.6g}")


def render_contract(contract: Contract) -> str:
    """YAML for the ``contract:`` section; one flow-style line per column."""
    body = contract.model_dump(mode="json", exclude_defaults=True)
    body["columns"] = {name: _column_body(spec) for name, spec in contract.columns.items()}
    for key in ("max_reject_fraction", "unit_change_factor"):
        body[key] = getattr(contract, key)
    text: str = yaml.safe_dump(
        {"contract": body}, sort_keys=False, default_flow_style=None, width=100
    )
    return text


def _column_body(spec: ColumnSpec) -> dict[str, Any]:
    """A column's non-default fields; whole-number bounds written as integers."""
    body = spec.model_dump(mode="json", exclude_defaults=True, exclude_none=True)
    for key in ("min", "max"):
        if key in body and float(body[key]).is_integer():
            body[key] = int(body[key])
    return body
