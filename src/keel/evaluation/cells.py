"""A bootstrap over per-cell sums, for a metric that reads its rows only through a few sums.

ECE with fixed bins needs, per bin, the weighted sum of ``p - y`` and the total weight; neither
is smooth enough for a normal interval (``|gap|`` has a kink at 0), but both are sums over cells
of rows. In a bootstrap resample of ``n`` rows, the number drawn from each cell is multinomial,
and it is drawn exactly here. Given that count ``c``, a cell's sum of a row quantity is the sum of
``c`` independent draws from the cell's rows: by the central limit theorem, normal with mean
``c * mean`` and covariance ``c * cov`` of that quantity over the cell. Cells are chosen so that
little varies inside one (for ECE: one bin and one label, so only ``p`` within the bin and any row
weight), which keeps that approximation's share of the spread small, while the count noise, the
bulk of it, is exact. Each resample then costs one draw per cell instead of one per row.
"""

from __future__ import annotations

import numpy as np

from keel.evaluation._arrays import F64, I64


def cell_sums(codes: I64, values: F64, cells: int, resamples: int, rng: np.random.Generator) -> F64:
    """Bootstrap draws of each cell's column sums of ``values``: ``(resamples, cells, columns)``.

    ``codes`` gives each row's cell in ``range(cells)``; ``values`` is ``(rows, columns)``.
    """
    rows, columns = values.shape
    sizes = np.bincount(codes, minlength=cells).astype(np.float64)
    means, roots = moments(codes, values, cells, sizes)
    drawn = rng.multinomial(rows, sizes / rows, size=resamples).astype(np.float64)
    noise = np.einsum("ckj,rcj->rck", roots, rng.standard_normal((resamples, cells, columns)))
    return np.asarray(
        drawn[:, :, None] * means[None] + np.sqrt(drawn)[:, :, None] * noise, dtype=np.float64
    )


def moments(codes: I64, values: F64, cells: int, sizes: F64) -> tuple[F64, F64]:
    """Per cell, the mean of each column and a square root of their covariance (by eigenvalues,
    so a column that is constant in a cell, e.g. unit weights, is fine)."""
    columns = values.shape[1]
    filled = np.maximum(sizes, 1.0)[:, None]
    means = np.stack([np.bincount(codes, values[:, j], cells) for j in range(columns)], 1) / filled
    centred = values - means[codes]
    pairs = [(a, b) for a in range(columns) for b in range(columns)]
    products = [np.bincount(codes, centred[:, a] * centred[:, b], cells) for a, b in pairs]
    covariance = np.stack(products, 1).reshape(cells, columns, columns) / filled[:, :, None]
    spread, axes = np.linalg.eigh(covariance)
    return means, axes * np.sqrt(np.clip(spread, 0.0, None))[:, None, :]
