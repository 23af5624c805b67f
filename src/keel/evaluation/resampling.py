"""The bootstrap engine: multinomial row counts in bounded blocks, and percentile intervals.

A bootstrap resample draws ``n`` rows with replacement; all a weighted metric needs from it is how
often each row was drawn. Resamples are made in blocks of ``(resamples, rows)`` counts, capped at
``BLOCK_CELLS`` cells, so memory stays bounded (a million rows run four resamples at a time) and
every kernel reads one block while it is in memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from keel.errors import InvalidInput
from keel.evaluation._arrays import F64
from keel.evaluation.spec import Kernel

BLOCK_CELLS = 4_000_000
"""Weights held at once (resamples x rows): 32 MB of float64, plus a few kernel temporaries."""

TALLY_CELLS = 1 << 18
"""Draws tallied at once: the counts of a tally fit in a core's cache."""


def block_sizes(resamples: int, rows: int) -> list[int]:
    """Resamples per block: as many as fit in ``BLOCK_CELLS``, at least one."""
    size = max(1, min(resamples, BLOCK_CELLS // rows))
    full, rest = divmod(resamples, size)
    return [size] * full + ([rest] if rest else [])


def counts(rng: np.random.Generator, resamples: int, rows: int) -> F64:
    """How often each row is drawn, per resample: ``(resamples, rows)`` multinomial counts.

    Tallied a few resamples at a time so that the tally stays in cache.
    """
    out = np.empty((resamples, rows), dtype=np.float64)
    step = max(1, TALLY_CELLS // rows)
    for start in range(0, resamples, step):
        part = out[start : start + step]
        size = part.shape[0]
        draws = rng.integers(0, rows, size=(size, rows))
        draws += np.arange(0, size * rows, rows)[:, None]
        part[...] = np.bincount(draws.ravel(), minlength=size * rows).reshape(size, rows)
    return out


def weight_blocks(
    rows: int, resamples: int, seed: int, row_weights: F64 | None = None
) -> Iterator[F64]:
    """Blocks of resample weights: the counts, times the caller's row weights if any."""
    rng = np.random.default_rng(seed)
    for size in block_sizes(resamples, rows):
        block = counts(rng, size, rows)
        if row_weights is not None:
            block *= row_weights
        yield block


@dataclass(frozen=True)
class Resampling:
    """How to bootstrap: the number of resamples, the interval's confidence, the seed.

    ``resamples=0`` means point estimates only. The same seed gives the same resamples, so a
    result can be reproduced, and two models scored with one seed are scored on the same rows.
    """

    resamples: int = 1000
    confidence: float = 0.95
    seed: int = 0

    def __post_init__(self) -> None:
        count = self.resamples
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise InvalidInput(
                f"resamples must be an integer >= 0; got {count!r}", path="resamples"
            )
        if not 0 < self.confidence < 1:
            raise InvalidInput(
                "confidence must lie strictly between 0 and 1 (e.g. 0.95); "
                f"got {self.confidence!r}",
                path="confidence",
            )

    def run(
        self, kernels: Mapping[str, Kernel], rows: int, row_weights: F64 | None = None
    ) -> dict[str, F64]:
        """Each kernel's value on the same resamples, in order; NaN where undefined."""
        if not kernels:
            return {}
        parts: dict[str, list[F64]] = {name: [] for name in kernels}
        # each block is a small matrix product; BLAS threads only spin against each other here
        # (measured: evaluate on 200k rows, 9.2 s -> 4.9 s on 2 busy cores)
        with threadpool_limits(limits=1, user_api="blas"):
            for block in weight_blocks(rows, self.resamples, self.seed, row_weights):
                for name, kernel in kernels.items():
                    parts[name].append(kernel(block))
        return {name: np.concatenate(p) if p else np.empty(0) for name, p in parts.items()}

    def interval(self, values: F64) -> tuple[float | None, float | None, int]:
        """The central percentile interval of the defined ``values``, and how many there were."""
        defined = values[~np.isnan(values)]
        if defined.size == 0:
            return None, None, 0
        tail = (1.0 - self.confidence) / 2.0
        low, high = np.quantile(defined, [tail, 1.0 - tail])
        return float(low), float(high), int(defined.size)
