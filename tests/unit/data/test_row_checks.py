from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import numpy as np
import polars as pl
import pytest

from keel.data import REASONS_COLUMN, ROW_COLUMN, Contract, DataSchema, check_rows

Rows = Callable[[int], pl.DataFrame]


def _reasons(frame: pl.DataFrame) -> list[set[tuple[str, str]]]:
    return [{(r["column"], r["code"]) for r in rs} for rs in frame[REASONS_COLUMN].to_list()]


def test_clean_rows_are_all_accepted(schema: DataSchema, clean: pl.DataFrame) -> None:
    result = check_rows(clean, schema)
    assert result.accepted.height == clean.height
    assert result.rejected.is_empty()
    assert result.summary == {}


def test_accepted_rows_have_contract_types(schema: DataSchema, clean: pl.DataFrame) -> None:
    accepted = check_rows(clean, schema).accepted
    assert accepted.schema["age"] == pl.Int64
    assert isinstance(accepted.schema["purpose"], pl.Enum)
    assert accepted.schema["applied_at"] == pl.Datetime("us", "UTC")


@pytest.mark.parametrize(
    ("column", "bad", "code"),
    [
        ("income", -1.0, "below_min"),
        ("income", 6e6, "above_max"),
        ("income", float("nan"), "not_finite"),
        ("income", float("inf"), "not_finite"),
        ("income", None, "missing_value"),
        ("age", 17, "below_min"),
        ("age", 101, "above_max"),
        ("purpose", "boat", "not_allowed"),
        ("purpose", None, "missing_value"),
        ("application_id", "b-1", "regex_mismatch"),
        ("application_id", None, "missing_value"),
    ],
    ids=[
        "below-min",
        "above-max",
        "nan",
        "inf",
        "null-income",
        "age-low",
        "age-high",
        "not-allowed",
        "null-purpose",
        "regex",
        "null-id",
    ],
)
def test_failing_value_is_rejected_with_its_code(
    schema: DataSchema, clean: pl.DataFrame, column: str, bad: object, code: str
) -> None:
    values = clean[column].to_list()
    values[1] = bad
    frame = clean.with_columns(pl.Series(column, values, dtype=clean.schema[column]))
    result = check_rows(frame, schema)
    assert result.rejected[ROW_COLUMN].to_list() == [1]
    assert _reasons(result.rejected) == [{(column, code)}]
    assert result.summary == {(column, code): 1}


def test_nullable_column_accepts_null(schema: DataSchema, clean: pl.DataFrame) -> None:
    frame = clean.with_columns(pl.lit(None, pl.String).alias("region"))
    assert check_rows(frame, schema).rejected.is_empty()


def test_every_failing_check_of_a_row_is_recorded(schema: DataSchema, clean: pl.DataFrame) -> None:
    frame = clean.with_columns(
        pl.when(pl.int_range(pl.len()) == 2).then(-5.0).otherwise("income").alias("income"),
        pl.when(pl.int_range(pl.len()) == 2)
        .then(pl.lit("x"))
        .otherwise("purpose")
        .alias("purpose"),
        pl.when(pl.int_range(pl.len()) == 2)
        .then(pl.lit("zz"))
        .otherwise("application_id")
        .alias("application_id"),
    )
    rejected = check_rows(frame, schema).rejected
    assert _reasons(rejected) == [
        {("income", "below_min"), ("purpose", "not_allowed"), ("application_id", "regex_mismatch")}
    ]


def test_reason_carries_raw_value(schema: DataSchema, clean: pl.DataFrame) -> None:
    frame = clean.with_columns(pl.Series("age", [30, 31, 250, 33]))
    reason = check_rows(frame, schema).rejected[REASONS_COLUMN][0][0]
    assert reason == {"column": "age", "code": "above_max", "value": "250"}


def test_text_input_is_parsed_when_declared_text(schema: DataSchema, clean: pl.DataFrame) -> None:
    text = clean.with_columns(pl.all().cast(pl.String))
    result = check_rows(text, schema, from_text=True)
    assert result.accepted.height == clean.height
    assert result.accepted["age"].to_list() == clean["age"].to_list()


@pytest.mark.parametrize(
    ("column", "raw"),
    [("income", "abc"), ("age", "3.5"), ("applied_at", "yesterday")],
    ids=["float", "int-fraction", "datetime"],
)
def test_unparseable_text_is_wrong_type(
    schema: DataSchema, clean: pl.DataFrame, column: str, raw: str
) -> None:
    text = clean.with_columns(pl.all().cast(pl.String))
    values = text[column].to_list()
    values[0] = raw
    frame = text.with_columns(pl.Series(column, values))
    result = check_rows(frame, schema, from_text=True)
    assert _reasons(result.rejected) == [{(column, "wrong_type")}]


def test_blank_text_is_missing(schema: DataSchema, clean: pl.DataFrame) -> None:
    text = clean.with_columns(pl.all().cast(pl.String)).with_columns(
        pl.Series("income", ["", "1", "2", "3"])
    )
    assert _reasons(check_rows(text, schema, from_text=True).rejected) == [
        {("income", "missing_value")}
    ]


def test_string_number_needs_coerce(schema: DataSchema, clean: pl.DataFrame) -> None:
    frame = clean.with_columns(pl.col("income").cast(pl.String))
    result = check_rows(frame, schema)
    assert result.accepted.is_empty()
    assert result.summary == {("income", "wrong_type"): clean.height}


