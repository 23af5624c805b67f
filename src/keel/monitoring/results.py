"""What a univariate drift check returns: per column, each statistic against its threshold."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from keel.monitoring.reference import Kind
from keel.monitoring.thresholds import ThresholdPolicy


def _number(value: float) -> float | None:
    """A finite float, or None (JSON has no NaN)."""
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class StatisticResult:
    """One statistic on one column: its value, its alert threshold, and whether it alerts.

    ``value`` is NaN when the statistic is undefined on this chunk (no finite value to compare).
    """

    statistic: str
    value: float
    threshold: float

    @property
    def drifted(self) -> bool:
        """True when the value exceeds the threshold."""
        return math.isfinite(self.value) and self.value > self.threshold

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (an undefined value is None)."""
        return {
            "value": _number(self.value),
            "threshold": _number(self.threshold),
            "drifted": self.drifted,
        }


@dataclass(frozen=True)
class Distribution:
    """Reference and current shares for a plot.

    Numeric: ``edges`` are the grid edges and the shares are of finite values per grid bin, then
    at the maximum (one per edge); ``below`` and ``above`` are the current shares beyond the grid.
    Categorical: ``labels`` are the reference levels, then ``(unseen)``, and the shares are of
    present rows.
    """

    kind: Kind
    labels: tuple[str, ...]
    edges: tuple[float, ...]
    reference: tuple[float, ...]
    current: tuple[float, ...]
    reference_missing: float
    current_missing: float
    below: float = 0.0
    above: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "kind": self.kind,
            "labels": list(self.labels),
            "edges": list(self.edges),
            "reference": list(self.reference),
            "current": list(self.current),
            "reference_missing": self.reference_missing,
            "current_missing": self.current_missing,
            "below": self.below,
            "above": self.above,
        }


@dataclass(frozen=True)
class ColumnDrift:
    """Every statistic checked on one column of one chunk."""

    column: str
    kind: Kind
    rows: int
    missing_rate: float
    statistics: dict[str, StatisticResult]
    distribution: Distribution

    @property
    def drifted(self) -> bool:
        """True when any statistic alerts."""
        return any(result.drifted for result in self.statistics.values())

    def to_dict(self, *, distribution: bool = False) -> dict[str, Any]:
        """JSON-ready; the plot data only when asked for."""
        body: dict[str, Any] = {
            "kind": self.kind,
            "rows": self.rows,
            "missing_rate": self.missing_rate,
            "drifted": self.drifted,
            "statistics": {name: r.to_dict() for name, r in self.statistics.items()},
        }
        if distribution:
            body["distribution"] = self.distribution.to_dict()
        return body


@dataclass(frozen=True)
class DriftReport:
    """A chunk compared with the reference, column by column."""

    reference_rows: int
    current_rows: int
    policy: ThresholdPolicy
    columns: dict[str, ColumnDrift]
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def drifted_columns(self) -> tuple[str, ...]:
        """The columns on which any statistic alerts, in column order."""
        return tuple(name for name, column in self.columns.items() if column.drifted)

    def to_dict(self, *, distributions: bool = False) -> dict[str, Any]:
        """JSON-ready: per column each statistic's value, threshold and ``drifted`` flag."""
        return {
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "threshold": self.policy.to_dict(),
            "columns": {
                name: column.to_dict(distribution=distributions)
                for name, column in self.columns.items()
            },
            "drifted_columns": list(self.drifted_columns),
            "skipped": dict(self.skipped),
        }


@dataclass(frozen=True)
class MultivariateResult:
    """One multivariate check on one chunk: its value and the band it should stay in."""

    method: str
    value: float
    threshold: float
    lower: float | None
    expected: float
    rows: int

    @property
    def drifted(self) -> bool:
        """True when the value leaves the band."""
        return self.value > self.threshold or (self.lower is not None and self.value < self.lower)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "method": self.method,
            "value": self.value,
            "threshold": self.threshold,
            "lower": self.lower,
            "expected": self.expected,
            "rows": self.rows,
            "drifted": self.drifted,
        }
