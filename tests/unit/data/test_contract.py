from __future__ import annotations

from datetime import timedelta

import pytest
import yaml
from pydantic import ValidationError

from keel.data import ColumnSpec, Contract, DataSchema
from keel.errors import ConfigError


def test_example_contract_parses(contract: Contract) -> None:
    assert contract.columns["age"].coerce
    assert contract.max_age == timedelta(days=365)


def test_contract_round_trips_through_json(contract: Contract) -> None:
    assert Contract.model_validate(contract.model_dump(mode="json")) == contract


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"type": "int", "min": 5, "max": 1}, "must not exceed"),
        ({"type": "int", "values": ["a"]}, "values apply"),
        ({"type": "string", "regex": "("}, "does not compile"),
        ({"type": "float", "regex": "x"}, "regex applies"),
        ({"type": "string", "min": 1}, "min/max apply"),
        ({"type": "category", "values": []}, "at least one"),
        ({"type": "category", "values": ["a", "a"]}, "must not repeat"),
        ({"type": "string", "coerce": True}, "coerce applies"),
        ({"type": "int", "bogus": 1}, "Extra inputs"),
    ],
    ids=[
        "min-gt-max",
        "values-on-int",
        "bad-regex",
        "regex-on-float",
        "min-on-string",
        "empty-values",
        "repeated-values",
        "coerce-on-string",
        "unknown-key",
    ],
)
def test_invalid_column_spec_is_refused(body: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        ColumnSpec.model_validate(body)


def test_parse_reports_field_path(contract_yaml: str) -> None:
    raw = yaml.safe_load(contract_yaml)
    raw["columns"]["age"]["min"] = 500
    with pytest.raises(ConfigError) as info:
        Contract.parse(raw, source="keel.yaml")
    assert info.value.path == "contract.columns.age"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("365d", timedelta(days=365)), ("12h", timedelta(hours=12)), ("2w", timedelta(weeks=2))],
    ids=["days", "hours", "weeks"],
)
def test_duration_parses(text: str, expected: timedelta) -> None:
    contract = Contract.model_validate({"columns": {"x": {"type": "int"}}, "max_age": text})
    assert contract.max_age == expected
    assert contract.model_dump(mode="json")["max_age"] == text


def test_bad_duration_is_refused() -> None:
    with pytest.raises(ValidationError, match="duration"):
        Contract.model_validate({"columns": {"x": {"type": "int"}}, "max_age": "soon"})


def test_reserved_column_name_is_refused() -> None:
    with pytest.raises(ValidationError, match="reserved"):
        Contract.model_validate({"columns": {"_keel_x": {"type": "int"}}})


def test_timestamp_must_be_datetime() -> None:
    contract = Contract.model_validate({"columns": {"t": {"type": "int"}}})
    with pytest.raises(ConfigError, match="timestamp"):
        DataSchema(contract, timestamp="t")


def test_target_is_optional(schema: DataSchema) -> None:
    assert schema.optional_columns == frozenset({"defaulted"})
