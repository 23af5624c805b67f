"""The newest rows of a frame, as a time-split benchmark set takes them."""

from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from keel.training.benchmarks import newest


def _frame(times: list[datetime | None]) -> pl.DataFrame:
    return pl.DataFrame({"at": times, "row": list(range(len(times)))})


def _by_full_sort(frame: pl.DataFrame, size: int) -> pl.DataFrame:
    return frame.sort("at", maintain_order=True).tail(size)


@pytest.mark.parametrize("seed", range(5))
def test_the_newest_rows_match_a_stable_sort_of_the_whole_frame(seed: int) -> None:
    rng = np.random.default_rng(seed)
    start = datetime(2024, 1, 1)
    days = rng.integers(0, 30, size=500)  # many equal times: ties keep frame order
    times: list[datetime | None] = [start + timedelta(days=int(d)) for d in days]
    for i in rng.choice(500, size=20, replace=False):
        times[int(i)] = None  # nulls sort first, so they are the oldest
    frame = _frame(times)
    for size in (1, 37, 250, 490, 500):
        assert newest(frame, "at", size).equals(_by_full_sort(frame, size))


def test_a_frame_already_in_time_order_keeps_its_tail() -> None:
    start = datetime(2024, 1, 1)
    frame = _frame([start + timedelta(hours=i // 3) for i in range(100)])
    assert newest(frame, "at", 10)["row"].to_list() == list(range(90, 100))


def test_nulls_are_the_oldest_rows_even_in_a_sorted_looking_frame() -> None:
    frame = _frame([datetime(2024, 1, 2), datetime(2024, 1, 3), None])
    assert newest(frame, "at", 2)["row"].to_list() == [0, 1]
    assert newest(frame, "at", 2).equals(_by_full_sort(frame, 2))
