"""Audit events and the hash that links each one to its predecessor."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of the first event of every chain."""


def canonical_json(details: Mapping[str, Any]) -> str:
    """Serialize details deterministically so the same content always hashes the same."""
    return json.dumps(
        details, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )


def event_hash(
    *, seq: int, at: str, actor: str, action: str, subject: str, details_json: str, prev_hash: str
) -> str:
    """The sha256 over every field of an event, including the previous event's hash.

    Fields are length-prefixed so that no two different events can produce the same byte string.
    """
    digest = hashlib.sha256()
    for part in (str(seq), at, actor, action, subject, details_json, prev_hash):
        encoded = part.encode("utf-8")
        digest.update(len(encoded).to_bytes(8, "big"))
        digest.update(encoded)
    return digest.hexdigest()


@dataclass(frozen=True)
class AuditEvent:
    """One entry of the trail: who did what to which subject, when, and why (``details``).

    ``at`` is kept as the exact ISO-8601 text that was hashed, so verification never depends on
    how a database round-trips timestamps.
    """

    seq: int
    at: str
    actor: str
    action: str
    subject: str
    details_json: str
    prev_hash: str
    hash: str
    details: Mapping[str, Any] = field(compare=False, default_factory=dict)

    def expected_hash(self) -> str:
        """The hash this event should carry given its content."""
        return event_hash(
            seq=self.seq,
            at=self.at,
            actor=self.actor,
            action=self.action,
            subject=self.subject,
            details_json=self.details_json,
            prev_hash=self.prev_hash,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at,
            "actor": self.actor,
            "action": self.action,
            "subject": self.subject,
            "details": json.loads(self.details_json),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


@dataclass(frozen=True)
class ChainHead:
    """The last event's sequence number and hash, stored apart so a deleted tail is noticed."""

    seq: int
    hash: str