def test_coerce_allows_string_number(schema: DataSchema, clean: pl.DataFrame) -> None:
    frame = clean.with_columns(pl.col("age").cast(pl.String))
    result = check_rows(frame, schema)
    assert result.accepted["age"].to_list() == clean["age"].to_list()


def test_integral_float_is_accepted_as_int(schema: DataSchema, clean: pl.DataFrame) -> None:
    frame = clean.with_columns(pl.col("age").cast(pl.Float64))
    assert check_rows(frame, schema).accepted["age"].dtype == pl.Int64


def test_fractional_float_is_wrong_type_for_int(schema: DataSchema, clean: pl.DataFrame) -> None:
    frame = clean.with_columns(pl.Series("age", [30.0, 30.5, 40.0, 41.0]))
    assert _reasons(check_rows(frame, schema).rejected) == [{("age", "wrong_type")}]


def test_duplicate_ids_reject_every_occurrence(schema: DataSchema, clean: pl.DataFrame) -> None:
    frame = clean.with_columns(pl.Series("application_id", ["a-1", "a-2", "a-1", "a-3"]))
    result = check_rows(frame, schema)
    assert result.rejected[ROW_COLUMN].to_list() == [0, 2]
    assert _reasons(result.rejected) == [{("application_id", "duplicate_id")}] * 2


def test_known_ids_are_rejected(schema: DataSchema, clean: pl.DataFrame) -> None:
    result = check_rows(clean, schema, existing_ids=pl.Series(["a-3", "z-9"]))
    assert result.rejected[ROW_COLUMN].to_list() == [3]
    assert _reasons(result.rejected) == [{("application_id", "existing_id")}]


def test_unique_non_entity_column_flags_duplicate_value() -> None:
    contract = Contract.model_validate({"columns": {"email": {"type": "string", "unique": True}}})
    frame = pl.DataFrame({"email": ["a", "b", "a"]})
    result = check_rows(frame, DataSchema(contract))
    assert result.summary == {("email", "duplicate_value"): 2}


def test_duplicates_are_found_across_chunks(schema: DataSchema, rows: Rows) -> None:
    frame = rows(10).with_columns(
        pl.Series("application_id", [f"a-{i}" for i in range(9)] + ["a-0"])
    )
    result = check_rows(frame, schema, chunk_rows=3)
    assert result.rejected[ROW_COLUMN].to_list() == [0, 9]


def test_missing_column_fails_every_row(schema: DataSchema, clean: pl.DataFrame) -> None:
    result = check_rows(clean.drop("income"), schema)
    assert result.summary == {("income", "missing_value"): clean.height}


def test_absent_target_is_fine(schema: DataSchema, clean: pl.DataFrame) -> None:
    assert "defaulted" not in clean.columns
    assert check_rows(clean, schema).rejected.is_empty()


def test_progress_is_reported_per_chunk(schema: DataSchema, rows: Rows) -> None:
    seen: list[tuple[int, int]] = []
    check_rows(rows(5), schema, chunk_rows=2, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(2, 5), (4, 5), (5, 5)]


def test_zoned_datetime_is_converted_to_utc(schema: DataSchema, clean: pl.DataFrame) -> None:
    frame = clean.with_columns(pl.col("applied_at").dt.replace_time_zone("Europe/Berlin"))
    stamp = check_rows(frame, schema).accepted["applied_at"][0]
    assert stamp == datetime.fromisoformat("2024-04-30T22:00:00+00:00")


def test_rows_in_equals_accepted_plus_rejected_randomized(schema: DataSchema, rows: Rows) -> None:
    rng = np.random.default_rng(7)
    for trial in range(20):
        n = int(rng.integers(0, 60))
        frame = _noisy(rows(n), rng)
        result = check_rows(frame, schema, chunk_rows=int(rng.integers(1, 25)))
        assert result.accepted.height + result.rejected.height == n, trial
        assert all(len(r) > 0 for r in result.rejected[REASONS_COLUMN].to_list()), trial
        assert (
            sorted(result.rejected[ROW_COLUMN].to_list()) == result.rejected[ROW_COLUMN].to_list()
        )


def _noisy(frame: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    n = frame.height
    bad = rng.random(n) < 0.3
    income = np.where(bad, rng.choice([-1.0, np.nan, np.inf, 9e9], n), frame["income"].to_numpy())
    ids = [f"a-{int(i)}" for i in rng.integers(0, max(n, 1) * 3, n)]
    return frame.with_columns(pl.Series("income", income), pl.Series("application_id", ids))


@pytest.mark.parametrize("seed", range(5))
def test_duplicated_marks_what_polars_marks_nulls_aside(seed: int) -> None:
    """The hash-sort shortcut against Polars' own ``is_duplicated`` (nulls never repeat)."""
    import random

    from keel.data.row_checks import duplicated

    rng = random.Random(seed)
    values = [rng.choice([None, *(f"id-{k}" for k in range(300))]) for _ in range(2_000)]
    series = pl.Series("id", values, dtype=pl.String)
    expected = series.is_duplicated() & series.is_not_null()
    assert duplicated(series).to_list() == expected.to_list()
    assert not duplicated(pl.Series("id", ["a", "b", None, None])).any()
