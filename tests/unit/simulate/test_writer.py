"""Writing streams to files and cutting them into calendar months."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from keel.errors import InvalidInput
from keel.simulate import (
    SCHEMA,
    RenamedColumn,
    simulate_frame,
    simulate_months,
    write_months,
    write_simulation,
)

START = datetime(2024, 1, 1)
END = datetime(2024, 4, 1)
ROWS = 9_000


def _read(path: Path) -> pl.DataFrame:
    schema = dict(SCHEMA)
    if path.suffix == ".csv":
        return pl.read_csv(path, schema=schema)
    if path.suffix == ".jsonl":
        return pl.read_ndjson(path, schema=schema)
    return pl.read_parquet(path)


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"], ids=["csv", "parquet", "jsonl"])
def test_each_format_round_trips(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"loans{suffix}"
    written = write_simulation(path, rows=ROWS, seed=5, start=START, end=END, chunk_rows=2_000)
    assert written == [path]
    assert _read(path).equals(simulate_frame(rows=ROWS, seed=5, start=START, end=END))


def test_progress_reports_every_chunk_up_to_the_total(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    write_simulation(
        tmp_path / "loans.csv",
        rows=ROWS,
        seed=5,
        start=START,
        end=END,
        chunk_rows=4_000,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen == [(4_000, ROWS), (8_000, ROWS), (ROWS, ROWS)]


def test_a_rename_starts_a_new_part_file(tmp_path: Path) -> None:
    rename = RenamedColumn(column="income", new_name="income_k", at=0.5)
    path = tmp_path / "loans.parquet"
    written = write_simulation(path, rows=ROWS, seed=5, start=START, end=END, incidents=[rename])
    assert written == [path, tmp_path / "loans-part2.parquet"]
    first, second = (pl.read_parquet(item) for item in written)
    assert "income" in first.columns and "income_k" in second.columns
    assert first.height + second.height == ROWS


def test_an_unknown_suffix_is_refused_before_writing(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"\.parquet") as caught:
        write_simulation(tmp_path / "loans.xlsx", rows=10, seed=1, start=START, end=END)
    assert caught.value.path == "path"
    assert not list(tmp_path.iterdir())


def test_months_come_in_calendar_order_and_hold_all_rows() -> None:
    months = list(simulate_months(rows=ROWS, seed=5, start=START, end=END, chunk_rows=1_000))
    assert [label for label, _ in months] == ["2024-01", "2024-02", "2024-03"]
    assert pl.concat([frame for _, frame in months]).equals(
        simulate_frame(rows=ROWS, seed=5, start=START, end=END)
    )


def test_each_month_holds_only_its_own_days() -> None:
    for label, frame in simulate_months(rows=ROWS, seed=5, start=START, end=END):
        assert set(frame["applied_at"].dt.strftime("%Y-%m").unique()) == {label}


def test_write_months_writes_one_file_per_month(tmp_path: Path) -> None:
    written = write_months(tmp_path, rows=ROWS, seed=5, start=START, end=END, suffix=".csv")
    assert [item.name for item in written] == ["2024-01.csv", "2024-02.csv", "2024-03.csv"]
    assert sum(_read(item).height for item in written) == ROWS


def test_write_months_refuses_an_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        write_months(tmp_path, rows=10, seed=1, start=START, end=END, suffix=".xml")
    assert caught.value.path == "suffix"


def test_a_rename_inside_a_month_splits_that_month_in_two() -> None:
    rename = RenamedColumn(column="debt", new_name="total_debt", at=datetime(2024, 2, 15))
    months = list(simulate_months(rows=ROWS, seed=5, start=START, end=END, incidents=[rename]))
    assert [label for label, _ in months] == ["2024-01", "2024-02", "2024-02", "2024-03"]
    assert "debt" in months[1][1].columns and "total_debt" in months[2][1].columns
