"""The one error translator: every problem of a file, each with its path, expectation and input."""

from __future__ import annotations

from typing import Annotated, Literal

import pytest
from pydantic import Discriminator, Field, Tag, ValidationError, field_validator

from keel.errors import ConfigError
from keel.schema import Invalid, Problem, SchemaError, Strict, config_error, validate_section


class Chunk(Strict):
    rows: int | None = Field(default=None, ge=50)
    period: str | None = None


class Metric(Strict):
    kind: Literal["metric"] = "metric"
    min: float


class Latency(Strict):
    kind: Literal["latency"]
    p99_ms: float = Field(gt=0)


class Section(Strict):
    chunk: Chunk = Field(default_factory=lambda: Chunk(rows=100))
    positive: int | bool = 1
    gates: list[Annotated[Metric | Latency, Field(discriminator="kind")]] = Field(
        default_factory=list
    )
    steps: tuple[str, ...] = ()

    @field_validator("steps")
    @classmethod
    def _no_repeats(cls, steps: tuple[str, ...]) -> tuple[str, ...]:
        for index, step in enumerate(steps):
            if step in steps[:index]:
                raise Invalid(f"{step!r} appears twice", at=f"[{index}]")
        return steps


def problems(data: object, section: str = "monitoring") -> list[Problem]:
    with pytest.raises(SchemaError) as caught:
        validate_section(Section, data, section=section)  # type: ignore[arg-type]
    return list(caught.value.problems)


def test_an_unknown_key_names_its_path_and_the_known_keys() -> None:
    [found] = problems({"chunk": {"rowz": 500}})
    assert found.path == "monitoring.chunk.rowz"
    assert found.expected.startswith("unknown field")
    assert "known keys are rows, period" in found.expected
    assert found.got is None


def test_every_problem_is_reported_in_one_error() -> None:
    with pytest.raises(ConfigError) as caught:
        validate_section(Section, {"chunk": {"rows": 5}, "colour": 1}, section="s")
    error = caught.value
    assert error.path == "s.chunk.rows"
    assert "s.chunk.rows: input should be greater than or equal to 50 (got 5)" in error.message
    assert "s.colour: unknown field" in error.message
    assert "\n" not in error.message


def test_the_members_of_a_union_make_one_problem() -> None:
    [found] = problems({"positive": [1]})
    assert found.path == "monitoring.positive"
    assert "valid integer" in found.expected and "valid boolean" in found.expected
    assert found.got == "[1]"


def test_tags_of_a_tagged_union_are_not_part_of_the_path() -> None:
    gates = [{"kind": "metric", "min": 0.7}, {"kind": "latency", "p99_ms": 0}]
    [found] = problems({"gates": gates})
    assert found.path == "monitoring.gates.1.p99_ms"
    [unknown] = problems({"gates": [{"kind": "latency", "p99_ms": 5, "min": 1}]})
    assert unknown.path == "monitoring.gates.0.min"
    assert "known keys are kind, p99_ms" in unknown.expected


def test_a_validator_names_a_deeper_field_with_invalid() -> None:
    [found] = problems({"steps": ["a", "b", "a"]})
    assert found.path == "monitoring.steps[2]"
    assert found.expected == "'a' appears twice"


def test_a_missing_field_says_so() -> None:
    with pytest.raises(ValidationError) as caught:
        Metric.model_validate({})
    [found] = config_error(caught.value, Metric, section="release.gates.0").problems
    assert (found.path, found.expected) == ("release.gates.0.min", "required field is missing")


def test_long_inputs_are_shortened() -> None:
    [found] = problems({"chunk": {"period": ["x" * 500]}})
    assert found.got is not None and len(found.got) <= 80 and found.got.endswith("...")


def test_problems_of_several_files_are_grouped_by_file() -> None:
    error = SchemaError(
        [
            Problem("a", "unknown field", None, "keel.yaml"),
            Problem("b", "required field is missing", None, "keel.yaml"),
            Problem("contract.columns", "required field is missing", None, "contract.yaml"),
        ]
    )
    assert error.message == (
        "keel.yaml: a: unknown field; b: required field is missing;"
        " contract.yaml: contract.columns: required field is missing"
    )
    assert (error.source, error.path) == ("keel.yaml", "a")


def test_a_problem_has_a_json_form_and_one_line() -> None:
    found = Problem("monitoring.chunk.rows", "input should be an integer", "'x'", "keel.yaml")
    assert found.line() == "keel.yaml: monitoring.chunk.rows: input should be an integer (got 'x')"
    assert found.to_dict() == {
        "source": "keel.yaml",
        "path": "monitoring.chunk.rows",
        "expected": "input should be an integer",
        "got": "'x'",
    }


def test_a_callable_discriminator_tag_is_dropped_too() -> None:
    def pick(value: object) -> str:
        return "file" if isinstance(value, dict) and "file" in value else "inline"

    class Holder(Strict):
        contract: Annotated[
            Annotated[Chunk, Tag("inline")] | Annotated[Metric, Tag("file")], Discriminator(pick)
        ]

    with pytest.raises(ValidationError) as caught:
        Holder.model_validate({"contract": {"rows": 1}})
    [found] = config_error(caught.value, Holder).problems
    assert found.path == "contract.rows"


def test_strict_refuses_unknown_keys_and_changes() -> None:
    chunk = Chunk(rows=60)
    with pytest.raises(ValidationError):
        chunk.rows = 70  # type: ignore[misc]
    with pytest.raises(ValidationError):
        Chunk.model_validate({"rows": 60, "x": 1})
