from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from keel.data import BatchCode, DataSchema, profile_frame, validate_batch
from keel.data.batch_checks import check_timestamps, likely_rename

Rows = Callable[[int], pl.DataFrame]


def _codes(frame: pl.DataFrame, schema: DataSchema, now: datetime, **kw: object) -> set[str]:
    report = validate_batch(frame, schema, now=now, **kw)  # type: ignore[arg-type]
    return {f.code.value for f in report.failures}


def test_clean_batch_passes(schema: DataSchema, clean: pl.DataFrame, now: datetime) -> None:
    report = validate_batch(clean, schema, now=now, reference=profile_frame(clean))
    assert report.accepted
    assert report.to_dict()["rows_accepted"] == clean.height


def test_renamed_column_gets_a_hint(schema: DataSchema, clean: pl.DataFrame, now: datetime) -> None:
    frame = clean.rename({"income": "income_eur"})
    report = validate_batch(frame, schema, now=now)
    missing = next(f for f in report.failures if f.code is BatchCode.MISSING_COLUMN)
    unexpected = next(f for f in report.failures if f.code is BatchCode.UNEXPECTED_COLUMN)
    assert "income_eur" in (missing.hint or "")
    assert "income" in (unexpected.hint or "")


@pytest.mark.parametrize(
    ("name", "candidates", "expected"),
    [
        ("income", ["income_eur"], "income_eur"),
        ("age", ["zzz"], None),
        ("purpose", ["purpse"], "purpse"),
    ],
    ids=["suffix", "unrelated", "typo"],
)
def test_likely_rename(name: str, candidates: list[str], expected: str | None) -> None:
    assert likely_rename(name, candidates) == expected


def test_uncastable_type_change(schema: DataSchema, clean: pl.DataFrame, now: datetime) -> None:
    frame = clean.with_columns(pl.col("income").cast(pl.String))
    assert BatchCode.TYPE_CHANGED.value in _codes(frame, schema, now)


def test_text_batch_is_not_a_type_change(
    schema: DataSchema, clean: pl.DataFrame, now: datetime
) -> None:
    frame = clean.with_columns(pl.all().cast(pl.String))
    assert _codes(frame, schema, now, from_text=True) == set()


def test_reject_fraction_above_limit(schema: DataSchema, rows: Rows, now: datetime) -> None:
    frame = rows(20).with_columns(pl.Series("age", [10, 10] + [30] * 18))
    assert _codes(frame, schema, now) == {"reject_fraction"}


def test_reject_fraction_at_limit_passes(schema: DataSchema, rows: Rows, now: datetime) -> None:
    frame = rows(20).with_columns(pl.Series("age", [10] + [30] * 19))
    assert _codes(frame, schema, now) == set()


def test_duplicate_ids_in_batch(schema: DataSchema, rows: Rows, now: datetime) -> None:
    frame = rows(40).with_columns(
        pl.Series("application_id", ["a-1"] + [f"a-{i}" for i in range(1, 40)])
    )
    assert "duplicate_id" in _codes(frame, schema, now)


def test_ids_already_in_dataset(schema: DataSchema, rows: Rows, now: datetime) -> None:
    codes = _codes(rows(40), schema, now, existing_ids=pl.Series(["a-5"]))
    assert "existing_id" in codes


@pytest.mark.parametrize(
    ("stamp", "code"),
    [(datetime(2022, 1, 1), "stale"), (datetime(2024, 6, 3), "future")],
    ids=["stale", "future"],
)
def test_timestamps_out_of_window(
    schema: DataSchema, rows: Rows, now: datetime, stamp: datetime, code: str
) -> None:
    frame = rows(40).with_columns(pl.Series("applied_at", [stamp] + [datetime(2024, 5, 1)] * 39))
    assert code in _codes(frame, schema, now)


def test_naive_now_is_read_as_utc() -> None:
    stamps = pl.Series("t", [datetime(2024, 1, 1)]).dt.replace_time_zone("UTC")
    reasons = check_timestamps(
        stamps, datetime(2024, 1, 3), max_age=timedelta(days=1), max_future=None
    )
    assert [r.code for r in reasons] == [BatchCode.STALE]


def test_unit_change_against_profile(schema: DataSchema, rows: Rows, now: datetime) -> None:
    reference = profile_frame(rows(40))
    cents = rows(40).with_columns(pl.col("income") / 100)
    assert _codes(cents, schema, now, reference=reference) == {"unit_change"}


def test_small_shift_is_not_a_unit_change(schema: DataSchema, rows: Rows, now: datetime) -> None:
    reference = profile_frame(rows(40))
    shifted = rows(40).with_columns(pl.col("income") * 3)
    assert _codes(shifted, schema, now, reference=reference) == set()


def test_column_gone_all_null(schema: DataSchema, rows: Rows, now: datetime) -> None:
    reference = profile_frame(rows(40))
    frame = rows(40).with_columns(pl.lit(None, pl.String).alias("region"))
    assert _codes(frame, schema, now, reference=reference) == {"all_null"}


def test_report_is_json_ready(schema: DataSchema, rows: Rows, now: datetime) -> None:
    frame = rows(20).with_columns(pl.Series("age", [10, 10] + [30] * 18))
    body = validate_batch(frame, schema, now=now).to_dict()
    assert body["row_reasons"] == [{"column": "age", "code": "below_min", "rows": 2}]
    assert body["batch_reasons"][0]["code"] == "reject_fraction"


def test_freshness_chunk_by_chunk_says_what_the_whole_batch_says() -> None:
    """Ingest counts stale and future timestamps chunk by chunk: same reasons, same words."""
    from keel.data.batch_checks import Freshness

    day = timedelta(days=1)
    now = datetime(2024, 6, 1, tzinfo=UTC)
    stamps = pl.Series(
        "t",
        [now - 3 * day, None, now, now + 2 * day, now - 9 * day, now - day / 2, now + 5 * day],
    )
    whole = check_timestamps(stamps, now, max_age=day, max_future=day)
    freshness = Freshness("t", now, max_age=day, max_future=day)
    for start in range(0, len(stamps), 2):
        freshness.add(stamps.slice(start, 2))
    assert freshness.reasons() == whole
    assert [r.message for r in whole] == [
        "2 timestamps are older than 1 day, 0:00:00 (oldest 2024-05-23 00:00:00+00:00)",
        "2 timestamps are more than 1 day, 0:00:00 in the future",
    ]
