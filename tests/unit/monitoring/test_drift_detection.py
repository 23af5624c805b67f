"""Stationary data does not alarm; each kind of drift is caught by the statistics made for it."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl
import pytest

from keel.errors import InvalidInput
from keel.features.errors import NotFittedError
from keel.monitoring import DriftDetector, ReferenceProfile, build_reference, detect_drift

MakeTable = Callable[..., pl.DataFrame]


def test_stationary_chunks_stay_within_the_false_alarm_target(make_table: MakeTable) -> None:
    detector = DriftDetector().fit(make_table(50_000, seed=0))
    stream = make_table(150 * 1000, seed=1)
    alarms = checks = 0
    for k in range(150):
        report = detector.check(stream.slice(k * 1000, 1000))
        alarms += len(report.drifted_columns)
        checks += len(report.columns)
    assert alarms / checks <= 0.01  # the default target: 1% of chunk-column checks


def _drifted(reference: pl.DataFrame, current: pl.DataFrame, column: str) -> set[str]:
    report = detect_drift(reference, current)
    return {s for s, r in report.columns[column].statistics.items() if r.drifted}


def test_mean_shift_is_caught_by_ks_and_wasserstein(make_table: MakeTable) -> None:
    reference, current = make_table(20_000, seed=2), make_table(5000, seed=3)
    shifted = current.with_columns(pl.col("normal") + 1.5)  # 0.15 sd
    assert {"ks", "wasserstein"} <= _drifted(reference, shifted, "normal")
    assert _drifted(reference, current, "normal") == set()


def test_scale_change_with_the_same_mean_is_caught(make_table: MakeTable) -> None:
    reference, current = make_table(20_000, seed=4), make_table(5000, seed=5)
    wider = current.with_columns((pl.col("normal") - 50) * 1.3 + 50)
    assert {"ks", "wasserstein", "psi"} <= _drifted(reference, wider, "normal")


def test_new_category_is_caught_by_the_histogram_statistics(make_table: MakeTable) -> None:
    reference, current = make_table(20_000, seed=6), make_table(5000, seed=7)
    rng = np.random.default_rng(0)
    crypto = pl.Series(rng.random(current.height) < 0.03)
    renamed = current.with_columns(
        pl.when(crypto).then(pl.lit("crypto")).otherwise(pl.col("purpose")).alias("purpose")
    )
    assert _drifted(reference, renamed, "purpose") == {"psi", "js", "chi2"}


def test_missingness_jump_moves_the_histograms_not_the_shape(make_table: MakeTable) -> None:
    reference, current = make_table(20_000, seed=8), make_table(5000, seed=9)
    rng = np.random.default_rng(1)
    dropped = pl.Series(rng.random(current.height) < 0.2)
    holed = current.with_columns(
        pl.when(dropped).then(None).otherwise(pl.col("normal")).alias("normal")
    )
    assert _drifted(reference, holed, "normal") == {"psi", "js"}


def test_values_beyond_the_reference_range_count_at_their_distance(make_table: MakeTable) -> None:
    reference, current = make_table(20_000, seed=10), make_table(5000, seed=11)
    thousandfold = current.with_columns(pl.col("skewed") * 1000)  # income in the wrong unit
    found = detect_drift(reference, thousandfold).columns["skewed"].statistics["wasserstein"]
    current_mean = thousandfold["skewed"].to_numpy().mean()
    reference_values = reference["skewed"].to_numpy()
    moved = (current_mean - reference_values.mean()) / reference_values.std(ddof=1)
    assert found.value == pytest.approx(moved, rel=0.01)


def test_a_stored_profile_gives_the_same_report_as_the_frame(make_table: MakeTable) -> None:
    reference, current = make_table(8000, seed=12), make_table(2000, seed=13)
    stored = ReferenceProfile.from_dict(build_reference(reference).to_dict())
    assert detect_drift(stored, current).to_dict() == detect_drift(reference, current).to_dict()


def test_report_json_lists_values_thresholds_flags_and_drifted_columns(
    make_table: MakeTable,
) -> None:
    reference, current = make_table(8000, seed=14), make_table(2000, seed=15)
    body = detect_drift(reference, current.with_columns(pl.col("age") + 20)).to_dict()
    assert body["drifted_columns"] == ["age"]
    ks = body["columns"]["age"]["statistics"]["ks"]
    assert set(ks) == {"value", "threshold", "drifted"} and ks["drifted"] is True


def test_check_before_fit_and_missing_columns_are_refused(make_table: MakeTable) -> None:
    with pytest.raises(NotFittedError):
        DriftDetector().check(make_table(10, seed=0))
    detector = DriftDetector().fit(make_table(500, seed=0))
    with pytest.raises(InvalidInput, match="no column 'age'"):
        detector.check(make_table(100, seed=1).drop("age"))


def test_unknown_statistic_is_refused_with_the_valid_names(make_table: MakeTable) -> None:
    with pytest.raises(InvalidInput, match="expected one of: psi, js"):
        DriftDetector(statistics=["psi", "hellinger"]).fit(make_table(100, seed=0))


def test_empty_tables_are_refused(make_table: MakeTable) -> None:
    with pytest.raises(InvalidInput, match="reference has no rows"):
        DriftDetector().fit(make_table(0, seed=0))
    detector = DriftDetector().fit(make_table(100, seed=0))
    with pytest.raises(InvalidInput, match="current data has no rows"):
        detector.check(make_table(0, seed=1))
