"""``FeatureMatrix`` refuses values that do not match its promise."""

from __future__ import annotations

import numpy as np
import pytest

from keel.errors import InvalidInput
from keel.features import FeatureMatrix

GOOD = np.zeros((3, 2))


@pytest.mark.parametrize(
    ("values", "names"),
    [
        (GOOD.astype(np.float32), ("a", "b")),
        (np.zeros((3, 4))[:, ::2], ("a", "b")),
        (np.zeros(3), ("a",)),
        (GOOD, ("a",)),
    ],
    ids=["float32", "strided", "one-dimensional", "names-mismatch"],
)
def test_invalid_values_are_refused(values: np.ndarray, names: tuple[str, ...]) -> None:
    with pytest.raises(InvalidInput):
        FeatureMatrix(values, names, (), {})


def test_either_memory_order_is_accepted() -> None:
    for values in (GOOD, np.asfortranarray(np.zeros((3, 2)))):
        assert FeatureMatrix(values, ("a", "b"), (), {}).shape == (3, 2)


def test_shape_is_rows_by_features() -> None:
    assert FeatureMatrix(GOOD, ("a", "b"), (), {"a": "a", "b": "b"}).shape == (3, 2)
