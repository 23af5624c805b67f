"""The record encoder computes the very features the pipeline's frame path computes."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest

from keel.data import DataSchema
from keel.features import FeaturePipeline, FeatureSpec, feature_columns
from keel.serving.encoding import RecordEncoder

SECTIONS: dict[str, dict[str, Any]] = {
    "loan-example": {
        "numeric": {"impute": "median", "clip_quantiles": [0.001, 0.999]},
        "categorical": {"min_frequency": 0.01, "unseen": "other"},
        "derived": {"debt_ratio": "debt / income", "loan_to_income": "loan_amount / income"},
    },
    "logs-unseen-missing-rare-folded": {
        "numeric": {"log": ["income", "debt"], "impute": "none"},
        "categorical": {"min_frequency": 0.15, "unseen": "missing"},
        "derived": {"spread": "max(interest_rate, 0.05) - log1p(num_delinquencies)"},
    },
    "no-clipping-no-indicators": {
        "numeric": {"clip_quantiles": None, "missing_indicator": False, "impute": "zero"},
    },
}


@pytest.fixture(scope="module")
def odd_rows(serving_frame: pl.DataFrame) -> pl.DataFrame:
    """Serving rows with unseen levels, extra nulls and zero divisors."""
    rows = serving_frame.with_row_index("i")
    return rows.with_columns(
        purpose=pl.when(pl.col("i") % 7 == 0).then(pl.lit("crypto")).otherwise("purpose"),
        housing=pl.when(pl.col("i") % 11 == 0).then(None).otherwise("housing"),
        income=pl.when(pl.col("i") % 13 == 0).then(0.0).otherwise("income"),
        debt=pl.when(pl.col("i") % 17 == 0).then(None).otherwise("debt"),
        age=pl.when(pl.col("i") % 19 == 0).then(None).otherwise("age"),
    ).drop("i")


def _pipeline(
    schema: DataSchema, training: pl.DataFrame, section: dict[str, Any], kind: str
) -> FeaturePipeline:
    spec = FeatureSpec.parse(section)
    columns = feature_columns(schema, spec)
    return FeaturePipeline(spec=spec, columns=columns, model_kind=kind).fit(training)  # type: ignore[arg-type]


CASES = [
    (section, kind)
    for section in SECTIONS
    for kind in ("lightgbm", "logistic")
    if kind == "lightgbm" or SECTIONS[section]["numeric"].get("impute") != "none"
]  # a linear model refuses impute: none


@pytest.mark.parametrize(("section", "kind"), CASES, ids=[f"{s}-{k}" for s, k in CASES])
def test_records_give_the_bits_of_the_frame_path(
    loan_schema: DataSchema,
    training: pl.DataFrame,
    odd_rows: pl.DataFrame,
    section: str,
    kind: str,
) -> None:
    pipeline = _pipeline(loan_schema, training, SECTIONS[section], kind)
    expected = pipeline.transform(odd_rows)
    encoder = RecordEncoder(pipeline)
    records = odd_rows.to_dicts()
    encoded = encoder.encode(records).matrix
    assert np.array_equal(encoded.values, expected.values, equal_nan=True)
    assert (encoded.names, encoded.categorical) == (expected.names, expected.categorical)
    assert encoded.source_columns == expected.source_columns
    one_by_one = np.vstack([encoder.encode([r]).matrix.values for r in records[:60]])
    assert np.array_equal(one_by_one, expected.values[:60], equal_nan=True)


def test_absent_nullable_values_read_as_null(
    loan_schema: DataSchema, training: pl.DataFrame, odd_rows: pl.DataFrame
) -> None:
    pipeline = _pipeline(loan_schema, training, SECTIONS["loan-example"], "lightgbm")
    encoder = RecordEncoder(pipeline)
    record = odd_rows.row(1, named=True)
    nulls = {**record, "region": None, "employment_years": None}
    absent = {k: v for k, v in record.items() if k not in ("region", "employment_years")}
    first, second = encoder.encode([nulls]), encoder.encode([absent])
    assert np.array_equal(first.matrix.values, second.matrix.values, equal_nan=True)
    region = encoder.categorical_names.index("region")
    assert second.absent[0, region]
    assert second.missing[0, encoder.numeric_names.index("employment_years")]


def test_the_encoder_reports_what_it_saw(
    loan_schema: DataSchema, training: pl.DataFrame, odd_rows: pl.DataFrame
) -> None:
    pipeline = _pipeline(loan_schema, training, SECTIONS["loan-example"], "lightgbm")
    encoder = RecordEncoder(pipeline)
    seen = encoder.encode(odd_rows.to_dicts())
    purpose = encoder.categorical_names.index("purpose")
    assert seen.unseen[:, purpose].tolist() == (odd_rows["purpose"] == "crypto").to_list()
    housing = encoder.categorical_names.index("housing")
    assert seen.absent[:, housing].tolist() == odd_rows["housing"].is_null().to_list()
    ratio = encoder.numeric_names.index("debt_ratio")
    zero_income = (odd_rows["income"] == 0.0).to_numpy()
    assert seen.missing[zero_income, ratio].all()  # debt / 0 is missing, not infinite
    income = encoder.numeric_names.index("income")
    unclipped = odd_rows["income"].to_numpy()
    assert np.array_equal(seen.numeric[:, income], unclipped)  # kept before clipping


def test_one_record_at_a_time_reports_what_the_batch_reports(
    loan_schema: DataSchema, training: pl.DataFrame, odd_rows: pl.DataFrame
) -> None:
    """A request encodes one record through its own short path: same masks as a batch."""
    pipeline = _pipeline(
        loan_schema, training, SECTIONS["logs-unseen-missing-rare-folded"], "lightgbm"
    )
    encoder = RecordEncoder(pipeline)
    records = odd_rows.to_dicts()[:80]
    batch = encoder.encode(records)
    singles = [encoder.encode([record]) for record in records]
    for field in ("numeric", "missing", "absent", "unseen"):
        stacked = np.vstack([getattr(single, field) for single in singles])
        assert np.array_equal(stacked, getattr(batch, field), equal_nan=True), field
    assert batch.unseen.any() and batch.absent.any()  # the rows exercise both masks
