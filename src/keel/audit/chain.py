"""Verification of the audit hash chain."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from keel.audit.events import GENESIS_HASH, AuditEvent, ChainHead


@dataclass(frozen=True)
class ChainReport:
    """The outcome of a verification; ``first_bad_seq`` names the first event that fails."""

    ok: bool
    events: int
    head_hash: str
    first_bad_seq: int | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": self.events,
            "head_hash": self.head_hash,
            "first_bad_event": self.first_bad_seq,
            "reason": self.reason,
        }


def verify_chain(events: Iterable[AuditEvent], head: ChainHead) -> ChainReport:
    """Walk events in sequence order and report the first one that was edited, removed or moved.

    Checks, per event: consecutive sequence numbers from 1, the link to the previous hash, and the
    hash over its own content; then that the last event matches the separately stored head.
    """
    expected_prev, expected_seq, count = GENESIS_HASH, 1, 0
    for event in events:
        problem = _problem(event, expected_seq, expected_prev)
        if problem:
            return ChainReport(False, count, expected_prev, expected_seq, problem)
        expected_prev, expected_seq, count = event.hash, event.seq + 1, count + 1
    if head.seq != count or head.hash != expected_prev:
        missing = count + 1 if head.seq > count else head.seq
        reason = f"the chain ends at event {count} but its head records event {head.seq}"
        return ChainReport(False, count, expected_prev, missing, reason)
    return ChainReport(True, count, expected_prev)


def _problem(event: AuditEvent, expected_seq: int, expected_prev: str) -> str | None:
    if event.seq != expected_seq:
        return f"event {expected_seq} is missing (next stored event is {event.seq})"
    if event.prev_hash != expected_prev:
        return f"event {event.seq} does not link to the event before it"
    if event.hash != event.expected_hash():
        return f"event {event.seq} was modified after it was written"
    return None
