"""``keel monitor file REF CUR...``: a model trained elsewhere, monitored from its files with no
project; JSON, text piped at full width, and the HTML report."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tests.cli.conftest import Keel
from tests.unit.app.test_standalone_monitor import CHUNK, incident, outside

LONG = "applicant_declared_monthly_income_after_tax_in_euros"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("files")
    outside(4000, seed=1).rename({"x1": LONG}).write_csv(folder / "reference.csv")
    current = pl.concat(
        [outside(CHUNK, seed=5, first=4000), incident(outside(CHUNK, seed=6, first=6000), 7)]
    )
    current.rename({"x1": LONG}).with_columns(pl.col(LONG) + 1.0).write_parquet(
        folder / "current.parquet"
    )
    return folder


def test_json_reports_every_chunk_without_a_project(keel: Keel, files: Path) -> None:
    done = keel(
        "monitor", "file", str(files / "reference.csv"), str(files / "current.parquet"),
        "--chunk-rows", str(CHUNK), "--score", "score", "--label", "outcome",
        "--prediction", "flagged", "--html", str(files / "report.html"), "--json",
    )  # fmt: skip
    assert done.code == 0, done.err
    body = done.json()
    assert [c["label"] for c in body["chunks"]] == [
        "current.parquet rows 1-2000",
        "current.parquet rows 2001-4000",
    ]
    assert all(f"drift {LONG}" in c["alerts"] for c in body["chunks"])
    assert body["chunks"][1]["quality"]["columns"]["region"]["examples"] == ["west"]
    assert body["chunks"][0]["estimated"]["metrics"]["f1"]["low"] is not None
    assert body["skipped"]["row_id"].startswith("an identifier")
    assert set(body["seconds"]) == {"read_reference", "fit", "chunks"}
    assert LONG in (files / "report.html").read_text()


def test_piped_text_is_full_width_and_names_are_never_cut(files: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    done = subprocess.run(
        [sys.executable, "-m", "keel", "monitor", "file", str(files / "reference.csv"),
         str(files / "current.parquet"), "--chunk-rows", str(CHUNK), "--score", "score",
         "--label", "outcome"],
        capture_output=True, text=True, env=env | {"NO_COLOR": "1"}, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert LONG in done.stdout and "current.parquet rows 2001-4000" in done.stdout
    assert "…" not in done.stdout
    assert max(len(line) for line in done.stdout.splitlines()) > 80


def test_a_regression_is_estimated_before_labels(keel: Keel, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)

    def rows(n: int, shift: float) -> pl.DataFrame:
        x = rng.normal(shift, 1.0, n)
        y = 2 * x + (0.3 + 0.7 * np.abs(x)) * rng.normal(size=n)
        return pl.DataFrame({"x": x, "predicted": 2 * x, "actual": y})

    rows(3000, 0.0).write_parquet(tmp_path / "reference.parquet")
    truth = []
    for name, shift in (("steady", 0.0), ("shifted", 1.0)):
        chunk = rows(1000, shift)
        truth.append(float((chunk["actual"] - chunk["predicted"]).abs().mean()))
        chunk.drop("actual").write_parquet(tmp_path / f"{name}.parquet")
    done = keel(
        "monitor", "file", str(tmp_path / "reference.parquet"), str(tmp_path / "steady.parquet"),
        str(tmp_path / "shifted.parquet"), "--prediction", "predicted", "--label", "actual",
        "--json",
    )  # fmt: skip
    assert done.code == 0, done.err
    body = done.json()
    assert body["task"] == "regression"
    steady, shifted = (c["estimated"]["metrics"]["mae"] for c in body["chunks"])
    assert not steady["alert"] and shifted["alert"]
    # the known rise: the noise's scale grows with |x|, so the MAE by about 0.2
    assert shifted["value"] > steady["value"] + 0.15
    assert steady["low"] <= truth[0] <= steady["high"]
    assert shifted["low"] <= truth[1] <= shifted["high"]
    assert all(c["realized"] is None for c in body["chunks"])  # no labels yet


def test_a_named_column_that_does_not_exist_is_one_line_naming_it(keel: Keel, files: Path) -> None:
    done = keel(
        "monitor", "file", str(files / "reference.csv"), str(files / "current.parquet"),
        "--score", "probability",
    )  # fmt: skip
    assert done.code != 0
    assert "--score: the reference has no column 'probability'" in done.err
    assert "Traceback" not in done.err
