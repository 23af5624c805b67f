"""Shared data for the evaluation tests: binary scores with and without ties, a regression.

The fixtures hand out builders, so a test picks its own size and seed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest

F64 = npt.NDArray[np.float64]
Scored = tuple[F64, F64, F64]
"""Labels, scores (probabilities for binary data) and positive row weights."""


def binary(n: int, *, seed: int, ties: bool = False) -> Scored:
    """Labels with a 30% positive rate; probabilities that rank positives higher, noisily."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(np.float64)
    s = 1.0 / (1.0 + np.exp(-(rng.normal(size=n) + 1.2 * y - 0.8)))
    if ties:
        s = np.round(s, 1)
    return y, s, rng.integers(1, 5, size=n).astype(np.float64)


def regression(n: int, *, seed: int, ties: bool = False) -> Scored:
    """A target with a prediction that explains about half of its variance."""
    rng = np.random.default_rng(seed)
    y = rng.normal(10.0, 3.0, size=n)
    s = y + rng.normal(0.0, 2.0, size=n)
    if ties:
        y, s = np.round(y), np.round(s)
    return y, s, rng.random(n) * 3.0


@pytest.fixture
def make_binary() -> Callable[..., Scored]:
    return binary


@pytest.fixture
def make_regression() -> Callable[..., Scored]:
    return regression
