"""Tables for the monitoring tests: a mixed frame with known distributions, made per seed."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl
import pytest

LEVELS = ("car", "home", "education", "business", "other")
SHARES = (0.35, 0.25, 0.2, 0.15, 0.05)


def table(rows: int, *, seed: int) -> pl.DataFrame:
    """Continuous, skewed, discrete and categorical columns, some with missing values."""
    rng = np.random.default_rng(seed)
    normal = rng.normal(50.0, 10.0, rows)
    skewed = np.exp(rng.normal(10.0, 0.6, rows))
    with_nulls = rng.normal(0.0, 1.0, rows)
    with_nulls[rng.random(rows) < 0.04] = np.nan
    return pl.DataFrame(
        {
            "normal": normal,
            "skewed": skewed,
            "with_nulls": pl.Series(with_nulls).fill_nan(None),
            "age": rng.integers(18, 90, rows),
            "term": rng.choice([12, 24, 36, 48, 60], rows, p=[0.1, 0.2, 0.35, 0.15, 0.2]),
            "purpose": pl.Series(LEVELS).gather(rng.choice(len(LEVELS), rows, p=SHARES)),
            "flag": rng.random(rows) < 0.3,
        }
    )


@pytest.fixture
def make_table() -> Callable[..., pl.DataFrame]:
    return table
