"""Chain verification as a pure function over events."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from keel.audit.chain import verify_chain
from keel.audit.events import GENESIS_HASH, AuditEvent, ChainHead, canonical_json, event_hash


def make_chain(n: int) -> list[AuditEvent]:
    events: list[AuditEvent] = []
    prev = GENESIS_HASH
    for seq in range(1, n + 1):
        details = canonical_json({"n": seq})
        at = f"2026-01-01T00:00:{seq:02d}.000000+00:00"
        digest = event_hash(
            seq=seq,
            at=at,
            actor="ana",
            action="a",
            subject="s",
            details_json=details,
            prev_hash=prev,
        )
        events.append(AuditEvent(seq, at, "ana", "a", "s", details, prev, digest))
        prev = digest
    return events


def head_of(events: list[AuditEvent]) -> ChainHead:
    return ChainHead(events[-1].seq, events[-1].hash) if events else ChainHead(0, GENESIS_HASH)


def test_an_intact_chain_verifies() -> None:
    events = make_chain(5)
    report = verify_chain(events, head_of(events))
    assert report.ok
    assert report.events == 5
    assert report.to_dict()["first_bad_event"] is None


def test_an_empty_chain_verifies() -> None:
    assert verify_chain([], ChainHead(0, GENESIS_HASH)).ok


def test_canonical_json_ignores_key_order() -> None:
    assert canonical_json({"b": 1, "a": 2}) == canonical_json({"a": 2, "b": 1})


def test_hash_fields_cannot_be_shifted_between_each_other() -> None:
    base = {"seq": 1, "at": "t", "actor": "ab", "action": "c", "subject": "s"}
    shifted = base | {"actor": "a", "action": "bc"}
    assert event_hash(**base, details_json="{}", prev_hash="p") != event_hash(
        **shifted, details_json="{}", prev_hash="p"
    )


@pytest.mark.parametrize(
    ("mutate", "first_bad"),
    [
        (lambda ev: ev.__setitem__(2, dataclasses.replace(ev[2], actor="eve")), 3),
        (lambda ev: ev.__setitem__(0, dataclasses.replace(ev[0], details_json="{}")), 1),
        (lambda ev: ev.pop(1), 2),
        (lambda ev: ev.insert(1, ev.pop(2)), 2),
    ],
    ids=["edited", "edited-first", "deleted", "reordered"],
)
def test_tampering_names_the_first_bad_event(
    mutate: Callable[[list[AuditEvent]], object], first_bad: int
) -> None:
    events = make_chain(5)
    head = head_of(events)
    mutate(events)
    report = verify_chain(events, head)
    assert not report.ok
    assert report.first_bad_seq == first_bad


def test_a_deleted_tail_is_caught_by_the_head() -> None:
    events = make_chain(5)
    head = head_of(events)
    report = verify_chain(events[:4], head)
    assert not report.ok
    assert report.first_bad_seq == 5


def test_a_rewritten_event_breaks_the_next_link() -> None:
    """Recomputing an edited event's own hash still breaks the following link."""
    events = make_chain(3)
    head = head_of(events)
    forged = dataclasses.replace(events[1], actor="eve")
    events[1] = dataclasses.replace(forged, hash=forged.expected_hash())
    report = verify_chain(events, head)
    assert not report.ok
    assert report.first_bad_seq == 3
