"""Training and serving compute the same features: frames, JSON records and compatible types."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl
import pytest

from keel.data import DataSchema
from keel.errors import InvalidInput
from keel.features import FeaturePipeline, FeatureSpec, feature_columns, transform_records

Build = Callable[..., FeaturePipeline]

SPEC = {"numeric": {"log": ["income", "debt"]}, "derived": {"debt_to_income": "debt / income"}}


def _loan_pipeline(schema: DataSchema, loan: pl.DataFrame, model_kind: Any) -> FeaturePipeline:
    spec = FeatureSpec.parse(SPEC)
    columns = feature_columns(schema, spec)
    return FeaturePipeline(spec=spec, columns=columns, model_kind=model_kind).fit(loan)


@pytest.mark.parametrize("model_kind", ["lightgbm", "logistic"])
def test_records_and_frame_give_identical_bits(
    loan_schema: DataSchema, loan: pl.DataFrame, loan_serving: pl.DataFrame, model_kind: str
) -> None:
    """Serving rows with unseen levels, gaps and a zero divisor: batch, records, one by one."""
    pipeline = _loan_pipeline(loan_schema, loan, model_kind)
    batch = pipeline.transform(loan_serving)
    records = loan_serving.to_dicts()
    served = transform_records(pipeline, records)
    assert np.array_equal(batch.values, served.values, equal_nan=True)
    assert (batch.names, batch.categorical) == (served.names, served.categorical)
    one_by_one = np.vstack([transform_records(pipeline, [r]).values for r in records[:200]])
    assert np.array_equal(batch.values[:200], one_by_one, equal_nan=True)
    assert model_kind == "lightgbm" or not np.isnan(served.values).any()


def test_compatible_polars_types_give_identical_bits(build: Build) -> None:
    train = pl.DataFrame(
        {"n": [1, 2, None, 4], "f": [0.5, 1.5, 2.5, None], "c": ["a", "b", None, "a"]}
    )
    columns = {"n": "numeric", "f": "numeric", "c": "categorical"}
    pipeline = build(columns, "logistic").fit(train)
    expected = pipeline.transform(train).values
    variants = {
        "int32-float32-categorical": train.with_columns(
            pl.col("n").cast(pl.Int32),
            pl.col("f").cast(pl.Float32),
            pl.col("c").cast(pl.Categorical),
        ),
        "uint8-enum": train.with_columns(
            pl.col("n").cast(pl.UInt8), pl.col("c").cast(pl.Enum(["b", "a", "zz"]))
        ),
        "extra-columns-and-order": train.select("c", "f", "n").with_columns(extra=pl.lit("x")),
    }
    for name, frame in variants.items():
        assert np.array_equal(pipeline.transform(frame).values, expected, equal_nan=True), name


def test_null_typed_columns_are_accepted(build: Build, small: pl.DataFrame) -> None:
    pipeline = build().fit(small)
    empty = pl.DataFrame({"x": [None], "n": [None], "c": [None]})
    assert empty.schema["c"] == pl.Null
    values = pipeline.transform(empty).values
    assert values[0, pipeline.feature_names_.index("x__missing")] == 1.0


def test_missing_columns_are_named(build: Build, small: pl.DataFrame) -> None:
    pipeline = build().fit(small)
    with pytest.raises(InvalidInput, match="lacks feature column\\(s\\) 'x', 'c'") as caught:
        pipeline.transform(small.select("n"))
    assert caught.value.path == "x"


@pytest.mark.parametrize(
    ("column", "values"),
    [("x", ["1.0"] * 5), ("c", [1, 2, 3, 4, 5])],
    ids=["string-for-numeric", "int-for-categorical"],
)
def test_incompatible_types_are_refused(
    build: Build, small: pl.DataFrame, column: str, values: list[object]
) -> None:
    pipeline = build().fit(small)
    with pytest.raises(InvalidInput, match=f"column '{column}' is a") as caught:
        pipeline.transform(small.with_columns(pl.Series(column, values)))
    assert caught.value.path == column


def test_records_build_the_training_dtypes(build: Build, small: pl.DataFrame) -> None:
    pipeline = build().fit(small)
    assert dict(pipeline.input_schema_) == {"x": pl.Float64, "n": pl.Int64, "c": pl.String}
    records: list[dict[str, object]] = [
        {"x": 2, "n": 10, "c": "a", "unused": [1, 2]},
        {"x": None, "n": None, "c": None},
    ]
    served = transform_records(pipeline, records)
    frame = pl.DataFrame(
        {"x": [2.0, None], "n": [10, None], "c": ["a", None]},
        schema={"x": pl.Float64, "n": pl.Int64, "c": pl.String},
    )
    assert np.array_equal(served.values, pipeline.transform(frame).values, equal_nan=True)


def test_no_records_give_no_rows(build: Build, small: pl.DataFrame) -> None:
    pipeline = build().fit(small)
    assert transform_records(pipeline, []).shape == (0, len(pipeline.feature_names_))


BAD_RECORDS: dict[str, tuple[list[Any], str]] = {
    "absent-key": ([{"x": 1.0, "n": 1, "c": "a"}, {"x": 1.0, "c": "a"}], "records[1].n"),
    "float-for-int": ([{"x": 1.0, "n": 1.5, "c": "a"}], "records[0].n"),
    "text-for-number": ([{"x": "1.0", "n": 1, "c": "a"}], "records[0].x"),
    "number-for-text": ([{"x": 1.0, "n": 1, "c": 3}], "records[0].c"),
    "object-for-text": ([{"x": 1.0, "n": 1, "c": {"k": 1}}], "records[0].c"),
    "not-an-object": ([{"x": 1.0, "n": 1, "c": "a"}, ["x", 1]], "records[1]"),
    "int-out-of-range": ([{"x": 1.0, "n": 2**70, "c": "a"}], "records"),
}


@pytest.mark.parametrize(("records", "path"), BAD_RECORDS.values(), ids=BAD_RECORDS.keys())
def test_bad_records_are_refused_with_their_path(
    build: Build, small: pl.DataFrame, records: list[Any], path: str
) -> None:
    pipeline = build().fit(small)
    with pytest.raises(InvalidInput) as caught:
        transform_records(pipeline, records)
    assert caught.value.path == path
