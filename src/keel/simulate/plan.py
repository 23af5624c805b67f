"""A scenario resolved onto the stream's microsecond axis, checked once before any row is made."""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from keel.errors import InvalidInput
from keel.simulate import _checks
from keel.simulate.incidents import (
    KINDS,
    At,
    ConceptDrift,
    CovariateDrift,
    Incident,
    LabelDelay,
    NewCategory,
    NullSpike,
    RenamedColumn,
    UnitChange,
    incident_to_dict,
)
from keel.simulate.loan import Placement
from keel.simulate.truth import Concept

BLOCK_ROWS = 65_536
"""Rows per unit of randomness. Changing it changes every simulated dataset: keep it fixed."""

_OPEN_END = 2**62


@dataclass(frozen=True)
class Timed:
    """An incident with its moments in microseconds and the key of its own random stream."""

    incident: Incident
    at_us: int
    until_us: int
    key: int


@dataclass(frozen=True)
class Plan:
    """Everything the generator needs, already validated."""

    seed: int
    rows: int
    start_us: int
    end_us: int
    world: tuple[Timed, ...]
    concepts: tuple[tuple[int, Concept], ...]
    pipe: tuple[Timed, ...]
    renames: tuple[Timed, ...]
    withhold_from_us: int | None
    id_offset: int = 0

    @property
    def blocks(self) -> int:
        return -(-self.rows // BLOCK_ROWS)

    def placement(self, block: int) -> Placement:
        first = block * BLOCK_ROWS
        size = min(BLOCK_ROWS, self.rows - first)
        span = self.end_us - self.start_us
        return Placement(first, size, self.rows, self.start_us, span, self.id_offset)

    def first_block_at(self, moment_us: int) -> int:
        """The first block that can hold a row at or after ``moment_us`` (rows fill equal slots)."""
        share = (moment_us - self.start_us) / (self.end_us - self.start_us)
        row = max(int(share * self.rows) - 1, 0)
        return min(row // BLOCK_ROWS, max(self.blocks - 1, 0))


def _key(incident: Incident) -> int:
    """A stable seed key from the declaration itself, so reordering incidents changes nothing."""
    text = json.dumps(incident_to_dict(incident), sort_keys=True, default=str)
    return zlib.crc32(text.encode())


def _moment(at: At, start_us: int, end_us: int) -> int:
    if isinstance(at, datetime):
        return _checks.to_micros(_checks.naive_utc("at", at))
    return start_us + round(at * (end_us - start_us))


def _timed(incident: Incident, start_us: int, end_us: int) -> Timed:
    at = getattr(incident, "at", 0.0)
    until = getattr(incident, "until", None)
    until_us = _OPEN_END if until is None else _moment(until, start_us, end_us)
    return Timed(incident, _moment(at, start_us, end_us), until_us, _key(incident))


def _check_incidents(incidents: Sequence[object]) -> tuple[Incident, ...]:
    allowed = tuple(KINDS.values())
    for position, incident in enumerate(incidents):
        if not isinstance(incident, allowed):
            raise InvalidInput(
                f"'incidents[{position}]' must be one of {sorted(KINDS)}; got {incident!r}",
                path=f"incidents[{position}]",
            )
    found = tuple(incident for incident in incidents if isinstance(incident, allowed))
    _check_unique([i for i in found if isinstance(i, LabelDelay)], "label_delay")
    renames = [i for i in found if isinstance(i, RenamedColumn)]
    _check_unique_by([i.column for i in renames], "renamed_column.column")
    _check_unique_by([i.new_name for i in renames], "renamed_column.new_name")
    return found


def _check_unique(found: Sequence[object], kind: str) -> None:
    if len(found) > 1:
        raise InvalidInput(
            f"'incidents' may hold at most one {kind}; got {len(found)}", path="incidents"
        )


def _check_unique_by(names: Sequence[str], path: str) -> None:
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InvalidInput(f"'{path}' must differ between incidents; {repeated} repeat", path=path)


def _concepts(timed: Sequence[Timed]) -> tuple[tuple[int, Concept], ...]:
    pairs = [(t.at_us, t.incident.concept) for t in timed if isinstance(t.incident, ConceptDrift)]
    return tuple(sorted(pairs, key=lambda pair: pair[0]))


def _withhold_from(timed: Sequence[Timed], end_us: int) -> int | None:
    delays = [t.incident.delay for t in timed if isinstance(t.incident, LabelDelay)]
    return end_us - _checks.to_micros_delta(delays[0]) if delays else None


MAX_ID = 9_999_999_999
"""The largest entity id number: ids are 'a-' and ten digits."""


def make_plan(
    *,
    rows: int,
    seed: int,
    start: datetime,
    end: datetime,
    incidents: Sequence[Incident],
    id_offset: int = 0,
) -> Plan:
    """Check the arguments and place every incident on the time axis."""
    _checks.check_count("rows", rows, minimum=1)
    _checks.check_count("seed", seed, minimum=0)
    _checks.check_count("id_offset", id_offset, minimum=0)
    if id_offset + rows > MAX_ID:
        raise InvalidInput(
            f"'id_offset' + 'rows' must be at most {MAX_ID:,} (ids have ten digits);"
            f" got {id_offset + rows:,}",
            path="id_offset",
        )
    first, last = _checks.check_window(start, end)
    start_us, end_us = _checks.to_micros(first), _checks.to_micros(last)
    timed = [_timed(i, start_us, end_us) for i in _check_incidents(incidents)]
    renames = [t for t in timed if isinstance(t.incident, RenamedColumn)]
    return Plan(
        seed=seed,
        rows=rows,
        start_us=start_us,
        end_us=end_us,
        world=tuple(t for t in timed if isinstance(t.incident, CovariateDrift | NewCategory)),
        concepts=_concepts(timed),
        pipe=tuple(t for t in timed if isinstance(t.incident, UnitChange | NullSpike)),
        renames=tuple(sorted(renames, key=lambda t: t.at_us)),
        withhold_from_us=_withhold_from(timed, end_us),
        id_offset=id_offset,
    )
