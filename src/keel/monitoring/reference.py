"""The reference profile: what "normal" looks like, stored as plain data next to a model.

Every drift statistic compares a current chunk with this profile, never with the raw reference
rows, so a monitor needs only the profile (a few kilobytes of JSON per column) at run time.

* A numeric column keeps its **grid**: the edges at the reference's percentiles (``grid + 1``
  quantiles, read as data values so that a discrete column's atoms sit on edges; repeated edges
  merged) and the count of finite values in each grid bin ``[edges[i], edges[i + 1])``, then
  the count at the maximum ``edges[-1]`` itself. The coarse **bins** used by PSI and JS are
  every ``grid / bins``-th edge (the deciles by default), so they are sums of grid bins. It also
  keeps the missing count, min, max, mean and standard deviation.
* A categorical column keeps the count of every level (booleans are the levels ``true`` and
  ``false``) and the missing count.

Columns with too many levels (ids, free text) and date or time columns are skipped, with the
reason kept in ``skipped``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl

from keel.errors import InvalidInput
from keel.monitoring._arrays import F64, I64, SortedValues, sorted_values, text_values

Kind = Literal["numeric", "categorical"]
FORMAT = "keel.monitoring.reference/1"
GRID = 100
BINS = 10
MAX_LEVELS = 200
"""A text column with more distinct values than this is treated as an identifier and skipped."""


@dataclass(frozen=True, eq=False)
class NumericReference:
    """A numeric column of the reference: its grid, counts and moments (see the module doc)."""

    rows: int
    missing: int
    edges: F64
    counts: I64
    """One per edge: the grid bins, then the count at the maximum (see ``grid_counts``)."""
    coarse: I64
    """Indices into ``edges`` of the coarse bin edges (first 0, last ``len(edges) - 1``)."""
    minimum: float | None
    maximum: float | None
    mean: float | None
    std: float | None
    kind: Kind = field(default="numeric", init=False)

    @property
    def present(self) -> int:
        """Rows with a finite value."""
        return self.rows - self.missing

    @property
    def scale(self) -> float:
        """The unit of the normalized Wasserstein distance: the reference's standard deviation."""
        return self.std if self.std else 1.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "kind": self.kind,
            "rows": self.rows,
            "missing": self.missing,
            "edges": self.edges.tolist(),
            "counts": self.counts.tolist(),
            "coarse": self.coarse.tolist(),
            "min": self.minimum,
            "max": self.maximum,
            "mean": self.mean,
            "std": self.std,
        }

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> NumericReference:
        """Inverse of ``to_dict``."""
        return cls(
            rows=int(body["rows"]),
            missing=int(body["missing"]),
            edges=np.asarray(body["edges"], dtype=np.float64),
            counts=np.asarray(body["counts"], dtype=np.int64),
            coarse=np.asarray(body["coarse"], dtype=np.int64),
            minimum=body["min"],
            maximum=body["max"],
            mean=body["mean"],
            std=body["std"],
        )


@dataclass(frozen=True, eq=False)
class CategoricalReference:
    """A categorical column of the reference: the count of each level, most frequent first."""

    rows: int
    missing: int
    levels: tuple[str, ...]
    counts: I64
    kind: Kind = field(default="categorical", init=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "kind": self.kind,
            "rows": self.rows,
            "missing": self.missing,
            "levels": list(self.levels),
            "counts": self.counts.tolist(),
        }

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> CategoricalReference:
        """Inverse of ``to_dict``."""
        return cls(
            rows=int(body["rows"]),
            missing=int(body["missing"]),
            levels=tuple(str(level) for level in body["levels"]),
            counts=np.asarray(body["counts"], dtype=np.int64),
        )


ColumnReference = NumericReference | CategoricalReference


