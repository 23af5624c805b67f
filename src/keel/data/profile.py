"""Statistical profiles of a frame: the reference that monitoring and batch checks compare against.

Counts, nulls, min, max, mean, std and histogram counts are exact. Quantiles are read from an evenly
spaced sample of at most 100k rows, which keeps a 1M x 20 profile well under a second and moves a
quantile by well under 1% in rank. Histogram edges are fixed once, from a reference, so that the
counts of any later frame land in the same bins and can be compared.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import polars as pl

QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
_SAMPLE = 100_000
_TOP = 20


@dataclass(frozen=True)
class ColumnProfile:
    """One column's statistics; numeric fields are None where they do not apply.

    ``counts`` has ``len(edges) + 1`` entries: values below ``edges[0]``, one per bin (the last bin
    closed on the right), and values above ``edges[-1]``.
    """

    kind: str
    count: int
    null_count: int
    non_finite: int = 0
    min: float | str | None = None
    max: float | str | None = None
    mean: float | None = None
    std: float | None = None
    quantiles: dict[str, float] = field(default_factory=dict)
    edges: tuple[float, ...] = ()
    counts: tuple[int, ...] = ()
    top: tuple[tuple[str, int], ...] = ()

    @property
    def median(self) -> float | None:
        """The 50% quantile, used by the unit-change check."""
        return self.quantiles.get("0.5")


@dataclass(frozen=True)
class Profile:
    """Per-column profiles of one frame."""

    rows: int
    columns: dict[str, ColumnProfile]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (tuples become lists)."""
        return {"rows": self.rows, "columns": {k: asdict(v) for k, v in self.columns.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        """Inverse of ``to_dict``."""
        columns = {name: _column_from_dict(body) for name, body in data["columns"].items()}
        return cls(rows=int(data["rows"]), columns=columns)


def _column_from_dict(body: dict[str, Any]) -> ColumnProfile:
    """Rebuild tuples that JSON turned into lists."""
    return ColumnProfile(
        **{
            **body,
            "edges": tuple(body.get("edges", ())),
            "counts": tuple(body.get("counts", ())),
            "top": tuple((str(v), int(n)) for v, n in body.get("top", ())),
        }
    )


def profile_frame(
    frame: pl.DataFrame, *, reference: Profile | None = None, bins: int = 20
) -> Profile:
    """Profile every column; numeric histograms reuse ``reference`` edges where it has them."""
    numeric = [n for n in frame.columns if _is_numeric(frame.schema[n])]
    finite = frame.select(_finite(n) for n in numeric)
    edges = {n: _edges_for(finite[n], reference, n, bins) for n in numeric}
    exact = (
        finite.select(e for n in numeric for e in _exact_exprs(n, edges[n])) if numeric else None
    )
    columns: dict[str, ColumnProfile] = {}
    for name in frame.columns:
        series = frame[name]
        if name in edges and exact is not None:
            columns[name] = _numeric(series, finite[name], edges[name], exact)
        else:
            columns[name] = profile_column(series, bins=bins)
    return Profile(rows=frame.height, columns=columns)


def profile_column(
    series: pl.Series, *, edges: tuple[float, ...] | None = None, bins: int = 20
) -> ColumnProfile:
    """Profile one column according to its dtype."""
    dtype = series.dtype
    if _is_numeric(dtype):
        frame = series.to_frame()
        return (
            profile_frame(frame, bins=bins).columns[series.name]
            if edges is None
            else (
                profile_frame(frame, reference=_with_edges(series.name, edges)).columns[series.name]
            )
        )
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        return _categorical(series.cast(pl.String))
    if dtype.is_temporal():
        return _temporal(series)
    return ColumnProfile("other", series.len(), series.null_count())


def _with_edges(name: str, edges: tuple[float, ...]) -> Profile:
    """A stand-in reference that carries only bin edges."""
    return Profile(rows=0, columns={name: ColumnProfile("numeric", 0, 0, edges=edges)})


def _is_numeric(dtype: pl.DataType) -> bool:
    """Numbers and booleans (a boolean's mean is its true rate)."""
    return dtype.is_numeric() or dtype == pl.Boolean


def _finite(name: str) -> pl.Expr:
    """Finite values as float; null where missing, NaN or infinite."""
    value = pl.col(name).cast(pl.Float64)
    return pl.when(value.is_finite()).then(value).alias(name)


def _edges_for(
    finite: pl.Series, reference: Profile | None, name: str, bins: int
) -> tuple[float, ...]:
    """The reference's edges when it has this column, else edges from this column."""
    ref = reference.columns.get(name) if reference is not None else None
    return ref.edges if ref is not None else reference_edges(finite.drop_nulls(), bins)


def _exact_exprs(name: str, edges: tuple[float, ...]) -> list[pl.Expr]:
    """Exact aggregates of one column, named ``name|stat``; evaluated together for all columns."""
    v = pl.col(name)
    exprs = [
        v.count().alias(f"{name}|n"),
        v.min().alias(f"{name}|min"),
        v.max().alias(f"{name}|max"),
        v.mean().alias(f"{name}|mean"),
        v.std().alias(f"{name}|std"),
    ]
    exprs.extend((v < e).sum().alias(f"{name}|b{i}") for i, e in enumerate(edges))
    if edges:
        exprs.append((v <= edges[-1]).sum().alias(f"{name}|last"))
    return exprs


def _numeric(
    series: pl.Series, finite: pl.Series, edges: tuple[float, ...], exact: pl.DataFrame
) -> ColumnProfile:
    """Assemble a numeric profile from the shared aggregate row."""
    name = series.name

    def stat(key: str) -> object:
        return exact[f"{name}|{key}"][0]

    n_finite = int(stat("n"))  # type: ignore[call-overload]
    below = [int(stat(f"b{i}")) for i in range(len(edges))]  # type: ignore[call-overload]
    last = int(stat("last")) if edges else 0  # type: ignore[call-overload]
    return ColumnProfile(
        kind="numeric",
        count=series.len(),
        null_count=series.null_count(),
        non_finite=series.len() - series.null_count() - n_finite,
        min=_num(stat("min")),
        max=_num(stat("max")),
        mean=_num(stat("mean")),
        std=_num(stat("std")),
        quantiles=_quantiles(finite.drop_nulls()),
        edges=edges,
        counts=_fold_counts(below, last, n_finite),
    )


def _fold_counts(below: list[int], last: int, total: int) -> tuple[int, ...]:
    """From 'values below each edge' to per-bin counts with under- and overflow."""
    if not below:
        return ()
    inner = [below[i + 1] - below[i] for i in range(len(below) - 2)]
    closing = [last - below[-2]] if len(below) > 1 else []
    return (below[0], *inner, *closing, total - last)


def _sample(series: pl.Series) -> pl.Series:
    """At most about 100k evenly spaced values: deterministic, and exact for small frames."""
    return series.gather_every(max(1, math.ceil(series.len() / _SAMPLE)))


def _quantiles(finite: pl.Series) -> dict[str, float]:
    """The standard quantiles of the (sampled) finite values."""
    if finite.is_empty():
        return {}
    values = np.quantile(_sample(finite).to_numpy(), QUANTILES)
    return {str(q): float(v) for q, v in zip(QUANTILES, values, strict=True)}


def reference_edges(finite: pl.Series, bins: int = 20) -> tuple[float, ...]:
    """Quantile-based bin edges (deduplicated), computed once from a reference column."""
    if finite.is_empty():
        return ()
    cuts = np.quantile(_sample(finite).to_numpy(), np.linspace(0.0, 1.0, bins + 1))
    cuts[0], cuts[-1] = finite.min(), finite.max()
    return tuple(float(c) for c in np.unique(cuts))


def _categorical(series: pl.Series) -> ColumnProfile:
    """Top values by frequency (ties by value); skipped for id-like, mostly distinct columns."""
    present = series.drop_nulls()
    sample = _sample(present).head(10_000)
    top: tuple[tuple[str, int], ...] = ()
    if not sample.is_empty() and sample.n_unique() <= sample.len() // 2:
        counts = present.value_counts(name="n").sort(["n", present.name], descending=[True, False])
        top = tuple((str(v), int(n)) for v, n in counts.head(_TOP).iter_rows())
    return ColumnProfile("categorical", series.len(), series.null_count(), top=top)


def _temporal(series: pl.Series) -> ColumnProfile:
    """Range of a date or datetime column, as ISO text."""
    low, high = series.min(), series.max()
    return ColumnProfile(
        "temporal",
        series.len(),
        series.null_count(),
        min=None if low is None else str(low),
        max=None if high is None else str(high),
    )


def _num(value: object) -> float | None:
    """A finite float, or None (JSON has no NaN)."""
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None
