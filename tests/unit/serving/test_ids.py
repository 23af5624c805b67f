"""Ids are valid UUIDv7 strings, unique, and ordered by creation time."""

from __future__ import annotations

import os
import threading
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


def test_the_text_is_the_uuid_modules_own() -> None:
    for _ in range(1000):
        text = new_id()
        assert str(uuid.UUID(text)) == text


def test_threads_never_share_random_bits() -> None:
    found: list[list[str]] = [[] for _ in range(8)]

    def draw(k: int) -> None:
        found[k] = [new_id() for _ in range(5_000)]

    threads = [threading.Thread(target=draw, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    randoms = {uuid.UUID(text).int & ((1 << 76) - 1) for ids in found for text in ids}
    assert len(randoms) == 40_000


def test_a_forked_worker_draws_other_bits_than_its_parent() -> None:
    """Workers are forked from one process: a child must not hand out the parent's pool."""
    new_id()  # the parent's pool holds unspent bytes
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.write(write, new_id().encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    theirs = os.read(read, 64).decode()
    os.close(read)
    ours = new_id()
    random = (1 << 62) - 1
    assert uuid.UUID(theirs).int & random != uuid.UUID(ours).int & random
