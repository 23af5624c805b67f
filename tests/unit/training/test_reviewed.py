"""Reviewers' labels in training: they fill missing labels only, and ``ignore`` turns them off."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from keel.training.reviewed import ReviewedLabels, fill_reviewed

CUTOFF = datetime(2024, 7, 1, tzinfo=UTC)
FRAME = pl.DataFrame({"id": ["a", "b", "c"], "y": [0, None, None]})
FOUND = [("a", 1.0), ("b", 1.0), ("z", 0.0)]


def test_reviewed_labels_fill_only_what_the_data_leaves_empty() -> None:
    seen: list[datetime] = []

    def read(before: datetime) -> list[tuple[str, float]]:
        seen.append(before)
        return FOUND

    filled, record = fill_reviewed(
        FRAME, ReviewedLabels("use", read), CUTOFF, entity="id", column="y"
    )
    assert filled["y"].to_list() == [0, 1, None]  # 'a' keeps its true label
    assert filled.columns == FRAME.columns and filled.schema == FRAME.schema
    assert record == {"policy": "use", "before": CUTOFF.isoformat(), "available": 3, "used": 1}
    assert seen == [CUTOFF]


def test_ignored_reviewed_labels_are_not_read() -> None:
    def read(before: datetime) -> list[tuple[str, float]]:
        raise AssertionError("an ignored policy must not read the reviews")

    filled, record = fill_reviewed(
        FRAME, ReviewedLabels("ignore", read), CUTOFF, entity="id", column="y"
    )
    assert filled.equals(FRAME) and record["used"] == 0 and record["policy"] == "ignore"
