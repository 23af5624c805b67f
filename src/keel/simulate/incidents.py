"""Scripted incidents: small frozen declarations with stable string kinds.

Each incident is placed in time by ``at``: a ``datetime`` (naive means UTC) or a fraction in
[0, 1] of the stream's window. It affects the rows whose ``applied_at`` is at or after that moment
and none before. The declarations hold no logic; ``keel.simulate.effects`` applies them, so stored
scenarios survive refactoring (``kind`` strings never change).

Two families differ in what they touch:

* the world (``covariate_drift``, ``new_category``, ``concept_drift``) changes what applicants
  look like or how they behave, so labels follow it;
* the pipe (``unit_change``, ``null_spike``, ``renamed_column``, ``label_delay``) corrupts what
  is observed after the labels were drawn, as a broken upstream feed would.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, ClassVar

from keel.errors import InvalidInput
from keel.simulate import _checks
from keel.simulate.loan import CATEGORIES, FEATURES, REFERENCE_SD, SCHEMA
from keel.simulate.truth import SHIFTED_CONCEPT, Concept

At = datetime | float
"""A moment in the stream: a datetime, or a fraction of the window (0 = start, 1 = end)."""

FLOAT_FEATURES = tuple(name for name in FEATURES if SCHEMA[name] == SCHEMA["income"])


def _check_at(name: str, value: object) -> At:
    if isinstance(value, datetime):
        return value
    return _checks.check_fraction(name, value)


def _check_column(name: str, value: object, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise InvalidInput(f"'{name}' must be one of {list(allowed)}; got {value!r}", path=name)
    return value


def _check_new_name(name: str, value: object, taken: tuple[str, ...]) -> str:
    if not isinstance(value, str) or not value or value in taken:
        raise InvalidInput(
            f"'{name}' must be a non-empty name not in {list(taken)}; got {value!r}", path=name
        )
    return value


@dataclass(frozen=True)
class UnitChange:
    """``column`` is multiplied by ``factor`` from ``at`` on (income in thousands: 0.001)."""

    kind: ClassVar[str] = "unit_change"
    column: str
    factor: float
    at: At = 0.0

    def __post_init__(self) -> None:
        _check_column("unit_change.column", self.column, FLOAT_FEATURES)
        _checks.check_finite("unit_change.factor", self.factor, positive=True)
        _check_at("unit_change.at", self.at)


@dataclass(frozen=True)
class RenamedColumn:
    """``column`` arrives as ``new_name`` from ``at`` on; chunks never mix the two schemas."""

    kind: ClassVar[str] = "renamed_column"
    column: str
    new_name: str
    at: At = 0.0

    def __post_init__(self) -> None:
        _check_column("renamed_column.column", self.column, FEATURES)
        _check_new_name("renamed_column.new_name", self.new_name, tuple(SCHEMA))
        _check_at("renamed_column.at", self.at)


@dataclass(frozen=True)
class NewCategory:
    """``column`` takes the unseen ``value`` in a ``share`` of rows from ``at`` on."""

    kind: ClassVar[str] = "new_category"
    column: str
    value: str
    share: float
    at: At = 0.0

    def __post_init__(self) -> None:
        _check_column("new_category.column", self.column, tuple(CATEGORIES))
        taken = CATEGORIES.get(self.column, ())
        _check_new_name("new_category.value", self.value, taken)
        _checks.check_fraction("new_category.share", self.share)
        _check_at("new_category.at", self.at)


@dataclass(frozen=True)
class NullSpike:
    """A ``rate`` share of ``column`` goes missing from ``at`` until ``until`` (None: the end)."""

    kind: ClassVar[str] = "null_spike"
    column: str
    rate: float
    at: At = 0.0
    until: At | None = None

    def __post_init__(self) -> None:
        _check_column("null_spike.column", self.column, FEATURES)
        _checks.check_fraction("null_spike.rate", self.rate)
        _check_at("null_spike.at", self.at)
        if self.until is not None:
            _check_at("null_spike.until", self.until)


@dataclass(frozen=True)
class CovariateDrift:
    """A gradual shift, linear from ``at`` to ``until`` and held after.

    Numeric columns move by ``shift`` standard deviations (``REFERENCE_SD``), clipped to their
    range; categorical columns move a ``share`` of rows to the existing category ``value``.
    """

    kind: ClassVar[str] = "covariate_drift"
    column: str
    at: At = 0.0
    until: At = 1.0
    shift: float = 0.0
    value: str | None = None
    share: float = 0.0

    def __post_init__(self) -> None:
        allowed = (*REFERENCE_SD, *CATEGORIES)
        _check_column("covariate_drift.column", self.column, allowed)
        _check_at("covariate_drift.at", self.at)
        _check_at("covariate_drift.until", self.until)
        _checks.check_finite("covariate_drift.shift", self.shift)
        _checks.check_fraction("covariate_drift.share", self.share)
        if self.column in CATEGORIES:
            _check_column("covariate_drift.value", self.value, CATEGORIES[self.column])
        elif self.value is not None:
            raise InvalidInput(
                f"'covariate_drift.value' must be None for numeric column {self.column!r}; "
                f"got {self.value!r}",
                path="covariate_drift.value",
                hint="use 'shift' (in standard deviations) for numeric columns",
            )


@dataclass(frozen=True)
class ConceptDrift:
    """The ground truth becomes ``concept`` from ``at`` on: same inputs, other default rates."""

    kind: ClassVar[str] = "concept_drift"
    at: At = 0.0
    concept: Concept = field(default=SHIFTED_CONCEPT)

    def __post_init__(self) -> None:
        _check_at("concept_drift.at", self.at)
        if not isinstance(self.concept, Concept):
            raise InvalidInput(
                f"'concept_drift.concept' must be a Concept; got {self.concept!r}",
                path="concept_drift.concept",
            )


@dataclass(frozen=True)
class LabelDelay:
    """Labels of rows applied within ``delay`` of the stream's end are withheld (null).

    ``keel.simulate.withheld_labels`` emits them later, keyed by ``application_id``.
    """

    kind: ClassVar[str] = "label_delay"
    delay: timedelta

    def __post_init__(self) -> None:
        if not isinstance(self.delay, timedelta) or self.delay <= timedelta(0):
            raise InvalidInput(
                f"'label_delay.delay' must be a positive timedelta; got {self.delay!r}",
                path="label_delay.delay",
            )


Incident = (
    UnitChange
    | RenamedColumn
    | NewCategory
    | NullSpike
    | CovariateDrift
    | ConceptDrift
    | LabelDelay
)

KINDS: Mapping[str, type[Incident]] = MappingProxyType(
    {
        cls.kind: cls
        for cls in (
            UnitChange,
            RenamedColumn,
            NewCategory,
            NullSpike,
            CovariateDrift,
            ConceptDrift,
            LabelDelay,
        )
    }
)
"""Each stable ``kind`` string and the declaration it names."""


def incident_to_dict(incident: Incident) -> dict[str, Any]:
    """A JSON-ready form: ``kind`` plus fields; datetimes as ISO text, delays in seconds."""
    body: dict[str, Any] = {"kind": incident.kind}
    for item in fields(incident):
        body[item.name] = _plain(getattr(incident, item.name))
    return body


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Concept):
        return {item.name: _plain(getattr(value, item.name)) for item in fields(value)}
    if isinstance(value, Mapping):
        return dict(value)
    return value


def incident_from_dict(body: Mapping[str, Any]) -> Incident:
    """The inverse of ``incident_to_dict``; unknown kinds or fields raise ``InvalidInput``."""
    values = dict(body)
    kind = values.pop("kind", None)
    if kind not in KINDS:
        raise InvalidInput(f"'kind' must be one of {sorted(KINDS)}; got {kind!r}", path="kind")
    cls = KINDS[kind]
    known = {item.name for item in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise InvalidInput(
            f"'{kind}' takes fields {sorted(known)}; got unknown {unknown}", path=kind
        )
    try:
        return cls(**{name: _revive(name, value) for name, value in values.items()})
    except TypeError as exc:  # a required field is missing
        raise InvalidInput(f"'{kind}' is incomplete: {exc}", path=kind) from exc


def _revive(name: str, value: Any) -> Any:
    if name in ("at", "until") and isinstance(value, str):
        return _parse_moment(f"{name}", value)
    if name == "delay" and isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if name == "concept" and isinstance(value, Mapping):
        return _concept(value)
    return value


def _parse_moment(name: str, text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(
            f"'{name}' must be an ISO datetime or a fraction; got {text!r}", path=name
        ) from exc


def _concept(body: Mapping[str, Any]) -> Concept:
    known = {item.name for item in fields(Concept)}
    unknown = sorted(set(body) - known)
    if unknown:
        raise InvalidInput(
            f"'concept' takes fields {sorted(known)}; got unknown {unknown}", path="concept"
        )
    values: dict[str, Any] = {
        name: MappingProxyType(dict(value)) if isinstance(value, Mapping) else value
        for name, value in body.items()
    }
    return Concept(**values)
