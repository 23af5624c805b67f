"""Data quality per chunk: missing rates, unseen categories and out-of-range values, each
against a configured limit.

Drift asks whether the distribution moved; quality asks whether the pipe broke. A feed that
starts sending nulls, a new category no one mapped, or income in thousands shows here as a
plain rate over a plain limit, readable without statistics.

* **missing**: the share of rows without a finite value, against the reference's missing rate
  plus ``missing_increase`` (or a per-column limit in ``max_missing``).
* **unseen**: the share of present values of a categorical column outside the allowed levels
  (the contract's ``values`` when given in ``allowed``, else the reference's levels).
* **out of range**: the share of present values of a numeric column outside its range (the
  contract's ``min``/``max`` when given in ``ranges``, else the reference's minimum and maximum).

All columns are counted in one Polars query, in parallel.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from keel.errors import InvalidInput
from keel.monitoring.reference import CategoricalReference, NumericReference, ReferenceProfile

Range = tuple[float | None, float | None]


@dataclass(frozen=True)
class QualityLimits:
    """The limits a chunk's quality is checked against (see the module docstring)."""

    missing_increase: float = 0.02
    unseen_rate: float = 0.01
    out_of_range_rate: float = 0.01
    max_missing: Mapping[str, float] = field(default_factory=dict)
    ranges: Mapping[str, Range] = field(default_factory=dict)
    allowed: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("missing_increase", "unseen_rate", "out_of_range_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise InvalidInput(
                    f"{name} must be a share in [0, 1]; got {value!r}", path=f"quality.{name}"
                )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "missing_increase": self.missing_increase,
            "unseen_rate": self.unseen_rate,
            "out_of_range_rate": self.out_of_range_rate,
            "max_missing": dict(self.max_missing),
            "ranges": {name: list(bounds) for name, bounds in self.ranges.items()},
            "allowed": {name: list(values) for name, values in self.allowed.items()},
        }


@dataclass(frozen=True)
class QualityCheck:
    """One rate against its limit."""

    check: str
    rate: float
    limit: float

    @property
    def alert(self) -> bool:
        """True when the rate exceeds the limit."""
        return self.rate > self.limit

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"rate": self.rate, "limit": self.limit, "alert": self.alert}


@dataclass(frozen=True)
class ColumnQuality:
    """The checks of one column in one chunk; ``examples`` lists a few unseen levels."""

    column: str
    rows: int
    checks: dict[str, QualityCheck]
    examples: tuple[str, ...] = ()

    @property
    def alerts(self) -> tuple[str, ...]:
        """The names of the checks over their limit."""
        return tuple(name for name, check in self.checks.items() if check.alert)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "rows": self.rows,
            "checks": {name: check.to_dict() for name, check in self.checks.items()},
            "alerts": list(self.alerts),
            "examples": list(self.examples),
        }


@dataclass(frozen=True)
class QualityReport:
    """Every column's checks in one chunk."""

    rows: int
    limits: QualityLimits
    columns: dict[str, ColumnQuality]

    @property
    def alerts(self) -> dict[str, tuple[str, ...]]:
        """Column -> the checks over their limit, for the columns with any."""
        return {name: c.alerts for name, c in self.columns.items() if c.alerts}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "rows": self.rows,
            "limits": self.limits.to_dict(),
            "columns": {name: column.to_dict() for name, column in self.columns.items()},
            "alerts": {name: list(checks) for name, checks in self.alerts.items()},
        }


def check_quality(
    reference: ReferenceProfile, current: pl.DataFrame, *, limits: QualityLimits | None = None
) -> QualityReport:
    """Missing, unseen and out-of-range rates of every reference column of ``current``."""
    limits = limits or QualityLimits()
    absent = [name for name in reference.columns if name not in current.columns]
    if absent:
        raise InvalidInput(
            f"the current data has no column {absent[0]!r}, which the reference monitors",
            path="columns",
        )
    queries: list[pl.Expr] = []
    for name, column in reference.columns.items():
        queries.extend(_queries(name, column, current.schema[name], limits))
    counted = current.select(queries).row(0, named=True) if queries else {}
    columns = {
        name: _column(name, column, counted, current, limits)
        for name, column in reference.columns.items()
    }
    return QualityReport(current.height, limits, columns)


def _present(name: str, dtype: pl.DataType, numeric: bool) -> pl.Expr:
    """The column's usable values: finite floats for numeric columns, text for the others."""
    raw = pl.col(name)
    if not numeric:
        return raw.cast(pl.String)
    value = raw.cast(pl.Float64, strict=False) if dtype.is_numeric() else _parsed(raw)
    return pl.when(value.is_finite()).then(value)


def _parsed(raw: pl.Expr) -> pl.Expr:
    return raw.cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)


def _queries(
    name: str,
    column: NumericReference | CategoricalReference,
    dtype: pl.DataType,
    limits: QualityLimits,
) -> list[pl.Expr]:
    numeric = isinstance(column, NumericReference)
    value = _present(name, dtype, numeric)
    queries = [value.null_count().alias(f"{name}|missing")]
    if isinstance(column, NumericReference):
        low, high = limits.ranges.get(name, (column.minimum, column.maximum))
        outside = pl.lit(False)
        if low is not None:
            outside = outside | (value < low)
        if high is not None:
            outside = outside | (value > high)
        queries.append(outside.fill_null(False).sum().alias(f"{name}|outside"))
    else:
        levels = list(limits.allowed.get(name, column.levels))
        unseen = value.is_not_null() & ~value.is_in(levels)
        queries.append(unseen.sum().alias(f"{name}|unseen"))
    return queries


def _column(
    name: str,
    column: NumericReference | CategoricalReference,
    counted: dict[str, Any],
    current: pl.DataFrame,
    limits: QualityLimits,
) -> ColumnQuality:
    rows = current.height
    missing = int(counted[f"{name}|missing"])
    present = max(rows - missing, 1)
    baseline = column.missing / max(column.rows, 1)
    limit = limits.max_missing.get(name, min(baseline + limits.missing_increase, 1.0))
    checks = {"missing": QualityCheck("missing", missing / max(rows, 1), limit)}
    examples: tuple[str, ...] = ()
    if isinstance(column, NumericReference):
        outside = int(counted[f"{name}|outside"]) / present
        checks["out_of_range"] = QualityCheck("out_of_range", outside, limits.out_of_range_rate)
    else:
        unseen = int(counted[f"{name}|unseen"])
        checks["unseen"] = QualityCheck("unseen", unseen / present, limits.unseen_rate)
        if unseen:
            examples = _unseen_examples(current[name], limits.allowed.get(name, column.levels))
    return ColumnQuality(name, rows, checks, examples)


def _unseen_examples(series: pl.Series, levels: tuple[str, ...], top: int = 5) -> tuple[str, ...]:
    """The most frequent values outside ``levels``."""
    text = series.cast(pl.String).drop_nulls().rename("value")
    found = text.filter(~text.is_in(list(levels))).value_counts(name="n")
    found = found.sort(["n", "value"], descending=[True, False]).head(top)
    return tuple(str(value) for value in found["value"])
