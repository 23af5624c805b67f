"""The reference profile: grid edges at the data's percentiles, exact counts, a JSON round trip."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import polars as pl
import pytest

from keel.errors import InvalidInput
from keel.monitoring import (
    CategoricalReference,
    NumericReference,
    ReferenceProfile,
    build_reference,
)

MakeTable = Callable[..., pl.DataFrame]


def test_json_round_trip_keeps_every_field(make_table: MakeTable) -> None:
    profile = build_reference(make_table(5000, seed=1))
    text = json.dumps(profile.to_dict())
    again = ReferenceProfile.from_dict(json.loads(text))
    assert again.to_dict() == profile.to_dict()
    assert isinstance(again.columns["normal"], NumericReference)
    assert isinstance(again.columns["purpose"], CategoricalReference)


def test_numeric_grid_counts_every_finite_value_once(make_table: MakeTable) -> None:
    frame = make_table(5000, seed=2)
    column = build_reference(frame).columns["with_nulls"]
    assert isinstance(column, NumericReference)
    assert column.missing == frame["with_nulls"].null_count()
    assert column.counts.sum() == column.present == 5000 - column.missing
    values = frame["with_nulls"].drop_nulls().to_numpy()
    assert column.minimum == values.min() and column.maximum == values.max()
    assert np.all(np.diff(column.edges) > 0)


def test_edges_are_data_values_so_discrete_atoms_sit_on_edges(make_table: MakeTable) -> None:
    frame = make_table(5000, seed=3)
    column = build_reference(frame).columns["term"]
    assert isinstance(column, NumericReference)
    assert column.edges.tolist() == [12.0, 24.0, 36.0, 48.0, 60.0]
    expected = [int((frame["term"] == v).sum()) for v in (12, 24, 36, 48, 60)]
    assert column.counts.tolist() == expected  # the last count is the one at the maximum


def test_coarse_bins_are_deciles_made_of_grid_bins(make_table: MakeTable) -> None:
    column = build_reference(make_table(20_000, seed=4)).columns["normal"]
    assert isinstance(column, NumericReference)
    coarse = np.add.reduceat(column.counts, column.coarse[:-1])
    assert coarse.size == 10
    assert np.allclose(coarse / coarse.sum(), 0.1, atol=0.002)


def test_categorical_levels_most_frequent_first(make_table: MakeTable) -> None:
    frame = make_table(5000, seed=5)
    profile = build_reference(frame)
    purpose = profile.columns["purpose"]
    assert isinstance(purpose, CategoricalReference)
    assert purpose.levels[0] == "car" and purpose.counts.sum() == 5000
    flag = profile.columns["flag"]
    assert isinstance(flag, CategoricalReference) and set(flag.levels) == {"true", "false"}


def test_constant_and_empty_numeric_columns() -> None:
    frame = pl.DataFrame(
        {"constant": [3.0] * 50, "empty": pl.Series([None] * 50, dtype=pl.Float64)}
    )
    profile = build_reference(frame)
    constant, empty = profile.columns["constant"], profile.columns["empty"]
    assert isinstance(constant, NumericReference) and isinstance(empty, NumericReference)
    assert constant.edges.tolist() == [3.0, 3.0] and constant.counts.tolist() == [0, 50]
    assert empty.edges.size == 0 and empty.missing == 50


def test_identifiers_and_times_are_skipped_with_a_reason() -> None:
    frame = pl.DataFrame(
        {
            "id": [f"a-{i}" for i in range(500)],
            "at": pl.datetime_range(
                pl.datetime(2024, 1, 1), pl.datetime(2024, 1, 1, 8, 19), "1m", eager=True
            ),
            "x": np.arange(500.0),
        }
    )
    profile = build_reference(frame)
    assert list(profile.columns) == ["x"]
    assert set(profile.skipped) == {"id", "at"}


def test_kinds_override_the_dtype() -> None:
    frame = pl.DataFrame({"code": [1, 2, 3, 1, 2] * 20})
    column = build_reference(frame, kinds={"code": "categorical"}).columns["code"]
    assert isinstance(column, CategoricalReference) and column.levels == ("1", "2", "3")


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"format": "other", "rows": 1, "columns": {}}, "format"),
        (
            {
                "format": "keel.monitoring.reference/1",
                "rows": 1,
                "columns": {"x": {"kind": "text"}},
            },
            "columns.x.kind",
        ),
    ],
    ids=["format", "kind"],
)
def test_from_dict_refuses_what_it_cannot_read(body: dict[str, object], path: str) -> None:
    with pytest.raises(InvalidInput) as error:
        ReferenceProfile.from_dict(body)
    assert error.value.path == path
