"""Shared frames and helpers for the feature pipeline tests."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

from keel.data import Contract, DataSchema
from keel.features import ColumnKind, FeaturePipeline, FeatureSpec, ModelKind
from keel.simulate import simulate_frame

LOAN_YAML = Path(__file__).parents[3] / "examples" / "loan" / "keel.yaml"
SMALL_COLUMNS: dict[str, ColumnKind] = {"x": "numeric", "n": "numeric", "c": "categorical"}


def build_pipeline(
    columns: Mapping[str, ColumnKind] = SMALL_COLUMNS,
    model_kind: ModelKind = "lightgbm",
    **section: Any,
) -> FeaturePipeline:
    """A pipeline over ``columns`` with the ``features:`` section given as keyword arguments."""
    return FeaturePipeline(spec=FeatureSpec.parse(section), columns=columns, model_kind=model_kind)


@pytest.fixture
def build() -> Callable[..., FeaturePipeline]:
    """``build(columns, model_kind, numeric={...}, categorical={...}, derived={...})``."""
    return build_pipeline


@pytest.fixture
def small() -> pl.DataFrame:
    """Five rows with a gap in ``x`` and in ``c``; ``c`` has one frequent level (``a``)."""
    return pl.DataFrame(
        {
            "x": [1.0, 2.0, 3.0, 4.0, None],
            "n": [10, 20, 30, 40, 50],
            "c": ["a", "a", "b", None, "c"],
        }
    )


@pytest.fixture(scope="session")
def loan_schema() -> DataSchema:
    """The loan example's contract with its column roles."""
    raw = yaml.safe_load(LOAN_YAML.read_text())
    return DataSchema(
        Contract.parse(raw["contract"]),
        entity="application_id",
        timestamp="applied_at",
        target="defaulted",
    )


@pytest.fixture(scope="session")
def loan() -> pl.DataFrame:
    """20k simulated applications (with the simulator's nulls in three columns)."""
    return simulate_frame(rows=20_000, seed=1, start=datetime(2024, 1, 1), end=datetime(2024, 2, 1))


@pytest.fixture(scope="session")
def loan_serving(loan: pl.DataFrame) -> pl.DataFrame:
    """Later rows as serving sees them: some unseen levels, extra nulls, a derived 0 divisor."""
    rows = simulate_frame(
        rows=500, seed=2, start=datetime(2024, 2, 1), end=datetime(2024, 2, 8)
    ).with_row_index("i")
    return rows.with_columns(
        purpose=pl.when(pl.col("i") % 7 == 0).then(pl.lit("crypto")).otherwise("purpose"),
        housing=pl.when(pl.col("i") % 11 == 0).then(None).otherwise("housing"),
        income=pl.when(pl.col("i") % 13 == 0).then(0.0).otherwise("income"),
        debt=pl.when(pl.col("i") % 17 == 0).then(None).otherwise("debt"),
    ).drop("i")
