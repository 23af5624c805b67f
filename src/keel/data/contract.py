"""The ``contract:`` section of keel.yaml: what every ingested column must look like.

The models are frozen and reject unknown keys so that a typo in keel.yaml fails loudly instead of
silently disabling a check. ``DataSchema`` adds the project-level column roles (entity, timestamp,
target) that the validation functions need.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import BeforeValidator, Field, PlainSerializer, ValidationError, model_validator

from keel.errors import ConfigError
from keel.schema import Strict, config_error

RESERVED_PREFIX = "_keel_"
"""Column names with this prefix are reserved for validation output (reasons, row index)."""

CONTRACT_HINT = "fix the contract section of keel.yaml (see docs/configuration.md)"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(w|d|h|m|s)\s*$")
_UNIT_SECONDS = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}


class ColumnType(StrEnum):
    """The logical types a contract column can declare."""

    INT = "int"
    FLOAT = "float"
    STRING = "string"
    CATEGORY = "category"
    BOOL = "bool"
    DATETIME = "datetime"


NUMERIC_TYPES = frozenset({ColumnType.INT, ColumnType.FLOAT})
TEXT_TYPES = frozenset({ColumnType.STRING, ColumnType.CATEGORY})


def parse_duration(value: object) -> timedelta:
    """Read ``365d``, ``12h``, ``30m``, ``45s``, ``2w`` (or a timedelta, or seconds)."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    match = _DURATION.match(str(value))
    if match is None:
        raise ValueError(f"expected a duration like '365d', '12h', '30m', got {value!r}")
    return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def format_duration(value: timedelta) -> str:
    """Write a timedelta in the largest whole unit so that YAML output reads like the input."""
    seconds = value.total_seconds()
    for unit in ("w", "d", "h", "m"):
        size = _UNIT_SECONDS[unit]
        if seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


Duration = Annotated[
    timedelta, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)
]


class ColumnSpec(Strict):
    """One declared column: its type and the row-level checks that apply to it."""

    type: ColumnType
    nullable: bool = False
    min: float | None = None
    max: float | None = None
    values: tuple[str, ...] | None = None
    regex: str | None = None
    unique: bool = False
    coerce: bool = False
    format: str | None = None

    @model_validator(mode="after")
    def _check_consistent(self) -> Self:
        """Refuse specs whose checks cannot apply to the declared type."""
        for problem in _spec_problems(self):
            raise ValueError(problem)
        return self

    @property
    def is_numeric(self) -> bool:
        """True for int and float columns, the ones that take min/max and a median check."""
        return self.type in NUMERIC_TYPES


def _spec_problems(spec: ColumnSpec) -> list[str]:
    """Every inconsistency in a column spec, as a message that says how to fix it."""
    problems: list[str] = []
    if (spec.min is not None or spec.max is not None) and not spec.is_numeric:
        problems.append(f"min/max apply to int and float columns only, not {spec.type.value}")
    if spec.min is not None and spec.max is not None and spec.min > spec.max:
        problems.append(f"min ({spec.min:g}) must not exceed max ({spec.max:g})")
    if spec.values is not None and spec.type not in TEXT_TYPES:
        problems.append(f"values apply to category and string columns only, not {spec.type.value}")
    if spec.values is not None and len(spec.values) == 0:
        problems.append("values must list at least one allowed value")
    if spec.values is not None and len(set(spec.values)) != len(spec.values):
        problems.append("values must not repeat")
    if spec.regex is not None:
        problems.extend(_regex_problems(spec))
    if spec.coerce and spec.type in TEXT_TYPES:
        problems.append("coerce applies to int, float, bool and datetime columns only")
    if spec.format is not None and spec.type is not ColumnType.DATETIME:
        problems.append("format applies to datetime columns only")
    return problems


def _regex_problems(spec: ColumnSpec) -> list[str]:
    """The regex must compile and only string-like columns can be matched against it."""
    if spec.type not in TEXT_TYPES:
        return [f"regex applies to category and string columns only, not {spec.type.value}"]
    try:
        re.compile(spec.regex or "")
    except re.error as exc:
        return [f"regex {spec.regex!r} does not compile: {exc}"]
    return []


class Contract(Strict):
    """The declared columns and the batch-level limits of a project's data."""

    columns: dict[str, ColumnSpec] = Field(min_length=1)
    max_reject_fraction: float = Field(default=0.05, ge=0.0, le=1.0)
    unit_change_factor: float = Field(default=50.0, gt=1.0)
    max_age: Duration | None = None
    max_future: Duration | None = None

    @model_validator(mode="after")
    def _check_names(self) -> Self:
        """Reserved or empty column names would collide with validation output."""
        for name in self.columns:
            if not name.strip():
                raise ValueError("column names must not be empty")
            if name.startswith(RESERVED_PREFIX):
                raise ValueError(f"column name {name!r} uses the reserved prefix {RESERVED_PREFIX}")
        return self

    @classmethod
    def parse(cls, raw: Any, *, source: str | None = None) -> Contract:
        """Build a contract from keel.yaml data; every problem in one ConfigError."""
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            raise config_error(
                exc, cls, section="contract", source=source, hint=CONTRACT_HINT
            ) from exc


@dataclass(frozen=True)
class DataSchema:
    """A contract plus the roles of the entity id, event timestamp and target columns."""

    contract: Contract
    entity: str | None = None
    timestamp: str | None = None
    target: str | None = None

    def __post_init__(self) -> None:
        """The timestamp column, when declared, must be a datetime column."""
        spec = self.contract.columns.get(self.timestamp or "")
        if spec is not None and spec.type is not ColumnType.DATETIME:
            raise ConfigError(
                f"timestamp column '{self.timestamp}' is declared as {spec.type.value}",
                path=f"contract.columns.{self.timestamp}.type",
                hint="declare it as {type: datetime} (with coerce: true for text timestamps)",
            )

    @property
    def specs(self) -> dict[str, ColumnSpec]:
        """Declared columns plus an implicit datetime spec for an undeclared timestamp column."""
        specs = dict(self.contract.columns)
        if self.timestamp is not None and self.timestamp not in specs:
            specs[self.timestamp] = ColumnSpec(type=ColumnType.DATETIME, coerce=True)
        return specs

    @property
    def optional_columns(self) -> frozenset[str]:
        """Columns a feature batch may lack: the target arrives later with the labels."""
        return frozenset({self.target} if self.target else ())

    @property
    def passthrough(self) -> tuple[str, ...]:
        """Role columns without a spec: kept as they arrive, never type-checked."""
        names = (self.entity, self.target)
        return tuple(n for n in names if n is not None and n not in self.specs)

    @property
    def expected(self) -> tuple[str, ...]:
        """Every column a batch may carry, in contract order."""
        return (*self.specs, *self.passthrough)
