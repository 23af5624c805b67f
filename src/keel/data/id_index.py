"""Entity ids seen so far, for uniqueness across chunks and against a dataset.

Asking "which of these 500k ids were seen among 10M?" with ``is_in`` rebuilds a hash set of the
10M on every call, which made chunked ingest quadratic. The index keeps one sorted array of 64-bit
hashes per added piece instead: a lookup is a binary search per piece, and only ids whose hash
matches (real repeats, or a 1-in-10^12 collision) are compared exactly against the stored ids.
"""

from __future__ import annotations

import numpy as np
import polars as pl


class IdIndex:
    """Append-only set of ids with fast, exact membership for a whole chunk at once."""

    def __init__(self) -> None:
        self._hashes: list[np.ndarray] = []
        self._ids: list[pl.Series] = []

    def __len__(self) -> int:
        return sum(len(ids) for ids in self._ids)

    def add(self, ids: pl.Series) -> None:
        """Remember ``ids`` (nulls are ignored: a null id is never a repeat)."""
        present = ids.drop_nulls().cast(pl.String)
        if present.is_empty():
            return
        self._hashes.append(np.sort(_hashes(present)))
        self._ids.append(present)

    def seen(self, ids: pl.Series) -> pl.Series:
        """The distinct values of ``ids`` that were added before."""
        present = ids.drop_nulls().cast(pl.String)
        if present.is_empty() or not self._hashes:
            return present.clear()
        wanted = _hashes(present)
        maybe = np.zeros(len(wanted), dtype=bool)
        for sorted_hashes in self._hashes:
            slots = np.searchsorted(sorted_hashes, wanted).clip(0, len(sorted_hashes) - 1)
            maybe |= sorted_hashes[slots] == wanted
        if not maybe.any():
            return present.clear()
        candidates = present.filter(pl.Series(maybe)).unique()
        return candidates.filter(candidates.is_in(self._matching(candidates).implode()))

    def _matching(self, candidates: pl.Series) -> pl.Series:
        """Stored ids whose hash equals a candidate's: the few needed for an exact comparison."""
        targets = pl.Series(_hashes(candidates)).implode()
        pieces = [ids.filter(pl.Series(_hashes(ids)).is_in(targets)) for ids in self._ids]
        return pl.concat(pieces)


def _hashes(ids: pl.Series) -> np.ndarray:
    """Stable 64-bit hashes within this process (the index never leaves it)."""
    return ids.hash(seed=0).to_numpy()
