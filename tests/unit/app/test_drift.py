"""``compare_tables``, the operation behind ``keel drift``: two files in, a typed comparison out,
with or without a project, and no database opened either way."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from keel.app.drift import DriftRequest, compare_tables
from keel.app.scaffold import scaffold
from keel.errors import InvalidInput
from keel.simulate import CovariateDrift, simulate_frame

START, END = datetime(2024, 1, 1), datetime(2024, 2, 1)


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A reference month and a current one whose income moved by one standard deviation."""
    folder = tmp_path_factory.mktemp("tables")
    reference = simulate_frame(rows=3000, seed=1, start=START, end=END).drop("defaulted")
    moved = CovariateDrift(column="income", shift=1.0, at=0.0, until=0.0)
    current = simulate_frame(rows=1000, seed=2, start=START, end=END, incidents=(moved,))
    reference.write_parquet(folder / "reference.parquet")
    current.drop("defaulted").write_parquet(folder / "current.parquet")
    return folder


def request(tables: Path, **changes: object) -> DriftRequest:
    """The two months, with fixed thresholds (nothing to calibrate), and ``changes``."""
    base = DriftRequest(
        reference=tables / "reference.parquet",
        current=tables / "current.parquet",
        threshold="fixed",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_outside_a_project_the_json_is_the_drift_report_with_the_files(tables: Path) -> None:
    found = compare_tables(request(tables))
    assert "income" in found.drift.drifted_columns
    body = found.to_dict()
    assert body == {
        **found.drift.to_dict(),
        "reference": str(tables / "reference.parquet"),
        "current": str(tables / "current.parquet"),
        "project": None,
        "multivariate": [],
        "report": None,
    }


def test_inside_a_project_its_roles_are_left_out_and_no_database_is_made(
    tables: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "proj"
    scaffold(folder, "loan")
    found = compare_tables(request(tables, project=folder))
    assert found.project == "loan-default"
    assert found.drift.skipped["application_id"] == "the entity id"
    assert found.drift.skipped["applied_at"] == "the event timestamp"
    assert not (folder / ".keel").exists()


def test_named_columns_and_the_report_in_a_new_folder(tables: Path, tmp_path: Path) -> None:
    out = tmp_path / "new" / "drift.html"
    found = compare_tables(request(tables, columns=("age", "income"), report=out))
    assert list(found.drift.columns) == ["age", "income"]
    assert found.to_dict()["report"] == str(out)
    assert out.read_text(encoding="utf-8").count("<svg") == len(found.drift.drifted_columns)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"columns": ("nope",)}, "the reference file has no column 'nope'"),
        ({"current": Path("absent.parquet")}, "absent.parquet: expected an existing"),
    ],
    ids=["column", "file"],
)
def test_bad_input_is_refused_with_the_name_of_what_is_wrong(
    tables: Path, changes: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        compare_tables(request(tables, **changes))


def test_row_ids_and_csv_timestamps_are_left_out_saying_why(tmp_path: Path) -> None:
    """Known truth: nothing moved but the row id (each table's ids lie beyond the last one's) and
    the time; both are left out, so no column drifts."""
    import numpy as np
    import polars as pl

    def table(rows: int, first: int, seed: int) -> pl.DataFrame:
        rng = np.random.default_rng(seed)
        return pl.DataFrame(
            {
                "row_id": np.arange(first, first + rows),
                "seen_at": [START + timedelta(minutes=first + i) for i in range(rows)],
                "amount": rng.gamma(2.0, 50.0, rows),
            }
        )

    table(5000, 0, 1).write_csv(tmp_path / "reference.csv")
    table(2000, 5000, 2).write_csv(tmp_path / "current.csv")
    found = compare_tables(
        DriftRequest(reference=tmp_path / "reference.csv", current=tmp_path / "current.csv")
    )
    assert found.drift.skipped["seen_at"] == "a timestamp"
    assert found.drift.skipped["row_id"].startswith("an identifier")
    assert list(found.drift.columns) == ["amount"] and found.drift.drifted_columns == ()
    named = compare_tables(
        DriftRequest(
            reference=tmp_path / "reference.csv",
            current=tmp_path / "current.csv",
            columns=("row_id",),
        )
    )
    assert named.drift.drifted_columns == ("row_id",)  # what it would always say
