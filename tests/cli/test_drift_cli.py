"""``keel drift REF CUR``: the acceptance of issue 7, on Parquet and CSV, with and without a
project, and the HTML report."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.cli.conftest import Keel

STATISTICS = {"psi", "js", "wasserstein", "ks", "chi2"}


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean reference month and a current month whose income and purpose drifted (labels
    left out: the default rate follows income, a drift of its own)."""
    from datetime import datetime

    from keel.simulate import CovariateDrift, NewCategory, simulate_frame

    folder = tmp_path_factory.mktemp("tables")
    start, end = datetime(2024, 1, 1), datetime(2024, 2, 1)
    reference = simulate_frame(rows=20_000, seed=1, start=start, end=end).drop("defaulted")
    drifts = (
        CovariateDrift(column="income", shift=0.5, at=0.0, until=0.0),
        NewCategory(column="purpose", value="crypto", share=0.05),
    )
    current = simulate_frame(rows=5000, seed=2, start=start, end=end, incidents=drifts)
    current = current.drop("defaulted")
    reference.write_parquet(folder / "reference.parquet")
    current.write_parquet(folder / "current.parquet")
    reference.write_csv(folder / "reference.csv")
    current.write_csv(folder / "current.csv")
    return folder


@pytest.mark.parametrize("suffix", ["parquet", "csv"])
def test_json_lists_every_statistic_and_the_drifted_columns(
    keel: Keel, tables: Path, suffix: str
) -> None:
    done = keel(
        "drift", str(tables / f"reference.{suffix}"), str(tables / f"current.{suffix}"), "--json"
    )
    assert done.code == 0, done.err
    body = done.json()
    assert body["drifted_columns"] == ["income", "purpose"]
    assert body["project"] is None
    for name, column in body["columns"].items():
        assert column["drifted"] == (name in body["drifted_columns"])
        assert set(column["statistics"]) <= STATISTICS
        for result in column["statistics"].values():
            assert set(result) == {"value", "threshold", "drifted"}
    assert set(body["columns"]["income"]["statistics"]) == {"psi", "js", "wasserstein", "ks"}
    assert set(body["columns"]["purpose"]["statistics"]) == {"psi", "js", "chi2"}
    assert "application_id" in body["skipped"]  # an identifier is not compared


def test_inside_a_project_the_contract_types_the_columns(
    keel: Keel, tables: Path, project: Path
) -> None:
    for name in ("reference.csv", "current.csv"):
        shutil.copy(tables / name, project / name)
    done = keel("drift", "reference.csv", "current.csv", "--json", cwd=project)
    assert done.code == 0, done.err
    body = done.json()
    assert body["project"] == "loan-default"
    assert body["drifted_columns"] == ["income", "purpose"]
    assert body["skipped"]["application_id"] == "the entity id"
    assert body["skipped"]["applied_at"] == "the event timestamp"


def test_the_html_report_draws_each_drifted_column_offline(
    keel: Keel, tables: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out" / "drift.html"
    done = keel(
        "drift",
        str(tables / "reference.parquet"),
        str(tables / "current.parquet"),
        "--report",
        str(out),
    )
    assert done.code == 0, done.err
    assert "2 of" in done.out and "income, purpose" in done.out
    page = out.read_text()
    assert page.count("<svg") == 2  # one plot per drifted column
    assert "<polyline" in page  # income: densities
    assert page.count("<rect") > 10  # purpose: bars
    assert "crypto" not in page or "(unseen)" in page
    assert not re.search(r"<script|<link|src=|url\(", page)  # nothing to fetch


def test_columns_option_and_fixed_thresholds(keel: Keel, tables: Path) -> None:
    done = keel(
        "drift",
        str(tables / "reference.parquet"),
        str(tables / "current.parquet"),
        "--columns",
        "age,income",
        "--threshold",
        "fixed",
        "--json",
    )
    assert done.code == 0, done.err
    body = done.json()
    assert list(body["columns"]) == ["age", "income"]
    assert body["threshold"]["method"] == "fixed"
    assert body["columns"]["age"]["statistics"]["psi"]["threshold"] == 0.1


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--columns", "nope"], "no column 'nope'"), (["--threshold", "p"], "--threshold")],
    ids=["column", "threshold"],
)
def test_bad_options_fail_with_a_message(
    keel: Keel, tables: Path, args: list[str], message: str
) -> None:
    done = keel("drift", str(tables / "reference.parquet"), str(tables / "current.parquet"), *args)
    assert done.code == 2 and message in done.err


def test_a_missing_file_is_an_input_error(keel: Keel, tables: Path) -> None:
    done = keel("drift", str(tables / "reference.parquet"), str(tables / "absent.parquet"))
    assert done.code == 2 and "absent.parquet" in done.err


def test_multivariate_checks_join_the_json(keel: Keel, tables: Path) -> None:
    done = keel(
        "drift",
        str(tables / "reference.parquet"),
        str(tables / "current.parquet"),
        "--multivariate",
        "--json",
    )
    assert done.code == 0, done.err
    found = {result["method"]: result for result in done.json()["multivariate"]}
    assert set(found) == {"domain_classifier", "pca_reconstruction"}
    assert found["domain_classifier"]["drifted"] is True  # income moved by half a sd
