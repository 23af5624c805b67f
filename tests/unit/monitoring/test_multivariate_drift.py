"""Multivariate drift: a broken correlation that no single column shows is caught by both."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from keel.features.errors import NotFittedError
from keel.monitoring.multivariate import DomainClassifier, PCAReconstruction


def correlated(rows: int, rho: float, seed: int) -> pl.DataFrame:
    """Two standard normals with correlation ``rho``, an independent one and a category."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=rows)
    b = rho * a + np.sqrt(1 - rho**2) * rng.normal(size=rows)
    return pl.DataFrame(
        {"a": a, "b": b, "c": rng.normal(size=rows), "k": rng.choice(["x", "y", "z"], rows)}
    )


@pytest.mark.parametrize("kind", [DomainClassifier, PCAReconstruction], ids=["classifier", "pca"])
def test_stationary_chunks_stay_in_the_band(
    kind: type[DomainClassifier | PCAReconstruction],
) -> None:
    detector = kind(max_rows=3000).fit(correlated(6000, 0.9, seed=0))
    flagged = [detector.check(correlated(1500, 0.9, seed=s)).drifted for s in range(1, 6)]
    assert not any(flagged)


@pytest.mark.parametrize("kind", [DomainClassifier, PCAReconstruction], ids=["classifier", "pca"])
def test_a_flipped_correlation_is_caught(kind: type[DomainClassifier | PCAReconstruction]) -> None:
    detector = kind(max_rows=3000).fit(correlated(6000, 0.9, seed=0))
    result = detector.check(correlated(1500, -0.9, seed=9))
    assert result.drifted and result.value > result.threshold


def test_domain_classifier_band_is_the_mann_whitney_spread() -> None:
    detector = DomainClassifier(max_rows=2000, false_alarm_rate=0.01).fit(correlated(2000, 0.5, 0))
    result = detector.check(correlated(2000, 0.5, 1))
    assert result.expected == 0.5
    assert result.threshold == pytest.approx(
        0.5 + 2.3263 * np.sqrt(4001 / (12 * 2000 * 2000)), rel=1e-4
    )


def test_check_before_fit_is_refused() -> None:
    with pytest.raises(NotFittedError):
        PCAReconstruction().check(correlated(100, 0.5, 0))


def test_domain_classifier_verdict_does_not_depend_on_row_order() -> None:
    """The same rows in another order (as a log with random prediction ids stores them) give
    the same statistic, so a run's verdict is reproducible."""
    reference = correlated(1500, 0.5, 0)
    current = correlated(800, 0.5, 1)
    shuffled = current.sample(fraction=1.0, shuffle=True, seed=7)
    first = DomainClassifier(max_rows=1500).fit(reference).check(current)
    again = DomainClassifier(max_rows=1500).fit(reference.reverse()).check(shuffled)
    assert first.value == again.value
