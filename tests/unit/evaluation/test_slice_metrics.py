"""slice_metrics: every slice reported; small or single-class slices say what is missing."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl
import pytest

from keel.errors import InvalidInput
from keel.evaluation import SliceResult, evaluate, slice_metrics
from keel.evaluation.slices import labels_of

F64 = npt.NDArray[np.float64]


@pytest.fixture
def rows() -> tuple[F64, F64, dict[str, npt.NDArray[np.str_]]]:
    """300 rows: a region with a tiny slice, and a segment where one value has only positives."""
    rng = np.random.default_rng(0)
    region = np.array(["north"] * 150 + ["south"] * 140 + ["west"] * 10)
    segment = np.array(["a"] * 250 + ["b"] * 50)
    y = (rng.random(300) < 0.4).astype(np.float64)
    y[segment == "b"] = 1.0
    s = np.clip(0.3 + 0.4 * y + rng.normal(0, 0.2, 300), 0, 1)
    return y, s, {"region": region, "segment": segment}


def _find(results: list[SliceResult], column: str, value: str) -> SliceResult:
    return next(r for r in results if (r.column, r.value) == (column, value))


def test_every_slice_is_listed_in_order(rows) -> None:  # type: ignore[no-untyped-def]
    y, s, groups = rows
    results = slice_metrics(y, s, groups, ["roc_auc"], resamples=20)
    assert [(r.column, r.value, r.rows) for r in results] == [
        ("region", "north", 150),
        ("region", "south", 140),
        ("region", "west", 10),
        ("segment", "a", 250),
        ("segment", "b", 50),
    ]


def test_small_slice_keeps_its_rows_and_says_why_it_has_no_metrics(rows) -> None:  # type: ignore[no-untyped-def]
    y, s, groups = rows
    west = _find(slice_metrics(y, s, groups, ["roc_auc", "brier"], resamples=20), "region", "west")
    assert (west.rows, west.metrics) == (10, {})
    assert set(west.absent) == {"roc_auc", "brier"}
    assert "10 rows" in west.absent["roc_auc"] and "min_rows=30" in west.absent["roc_auc"]


def test_single_class_slice_reports_auc_absent_and_brier_present(rows) -> None:  # type: ignore[no-untyped-def]
    y, s, groups = rows
    b = _find(slice_metrics(y, s, groups, ["roc_auc", "brier"], resamples=20), "segment", "b")
    assert set(b.metrics) == {"brier"}
    assert "both classes" in b.absent["roc_auc"]
    assert "50 of class 1, 0 of class 0" in b.absent["roc_auc"]


def test_slice_estimate_equals_evaluate_on_its_rows(rows) -> None:  # type: ignore[no-untyped-def]
    y, s, groups = rows
    north = _find(
        slice_metrics(y, s, groups, ["roc_auc", "ece"], resamples=50, seed=4), "region", "north"
    )
    mask = groups["region"] == "north"
    assert north.metrics == evaluate(y[mask], s[mask], ["roc_auc", "ece"], resamples=50, seed=4)


def test_labels_become_text_nulls_included() -> None:
    y = np.tile([0.0, 1.0], 40)
    s = np.linspace(0.05, 0.95, 80)
    bucket = pl.Series("bucket", [1] * 40 + [2] * 30 + [None] * 10)
    results = slice_metrics(y, s, {"bucket": bucket}, ["roc_auc"], resamples=10, min_rows=5)
    assert [(r.value, r.rows) for r in results] == [("1", 40), ("2", 30), ("None", 10)]


def test_group_column_of_the_wrong_length() -> None:
    with pytest.raises(InvalidInput, match="one label per row of y_true \\(4\\)") as caught:
        slice_metrics([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8], {"region": ["n", "s"]}, ["roc_auc"])
    assert caught.value.path == "groups.region"


def test_bad_min_rows() -> None:
    with pytest.raises(InvalidInput) as caught:
        slice_metrics([0, 1], [0.1, 0.9], {"g": ["a", "a"]}, ["roc_auc"], min_rows=0)
    assert caught.value.path == "min_rows"


def test_to_dict(rows) -> None:  # type: ignore[no-untyped-def]
    y, s, groups = rows
    body = slice_metrics(y, s, groups, ["brier"], resamples=10)[0].to_dict()
    assert body["column"] == "region" and body["value"] == "north" and body["rows"] == 150
    assert set(body["metrics"]["brier"]) == {"value", "low", "high", "n", "resamples", "method"}


@pytest.mark.parametrize(
    "values",
    [
        ["b", "a", None, "b", "c", None],
        [1, "1", 2.5, None, float("nan"), 10, 2],  # equal texts are one label, sorted as text
        [{"a": 1}, "x", {"a": 1}, None],
    ],
    ids=["strings-and-nulls", "mixed-types", "unhashable"],
)
def test_object_labels_are_their_texts_sorted(values: list[object]) -> None:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    names, inverse = labels_of(array, array.size, column="c")
    texts = [str(value) for value in values]
    assert names == sorted(set(texts))
    assert [names[i] for i in inverse] == texts
