"""Batch reasons say what is really wrong, not a symptom of it."""

from __future__ import annotations

from datetime import datetime

import polars as pl
from tests.unit.data.conftest import typed_rows

from keel.data import BatchCode, Contract, DataSchema, profile_frame, validate_batch


def _reason(frame: pl.DataFrame, schema: DataSchema, now: datetime, code: BatchCode) -> str:
    report = validate_batch(frame, schema, now=now, reference=profile_frame(typed_rows(8)))
    return next(f.message for f in report.failures if f.code is code and f.column is not None)


def test_unknown_categories_are_named_not_called_null(schema: DataSchema, now: datetime) -> None:
    frame = typed_rows(8).with_columns(pl.lit("crypto").alias("purpose"))
    message = _reason(frame, schema, now, BatchCode.ALL_NULL)
    assert "entirely null" not in message
    assert "'crypto'" in message and "allowed: car, home" in message
    really_null = typed_rows(8).with_columns(pl.lit(None, pl.String).alias("region"))
    message = _reason(really_null, schema, now, BatchCode.ALL_NULL)
    assert message == "column 'region' is entirely null; the reference had values"


def test_text_that_is_not_a_number_is_named_with_an_example(
    schema: DataSchema, now: datetime
) -> None:
    frame = typed_rows(8).with_columns(pl.lit("12k EUR").alias("income")).cast(pl.String)
    report = validate_batch(
        frame, schema, now=now, reference=profile_frame(typed_rows(8)), from_text=True
    )
    message = next(f.message for f in report.failures if f.column == "income")
    assert "entirely null" not in message
    assert "float" in message and "'12k EUR'" in message


def test_a_missing_entity_column_names_keel_yaml_not_the_contract(
    contract: Contract, now: datetime
) -> None:
    undeclared = Contract.model_validate(
        {
            "columns": {
                k: v for k, v in contract.model_dump()["columns"].items() if k != "application_id"
            }
        }
    )
    schema = DataSchema(undeclared, entity="application_id", timestamp="applied_at")
    frame = typed_rows(4).drop("application_id")
    report = validate_batch(frame, schema, now=now)
    missing = next(f for f in report.failures if f.code is BatchCode.MISSING_COLUMN)
    assert "declared in the contract" not in missing.message
    assert "entity column (keel.yaml 'entity')" in missing.message
