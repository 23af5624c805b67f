"""delong_auc_se: DeLong's standard error agrees with its definition and with resampling."""

from __future__ import annotations

from math import sqrt

import numpy as np
import numpy.typing as npt
import pytest

from keel.errors import InvalidInput
from keel.evaluation import METRICS, delong_auc_se

F64 = npt.NDArray[np.float64]


def _pairwise_se(y: F64, s: F64) -> float:
    """DeLong by its definition: placement values from every positive-negative pair."""
    pos, neg = s[y == 1], s[y == 0]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    return sqrt(v10.var(ddof=1) / pos.size + v01.var(ddof=1) / neg.size)


@pytest.mark.parametrize("ties", [False, True], ids=["continuous", "ties"])
def test_matches_the_pairwise_definition(ties: bool) -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(400) < 0.35).astype(np.float64)
    s = rng.normal(size=400) + 0.8 * y
    if ties:
        s = np.round(s)
    assert delong_auc_se(y, s) == pytest.approx(_pairwise_se(y, s), rel=1e-12)


def test_matches_the_spread_of_auc_over_repeated_samples() -> None:
    aucs, ses = [], []
    for seed in range(400):
        rng = np.random.default_rng(seed)
        y = np.repeat([0.0, 1.0], [240, 160])
        s = rng.normal(size=400) + 1.0 * y
        aucs.append(METRICS["roc_auc"].score(y, s))
        ses.append(delong_auc_se(y, s))
    assert np.mean(ses) == pytest.approx(np.std(aucs, ddof=1), rel=0.15)


@pytest.mark.parametrize(
    ("y", "s"),
    [([1, 1, 0], [0.2, 0.3, 0.4]), ([1, 1, 1, 1], [0.1, 0.2, 0.3, 0.4])],
    ids=["one-negative", "no-negative"],
)
def test_needs_two_rows_of_each_class(y: list[float], s: list[float]) -> None:
    with pytest.raises(InvalidInput, match="at least 2 rows of each class") as caught:
        delong_auc_se(y, s)
    assert caught.value.path == "y_true"
