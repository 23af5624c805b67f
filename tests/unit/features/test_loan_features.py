"""A realistic run: the loan example's contract and 20k simulated applications."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from keel.data import DataSchema
from keel.errors import InvalidInput
from keel.features import FeaturePipeline, FeatureSpec, feature_columns
from keel.simulate import CATEGORIES

NUMERIC = (
    "income",
    "age",
    "employment_years",
    "debt",
    "loan_amount",
    "term_months",
    "interest_rate",
    "credit_score",
    "num_open_accounts",
    "num_delinquencies",
)
CATEGORICAL = ("purpose", "region", "housing", "channel")
INDICATORS = ("employment_years__missing", "credit_score__missing")
"""The simulator leaves gaps in employment_years, credit_score and region (categorical)."""


def test_feature_columns_of_the_loan_contract(loan_schema: DataSchema) -> None:
    """Entity (also id-like), timestamp and target are never features."""
    columns = feature_columns(loan_schema, FeatureSpec())
    assert columns == {
        **dict.fromkeys(NUMERIC, "numeric"),
        **dict.fromkeys(CATEGORICAL, "categorical"),
    }


def test_exclude_drops_columns_and_refuses_unknown_names(loan_schema: DataSchema) -> None:
    columns = feature_columns(loan_schema, FeatureSpec(exclude=("region", "age")))
    assert "region" not in columns
    assert "age" not in columns
    with pytest.raises(InvalidInput, match="'regoin'") as caught:
        feature_columns(loan_schema, FeatureSpec(exclude=("regoin",)))
    assert caught.value.path == "features.exclude"


def test_logistic_matrix_is_complete_standardized_and_named(
    loan_schema: DataSchema, loan: pl.DataFrame
) -> None:
    spec = FeatureSpec()
    pipeline = FeaturePipeline(
        spec=spec, columns=feature_columns(loan_schema, spec), model_kind="logistic"
    )
    matrix = pipeline.fit_transform(loan)
    onehot = {f"{c}={level}" for c in CATEGORICAL for level in (*CATEGORIES[c], "__other__")}
    assert matrix.names[:12] == (*NUMERIC, *INDICATORS)
    assert set(matrix.names[12:]) == onehot
    assert len(matrix.names) == 12 + len(onehot)
    assert matrix.shape == (loan.height, len(matrix.names))
    assert not np.isnan(matrix.values).any()
    numeric = matrix.values[:, : len(NUMERIC)]
    np.testing.assert_allclose(numeric.mean(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(numeric.std(axis=0), 1.0, rtol=1e-9)
    region = [j for j, name in enumerate(matrix.names) if name.startswith("region=")]
    row_sums = matrix.values[:, region].sum(axis=1)
    assert set(np.unique(row_sums)) == {0.0, 1.0}  # 0 where region is missing
    assert (row_sums == 0).sum() == loan.get_column("region").null_count()
    assert {matrix.source_columns[name] for name in matrix.names} == {*NUMERIC, *CATEGORICAL}


def test_lightgbm_matrix_has_native_codes(loan_schema: DataSchema, loan: pl.DataFrame) -> None:
    spec = FeatureSpec()
    pipeline = FeaturePipeline(
        spec=spec, columns=feature_columns(loan_schema, spec), model_kind="lightgbm"
    )
    matrix = pipeline.fit_transform(loan)
    assert matrix.names == (*NUMERIC, *INDICATORS, *CATEGORICAL)
    assert matrix.categorical == (12, 13, 14, 15)
    codes = matrix.values[:, 12:]
    widths = [len(CATEGORIES[c]) for c in CATEGORICAL]
    assert (np.nanmax(codes, axis=0) == np.array(widths) - 1).all()
    nan_columns = {matrix.names[j] for j in np.flatnonzero(np.isnan(matrix.values).any(axis=0))}
    assert nan_columns == {"region"}
