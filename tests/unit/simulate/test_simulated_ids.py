"""Entity ids: numbered from the run's id offset, so separate runs can be kept apart."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest

from keel.errors import InvalidInput
from keel.simulate import LabelDelay, simulate_frame, withheld_labels

START = datetime(2024, 1, 1)
END = datetime(2024, 3, 1)


def _ids(frame: pl.DataFrame) -> set[str]:
    return set(frame["application_id"].drop_nulls())


def test_an_id_offset_moves_every_id_and_nothing_else() -> None:
    plain = simulate_frame(rows=2_000, seed=3, start=START, end=END)
    moved = simulate_frame(rows=2_000, seed=3, start=START, end=END, id_offset=5_000)
    assert moved["application_id"].drop_nulls()[0] == "a-0000005001"
    assert not _ids(plain) & _ids(moved)
    assert moved.drop("application_id").equals(plain.drop("application_id"))
    assert moved["application_id"].is_null().equals(plain["application_id"].is_null())


def test_withheld_labels_carry_the_offset_ids() -> None:
    delay = [LabelDelay(delay=timedelta(days=10))]
    frame = simulate_frame(rows=2_000, seed=3, start=START, end=END, incidents=delay, id_offset=9)
    late = withheld_labels(rows=2_000, seed=3, start=START, end=END, incidents=delay, id_offset=9)
    assert late.height and _ids(late) <= _ids(frame)


@pytest.mark.parametrize("offset", [-1, 9_999_999_999])
def test_offsets_that_leave_no_ten_digit_id_are_refused(offset: int) -> None:
    with pytest.raises(InvalidInput) as refused:
        simulate_frame(rows=10, seed=1, start=START, end=END, id_offset=offset)
    assert refused.value.path == "id_offset"
