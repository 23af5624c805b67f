"""The stream: deterministic, independent of chunk size, checked arguments, bounded memory."""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime
from typing import Any

import polars as pl
import pytest

from keel.errors import InvalidInput
from keel.simulate import BLOCK_ROWS, simulate, simulate_frame

START = datetime(2024, 1, 1)
END = datetime(2025, 1, 1)
ROWS = 150_000


def _frame(**overrides: Any) -> pl.DataFrame:
    arguments: dict[str, Any] = {"rows": ROWS, "seed": 3, "start": START, "end": END}
    arguments.update(overrides)
    return pl.concat(list(simulate(**arguments)))


def test_same_arguments_give_the_same_rows() -> None:
    assert _frame().equals(_frame())


def test_another_seed_gives_other_rows() -> None:
    assert not _frame()["income"].equals(_frame(seed=4)["income"])


@pytest.mark.parametrize(
    "chunk_rows",
    [997, BLOCK_ROWS, BLOCK_ROWS + 1, ROWS * 2],
    ids=["prime", "one-block", "block-plus-one", "all-at-once"],
)
def test_rows_do_not_depend_on_chunk_size(chunk_rows: int) -> None:
    assert _frame(chunk_rows=chunk_rows).equals(_frame())


def test_chunks_have_the_asked_size_but_the_last() -> None:
    sizes = [
        chunk.height
        for chunk in simulate(rows=10_500, seed=1, start=START, end=END, chunk_rows=1000)
    ]
    assert sizes == [1000] * 10 + [500]


def test_aware_datetimes_are_read_as_utc() -> None:
    aware = simulate_frame(
        rows=100, seed=1, start=START.replace(tzinfo=UTC), end=END.replace(tzinfo=UTC)
    )
    assert aware.equals(simulate_frame(rows=100, seed=1, start=START, end=END))


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        ({"rows": 0}, "rows"),
        ({"rows": 1.5}, "rows"),
        ({"seed": -1}, "seed"),
        ({"end": START}, "end"),
        ({"start": "2024-01-01"}, "start"),
        ({"chunk_rows": 0}, "chunk_rows"),
        ({"incidents": ["unit_change"]}, "incidents[0]"),
    ],
    ids=[
        "no-rows",
        "fractional-rows",
        "negative-seed",
        "empty-window",
        "text-start",
        "no-chunk",
        "not-an-incident",
    ],
)
def test_bad_arguments_fail_at_call_naming_the_argument(
    overrides: dict[str, Any], path: str
) -> None:
    arguments: dict[str, Any] = {"rows": 10, "seed": 1, "start": START, "end": END}
    arguments.update(overrides)
    with pytest.raises(InvalidInput) as caught:
        simulate(**arguments)
    assert caught.value.path == path
    assert path.split("[", maxsplit=1)[0] in caught.value.message


def test_a_million_rows_in_chunks_stay_memory_bounded() -> None:
    """Regression guard: generating the whole stream at once would peak near the full size."""
    chunks = simulate(rows=1_000_000, seed=1, start=START, end=END, chunk_rows=50_000)
    tracemalloc.start()
    try:
        rows, chunk_bytes = 0, 0
        for chunk in chunks:
            rows += chunk.height
            chunk_bytes = max(chunk_bytes, chunk.estimated_size())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    full_bytes = chunk_bytes * rows / 50_000
    assert rows == 1_000_000
    assert peak < full_bytes / 4
