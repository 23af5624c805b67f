"""Combine profiles of disjoint parts into the profile of their union.

Ingest profiles each chunk as it streams by and merges, so that a version's profile never needs the
whole version in memory. Counts, nulls, min, max, mean, standard deviation and histogram counts
merge exactly (the parts share the reference's bin edges); quantiles are the row-weighted mean of
the parts' quantiles, which for chunks of one source is within sampling noise of the real ones;
top categories are summed over the parts' own top lists.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import replace

from keel.data.profile import ColumnProfile, Profile

_TOP = 20


def merge_profiles(left: Profile | None, right: Profile) -> Profile:
    """The profile of the rows of ``left`` and ``right`` together (``left`` may be absent)."""
    if left is None:
        return right
    names = list(dict.fromkeys([*left.columns, *right.columns]))
    columns = {
        name: _merge_column(left.columns.get(name), right.columns.get(name)) for name in names
    }
    return Profile(rows=left.rows + right.rows, columns=columns)


def _merge_column(a: ColumnProfile | None, b: ColumnProfile | None) -> ColumnProfile:
    if a is None or b is None:
        present = a or b
        assert present is not None
        return present
    if a.kind != b.kind:
        return b  # the column changed type between parts: the newer view wins
    na, nb = _valid(a), _valid(b)
    return replace(
        a,
        count=a.count + b.count,
        null_count=a.null_count + b.null_count,
        non_finite=a.non_finite + b.non_finite,
        min=_pick(a.min, b.min, min),
        max=_pick(a.max, b.max, max),
        mean=_weighted(a.mean, na, b.mean, nb),
        std=_pooled_std(a, na, b, nb),
        quantiles=_quantiles(a, na, b, nb),
        edges=a.edges or b.edges,
        counts=_counts(a, b),
        top=_top(a.top, b.top),
    )


def _valid(column: ColumnProfile) -> int:
    """Rows that carried a usable (non-null, finite) value."""
    return column.count - column.null_count - column.non_finite


def _pick(
    a: float | str | None, b: float | str | None, choose: Callable[..., float | str]
) -> float | str | None:
    if a is None or b is None:
        return a if b is None else b
    return choose(a, b)


def _weighted(a: float | None, na: int, b: float | None, nb: int) -> float | None:
    if a is None or na == 0:
        return b
    if b is None or nb == 0:
        return a
    return (a * na + b * nb) / (na + nb)


def _pooled_std(a: ColumnProfile, na: int, b: ColumnProfile, nb: int) -> float | None:
    """Sample standard deviation of the union, from each part's mean, std and size."""
    if a.mean is None or a.std is None or na < 2:
        return b.std if na == 0 else _fallback_std(a, b)
    if b.mean is None or b.std is None or nb < 2:
        return a.std if nb == 0 else _fallback_std(b, a)
    mean = (a.mean * na + b.mean * nb) / (na + nb)
    squares = (na - 1) * a.std**2 + (nb - 1) * b.std**2
    squares += na * (a.mean - mean) ** 2 + nb * (b.mean - mean) ** 2
    return math.sqrt(squares / (na + nb - 1))


def _fallback_std(small: ColumnProfile, big: ColumnProfile) -> float | None:
    """A part too small to have a std contributes nothing measurable: keep the other's."""
    return big.std if big.std is not None else small.std


def _quantiles(a: ColumnProfile, na: int, b: ColumnProfile, nb: int) -> dict[str, float]:
    if not a.quantiles or not na:
        return b.quantiles
    if not b.quantiles or not nb:
        return a.quantiles
    return {q: (a.quantiles[q] * na + b.quantiles[q] * nb) / (na + nb) for q in a.quantiles}


def _counts(a: ColumnProfile, b: ColumnProfile) -> tuple[int, ...]:
    if not a.counts:
        return b.counts
    if not b.counts or a.edges != b.edges:
        return a.counts  # parts are binned on one reference's edges; a mismatch keeps the first
    return tuple(x + y for x, y in zip(a.counts, b.counts, strict=True))


def _top(
    a: tuple[tuple[str, int], ...], b: tuple[tuple[str, int], ...]
) -> tuple[tuple[str, int], ...]:
    total: Counter[str] = Counter(dict(a))
    total.update(dict(b))
    ranked = sorted(total.items(), key=lambda item: (-item[1], item[0]))
    return tuple(ranked[:_TOP])
