from __future__ import annotations

import polars as pl
import pytest

from keel.data import find_conflicts, join_labels, label_coverage, label_rate_shift

FEATURES = pl.DataFrame({"id": ["a", "b", "c", "d"], "x": [1, 2, 3, 4]})
LABELS = pl.DataFrame({"id": ["a", "a", "b", "b", "c", "z"], "y": [1, 1, 0, 1, 0, 1]})


def test_conflicting_labels_are_flagged() -> None:
    conflicts = find_conflicts(LABELS, entity="id", target="y")
    assert conflicts.to_dicts() == [{"id": "b", "labels": [0, 1]}]


def test_join_keeps_feature_rows_and_drops_conflicts() -> None:
    joined = join_labels(FEATURES, LABELS, entity="id", target="y")
    assert joined.frame["y"].to_list() == [1, None, 0, None]
    assert joined.frame["id"].to_list() == ["a", "b", "c", "d"]
    assert joined.conflicts["id"].to_list() == ["b"]


def test_coverage_counts_labelled_and_orphans() -> None:
    coverage = label_coverage(FEATURES, LABELS, entity="id")
    assert (coverage.rows, coverage.labelled, coverage.orphan_labels) == (4, 3, 1)
    assert coverage.fraction == 0.75


def test_no_shift_for_equal_rates() -> None:
    shift = label_rate_shift(pl.Series([0, 1] * 50), pl.Series([1, 0] * 50))
    assert shift.difference == 0.0
    assert shift.p_value == 1.0


def test_shift_detected_for_large_change() -> None:
    shift = label_rate_shift(pl.Series([0] * 900 + [1] * 100), pl.Series([0] * 700 + [1] * 300))
    assert shift.difference == pytest.approx(0.2)
    assert shift.p_value < 1e-6