@dataclass(frozen=True, eq=False)
class ReferenceProfile:
    """The reference of every monitored column, and why the others were left out."""

    rows: int
    columns: dict[str, ColumnReference]
    skipped: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with a format tag so that a stored profile is read correctly later."""
        return {
            "format": FORMAT,
            "rows": self.rows,
            "columns": {name: column.to_dict() for name, column in self.columns.items()},
            "skipped": dict(self.skipped),
        }

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> ReferenceProfile:
        """Inverse of ``to_dict``; InvalidInput for another format or an unknown column kind."""
        if body.get("format") != FORMAT:
            raise InvalidInput(
                f"expected a reference profile of format {FORMAT!r}; got {body.get('format')!r}",
                path="format",
            )
        columns: dict[str, ColumnReference] = {}
        for name, column in body["columns"].items():
            read = _READERS.get(str(column.get("kind")))
            if read is None:
                raise InvalidInput(
                    f"column {name!r} has kind {column.get('kind')!r}; expected one of "
                    f"{sorted(_READERS)}",
                    path=f"columns.{name}.kind",
                )
            columns[name] = read(column)
        return cls(int(body["rows"]), columns, dict(body.get("skipped", {})))


_READERS: dict[str, Any] = {
    "numeric": NumericReference.from_dict,
    "categorical": CategoricalReference.from_dict,
}


def build_reference(
    frame: pl.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    kinds: Mapping[str, Kind] | None = None,
    grid: int = GRID,
    bins: int = BINS,
) -> ReferenceProfile:
    """The reference profile of ``frame``'s ``columns`` (default: all).

    ``kinds`` overrides the kind read from a column's dtype (a contract knows that an integer
    code is categorical). ``grid`` must be a multiple of ``bins``.
    """
    if bins < 2 or grid < bins or grid % bins:
        raise InvalidInput(
            f"grid must be a multiple of bins, and bins at least 2; got grid={grid}, bins={bins}",
            path="grid",
        )
    chosen = list(frame.columns if columns is None else columns)
    missing = [name for name in chosen if name not in frame.columns]
    if missing:
        raise InvalidInput(
            f"the reference has no column {missing[0]!r}; it has {frame.columns}", path="columns"
        )
    profiled: dict[str, ColumnReference] = {}
    skipped: dict[str, str] = {}
    for name in chosen:
        kind = (kinds or {}).get(name) or kind_of(frame.schema[name])
        if kind is None:
            skipped[name] = f"dtype {frame.schema[name]} is neither numeric nor categorical"
        elif kind == "numeric":
            profiled[name] = numeric_reference(sorted_values(frame[name]), grid, bins)
        else:
            column = categorical_reference(frame[name])
            if column is None:
                skipped[name] = f"more than {MAX_LEVELS} distinct values: an identifier or text"
            else:
                profiled[name] = column
    return ReferenceProfile(frame.height, profiled, skipped)


def kind_of(dtype: pl.DataType) -> Kind | None:
    """Numbers are numeric; text, categories and booleans categorical; anything else neither."""
    if dtype.is_numeric():
        return "numeric"
    if dtype in (pl.String, pl.Categorical, pl.Boolean) or isinstance(dtype, pl.Enum):
        return "categorical"
    return None


def numeric_reference(values: SortedValues, grid: int, bins: int) -> NumericReference:
    """Grid edges at the percentiles of the sorted finite values, and the counts between them."""
    data = values.values
    rows = values.present + values.missing
    if data.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return NumericReference(
            rows, values.missing, np.zeros(0), empty, empty, None, None, None, None
        )
    positions = (np.arange(grid + 1, dtype=np.int64) * (data.size - 1)) // grid
    quantiles = data[positions]
    edges = np.unique(quantiles)
    if edges.size == 1:  # a constant column: one closed bin of width zero
        edges = np.repeat(edges, 2)
    picked = np.searchsorted(edges, quantiles[:: grid // bins])
    coarse = np.unique(np.concatenate(([0], picked, [edges.size - 1])))
    return NumericReference(
        rows=rows,
        missing=values.missing,
        edges=edges,
        counts=grid_counts(data, edges)[1],
        coarse=coarse.astype(np.int64),
        minimum=float(data[0]),
        maximum=float(data[-1]),
        mean=float(data.mean()),
        std=float(data.std(ddof=1)) if data.size > 1 else 0.0,
    )


def grid_counts(data: F64, edges: F64) -> tuple[int, I64, int]:
    """Sorted ``data`` against ``edges``: (values below, counts, values above).

    ``counts[i]`` is the count in ``[edges[i], edges[i + 1])``, and the last entry the count
    equal to ``edges[-1]``: kept apart so that the share below every edge can be read.
    """
    below = np.searchsorted(data, edges, side="left")
    top = int(np.searchsorted(data, edges[-1], side="right"))
    counts = np.append(np.diff(below), top - below[-1])
    return int(below[0]), counts.astype(np.int64), int(data.size - top)


def categorical_reference(series: pl.Series) -> CategoricalReference | None:
    """Level counts, most frequent first (ties by level); None beyond ``MAX_LEVELS`` levels."""
    present = text_values(series).drop_nulls().rename("level")
    counts = present.value_counts(name="n").sort(["n", "level"], descending=[True, False])
    if counts.height > MAX_LEVELS:
        return None
    return CategoricalReference(
        rows=series.len(),
        missing=series.null_count(),
        levels=tuple(str(level) for level in counts["level"]),
        counts=counts["n"].to_numpy().astype(np.int64),
    )
