"""Request records against the loan contract: every problem at once, with path and reason."""

from __future__ import annotations

import itertools
import random
from typing import Any

import polars as pl
import pytest

from keel.data import DataSchema
from keel.serving.checks import MAX_PROBLEMS, InvalidRecords, RecordChecker
from keel.serving.fields import ABSENT
from keel.serving.http_status import http_status

INF = float("inf")


@pytest.fixture(scope="module")
def checker(loan_schema: DataSchema) -> RecordChecker:
    return RecordChecker(loan_schema)


@pytest.fixture(scope="module")
def valid(serving_frame: pl.DataFrame) -> list[dict[str, Any]]:
    return serving_frame.to_dicts()


def problems(checker: RecordChecker, records: object) -> list[tuple[str, str]]:
    with pytest.raises(InvalidRecords) as caught:
        checker.check(records)
    return [(p.path, p.reason) for p in caught.value.problems]


@pytest.mark.parametrize("rows", [1, 3, 600], ids=["one", "few", "many"])
def test_valid_records_pass_unchanged(
    checker: RecordChecker, valid: list[dict[str, Any]], rows: int
) -> None:
    records = valid[:rows]
    assert checker.check(records) is records


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("income", "lots", "expected number, got 'lots'"),
        ("income", True, "expected number, got true"),
        ("income", [1], "expected number, got a list"),
        ("income", float("nan"), "not a finite number"),
        ("income", INF, "not a finite number"),
        ("income", -INF, "not a finite number"),
        ("income", 10**400, "not a finite number"),
        ("income", -1.5, "below minimum 0"),
        ("income", 5_000_001, "above maximum 5000000"),
        ("income", None, "must not be null"),
        ("income", ABSENT, "required"),
        ("age", 30.5, "expected integer, got 30.5"),
        ("age", "30", "expected integer, got '30'"),
        ("age", float("nan"), "not a finite number"),
        ("age", 17, "below minimum 18"),
        ("interest_rate", 0.41, "above maximum 0.4"),
        ("purpose", "crypto", "not one of [car, home, education, business, debt_consolidation,"),
        ("purpose", 3, "expected string, got 3"),
        ("application_id", ABSENT, "required"),
        ("application_id", None, "must not be null"),
        ("application_id", "b-1", "does not match '^a-[0-9]+$'"),
        ("applied_at", "yesterday", "expected an ISO 8601 date-time, got 'yesterday'"),
        ("defaulted", 1, "not an input: the target is sent later, as an outcome"),
        ("favourite_colour", "blue", "unknown field"),
    ],
    ids=lambda v: str(v)[:24],
)
def test_each_bad_value_has_its_reason(
    checker: RecordChecker, valid: list[dict[str, Any]], field: str, value: object, reason: str
) -> None:
    record = {k: v for k, v in valid[0].items() if k != field}
    if value is not ABSENT:
        record[field] = value
    for batch in ([record], [*valid[:40], record]):  # value by value, and column by column
        found = problems(checker, batch)
        assert len(found) == 1
        path, said = found[0]
        assert path == f"records[{len(batch) - 1}].{field}"
        assert said.startswith(reason)


def test_every_problem_is_reported_at_once_in_contract_order(checker: RecordChecker) -> None:
    record = {"income": "lots", "age": 17, "purpose": "crypto", "extra": 1}
    found = problems(checker, [record])
    paths = [path for path, _ in found]
    assert paths[:4] == [
        "records[0].application_id",
        "records[0].income",
        "records[0].age",
        "records[0].debt",
    ]
    assert ("records[0].income", "expected number, got 'lots'") in found
    assert found[paths.index("records[0].purpose")][1].startswith("not one of [car, home")
    assert paths[-1] == "records[0].extra"
    assert ("records[0].employment_years", "required") not in found  # nullable: may be absent


def test_problems_of_many_records_are_sorted_by_record(
    checker: RecordChecker, valid: list[dict[str, Any]]
) -> None:
    records = [dict(r) for r in valid[:50]]
    records[30]["age"] = 5
    records[7]["region"] = "mars"
    records[7]["income"] = -1
    assert problems(checker, records) == [
        ("records[7].income", "below minimum 0"),
        ("records[7].region", "not one of [north, south, east, west]"),
        ("records[30].age", "below minimum 18"),
    ]


@pytest.mark.parametrize(
    ("records", "path", "reason"),
    [
        ([], "records", "empty; send at least one record"),
        ({"income": 1}, "records", "expected a list, got an object"),
        (None, "records", "expected a list, got null"),
        (["x"], "records[0]", "expected object, got 'x'"),
    ],
    ids=["empty", "object", "null", "not-objects"],
)
def test_the_records_list_itself(
    checker: RecordChecker, records: object, path: str, reason: str
) -> None:
    assert problems(checker, records)[0] == (path, reason)


def test_nullable_fields_may_be_null_or_absent_and_integral_floats_are_integers(
    checker: RecordChecker, valid: list[dict[str, Any]]
) -> None:
    record = {k: v for k, v in valid[0].items() if k not in ("region", "credit_score")}
    record["employment_years"] = None
    record["age"] = 41.0
    record["applied_at"] = "2024-03-01T10:00:00Z"
    assert checker.check([record]) == [record]


def test_a_flood_of_problems_is_cut_but_counted(checker: RecordChecker) -> None:
    with pytest.raises(InvalidRecords) as caught:
        checker.check([{"income": "x"}] * 50)
    error = caught.value
    assert len(error.problems) == MAX_PROBLEMS
    assert error.total == 50 * 12  # 11 required fields and the bad income per record
    body = error.to_dict()
    assert body["errors"][0] == {"path": "records[0].application_id", "reason": "required"}
    assert body["total"] == error.total
    assert http_status(error) == 422


POOLS: dict[str, list[object]] = {
    "number": [1, 2.5, 0, -3.0, float("nan"), INF, "1", None, ABSENT, True, 10**400, 7e6],
    "integer": [1, 30, 30.0, 30.5, -2, 2**70, float("nan"), "x", None, ABSENT, False],
    "category": ["car", "home", "north", "crypto", "", 1, None, ABSENT],
    "string": ["a-1", "a-22", "b-1", "a-", 5, None, ABSENT],
    "datetime": ["2024-01-01", "2024-01-01T00:00:00+02:00", "soon", 3, None, ABSENT],
}


def _edges(low: float, high: float) -> list[object]:
    """Values at, inside and just outside a numeric rule's bounds (as ints when integral)."""
    edges = [low, high, (low + high) / 2, low - 1, high + 1]
    return [int(v) if float(v).is_integer() and abs(v) < 2**62 else v for v in edges]


@pytest.mark.parametrize("rows", [3, 40], ids=["python", "numpy"])
def test_column_tests_agree_with_the_per_value_reasons(checker: RecordChecker, rows: int) -> None:
    """The fast whole-column test accepts exactly the columns with no failing value."""
    rng = random.Random(0)
    for rule, trial in itertools.product(checker.fields, range(60)):
        pool = [*POOLS.get(rule.kind, POOLS["string"]), *_edges(rule.low, rule.high)]
        pool += sorted(rule.allowed or ())
        good = [v for v in pool if rule.reason(v) is None]
        values = [rng.choice(good) for _ in range(rows)]
        if trial % 2:
            values[rng.randrange(rows)] = rng.choice(pool)
        expected = all(rule.reason(v) is None for v in values)
        assert rule.accepts(values) == expected, (rule.name, values)
