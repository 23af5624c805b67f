"""The clean world: schema, ranges, null rates, shapes and a ground truth with the intended AUC."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import roc_auc_score

from keel.errors import InvalidInput
from keel.simulate import (
    BASE_CONCEPT,
    CATEGORIES,
    NULL_RATES,
    RANGES,
    SCHEMA,
    SHIFTED_CONCEPT,
    true_default_probability,
)

START = datetime(2024, 1, 1)
END = datetime(2025, 1, 1)


def test_schema_is_the_contract(clean: pl.DataFrame) -> None:
    assert dict(clean.schema) == dict(SCHEMA)


@pytest.mark.parametrize("column", list(RANGES), ids=list(RANGES))
def test_numeric_columns_stay_in_range(clean: pl.DataFrame, column: str) -> None:
    low, high = RANGES[column]
    values = clean[column].drop_nulls()
    assert low <= values.min() and values.max() <= high  # type: ignore[operator]


@pytest.mark.parametrize("column", list(CATEGORIES), ids=list(CATEGORIES))
def test_categories_take_only_their_values(clean: pl.DataFrame, column: str) -> None:
    assert set(clean[column].drop_nulls().unique()) == set(CATEGORIES[column])


@pytest.mark.parametrize(
    ("column", "rate"),
    [(name, NULL_RATES.get(name, 0.0)) for name in SCHEMA if name != "defaulted"],
    ids=[name for name in SCHEMA if name != "defaulted"],
)
def test_null_rates(clean: pl.DataFrame, column: str, rate: float) -> None:
    assert clean[column].null_count() / clean.height == pytest.approx(rate, abs=0.003)


def test_terms_are_the_five_allowed(clean: pl.DataFrame) -> None:
    assert set(clean["term_months"].unique()) == {12, 24, 36, 48, 60}


def test_income_median_is_about_45000(clean: pl.DataFrame) -> None:
    assert 40_000 < clean["income"].median() < 50_000  # type: ignore[operator]


def test_most_applicants_are_25_to_60(clean: pl.DataFrame) -> None:
    assert clean["age"].is_between(25, 60).mean() > 0.75  # type: ignore[operator]


def test_most_applicants_have_no_delinquency(clean: pl.DataFrame) -> None:
    assert (clean["num_delinquencies"] == 0).mean() > 0.7  # type: ignore[operator]


def test_debt_rises_with_income(clean: pl.DataFrame) -> None:
    ranks = clean.select(pl.col("income").rank(), pl.col("debt").rank())
    assert np.corrcoef(ranks["income"], ranks["debt"])[0, 1] > 0.3


def test_ids_are_unique(clean: pl.DataFrame) -> None:
    assert clean["application_id"].n_unique() == clean.height
    assert clean["application_id"][0] == "a-0000000001"


def test_times_rise_within_the_window(clean: pl.DataFrame) -> None:
    times = clean["applied_at"]
    assert times.is_sorted()
    assert times.min() >= START and times.max() < END  # type: ignore[operator]


def test_default_rate_is_10_to_20_percent(clean: pl.DataFrame) -> None:
    assert 0.10 < clean["defaulted"].mean() < 0.20  # type: ignore[operator]


def test_labels_follow_the_ground_truth(clean: pl.DataFrame) -> None:
    probability = true_default_probability(clean)
    assert clean["defaulted"].mean() == pytest.approx(probability.mean(), abs=0.005)


def test_best_achievable_auc_is_080_to_090(clean: pl.DataFrame) -> None:
    auc = roc_auc_score(clean["defaulted"].to_numpy(), true_default_probability(clean))
    assert 0.80 < auc < 0.90


def test_shifted_concept_gives_other_probabilities(clean: pl.DataFrame) -> None:
    base = true_default_probability(clean, BASE_CONCEPT)
    shifted = true_default_probability(clean, SHIFTED_CONCEPT)
    assert shifted.mean() - base.mean() > 0.03
    assert np.corrcoef(base, shifted)[0, 1] < 0.95


def test_truth_names_missing_columns(clean: pl.DataFrame) -> None:
    with pytest.raises(InvalidInput, match="income"):
        true_default_probability(clean.drop("income"))
