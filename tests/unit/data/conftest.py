"""Shared contract and frames for the data tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import polars as pl
import pytest
import yaml

from keel.data import Contract, DataSchema

CONTRACT_YAML = """
columns:
  income:   {type: float, min: 0, max: 5_000_000}
  age:      {type: int, min: 18, max: 100, coerce: true}
  purpose:  {type: category, values: [car, home, education, business, debt_consolidation, other]}
  region:   {type: category, values: [north, south, east, west], nullable: true}
  application_id: {type: string, unique: true, regex: "^a-[0-9]+$"}
  applied_at: {type: datetime, coerce: true}
max_reject_fraction: 0.05
unit_change_factor: 50
max_age: 365d
max_future: 1d
"""

NOW = datetime(2024, 6, 1, tzinfo=UTC)


@pytest.fixture
def contract_yaml() -> str:
    return CONTRACT_YAML


@pytest.fixture
def rows() -> Callable[[int], pl.DataFrame]:
    return typed_rows


@pytest.fixture
def contract() -> Contract:
    return Contract.model_validate(yaml.safe_load(CONTRACT_YAML))


@pytest.fixture
def schema(contract: Contract) -> DataSchema:
    return DataSchema(contract, entity="application_id", timestamp="applied_at", target="defaulted")


def typed_rows(n: int = 4) -> pl.DataFrame:
    """Clean typed rows (as Parquet would deliver them)."""
    return pl.DataFrame(
        {
            "income": [1000.0 * (i + 1) for i in range(n)],
            "age": [30 + i for i in range(n)],
            "purpose": ["car"] * n,
            "region": ["north"] * n,
            "application_id": [f"a-{i}" for i in range(n)],
            "applied_at": [datetime(2024, 5, 1) for _ in range(n)],
        }
    )


@pytest.fixture
def clean() -> pl.DataFrame:
    return typed_rows()


@pytest.fixture
def now() -> datetime:
    return NOW
