"""Ids are valid UUIDv7 strings, unique, and ordered by creation time."""

from __future__ import annotations

import time
import uuid

from keel.serving.ids import new_id


def test_ids_are_version_7_uuids_carrying_the_time() -> None:
    before = time.time_ns() // 1_000_000
    parsed = uuid.UUID(new_id())
    after = time.time_ns() // 1_000_000
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122
    assert before <= parsed.int >> 80 <= after


def test_ids_are_unique_and_sort_by_millisecond() -> None:
    first = [new_id() for _ in range(10_000)]
    time.sleep(0.002)
    second = [new_id() for _ in range(100)]
    assert len(set(first + second)) == 10_100
    assert max(first) < min(second)
