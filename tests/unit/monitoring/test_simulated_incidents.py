"""Each scripted incident of the loan simulator is caught by the check made for it, and only
the affected column moves."""

from __future__ import annotations

from datetime import datetime
from functools import cache

import polars as pl
import pytest

from keel.monitoring import DriftReport, build_reference, detect_drift
from keel.monitoring.quality import QualityReport, check_quality
from keel.simulate import (
    ENTITY,
    TARGET,
    TIMESTAMP,
    CovariateDrift,
    Incident,
    NewCategory,
    NullSpike,
    UnitChange,
    simulate_frame,
)

START, END = datetime(2024, 1, 1), datetime(2024, 2, 1)


@cache
def month(seed: int, rows: int, *incidents: Incident) -> pl.DataFrame:
    frame = simulate_frame(rows=rows, seed=seed, start=START, end=END, incidents=incidents)
    return frame.drop(ENTITY, TIMESTAMP, TARGET)


def checks(*incidents: Incident) -> tuple[DriftReport, QualityReport]:
    reference, current = month(1, 30_000), month(2, 5000, *incidents)
    return detect_drift(reference, current), check_quality(build_reference(reference), current)


def test_a_clean_month_raises_nothing() -> None:
    drift, quality = checks()
    assert drift.drifted_columns == () and quality.alerts == {}


@pytest.mark.parametrize(
    ("incident", "column", "statistics", "quality"),
    [
        (
            CovariateDrift(column="age", shift=0.3, at=0.0, until=0.0),
            "age",
            {"ks", "wasserstein"},
            (),
        ),
        (
            UnitChange(column="income", factor=0.001),
            "income",
            {"wasserstein", "ks"},
            ("out_of_range",),
        ),
        (
            NewCategory(column="purpose", value="crypto", share=0.05),
            "purpose",
            {"chi2", "js"},
            ("unseen",),
        ),
        (NullSpike(column="credit_score", rate=0.3), "credit_score", {"psi", "js"}, ("missing",)),
    ],
    ids=["covariate_drift", "unit_change", "new_category", "null_spike"],
)
def test_each_incident_is_caught_by_its_check(
    incident: Incident, column: str, statistics: set[str], quality: tuple[str, ...]
) -> None:
    drift, found = checks(incident)
    assert drift.drifted_columns == (column,)
    flagged = {s for s, r in drift.columns[column].statistics.items() if r.drifted}
    assert statistics <= flagged
    assert found.alerts == ({column: quality} if quality else {})
