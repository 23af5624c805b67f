"""The data plane's use cases called as a face calls them, and the JSON of their typed results."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
import yaml

from keel.app import data as use
from keel.app import files
from keel.app import project as project_plane
from keel.app.session import open_project
from keel.errors import InvalidInput
from keel.wiring import Keel

ENTITY, TARGET = "application_id", "defaulted"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The loan example's sample in two batches: its first 1,000 rows (v1), the rest (v2), with
    ``positive: 0``, so that the label report must count zeros."""
    made: Path = tmp_path_factory.mktemp("data-plane") / "proj"
    project_plane.init(made, "loan")
    config = yaml.safe_load((made / "keel.yaml").read_text())
    config["target"]["positive"] = 0
    (made / "keel.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    sample = pl.read_csv(made / "data" / "sample.csv", infer_schema=False)
    sample.head(1000).write_csv(made / "data" / "first.csv")
    sample.tail(-1000).write_csv(made / "data" / "rest.csv")
    keel = open_project(made)
    try:
        use.ingest(keel, use.BatchFrom(file=made / "data" / "first.csv"), source="core")
        use.ingest(keel, use.BatchFrom(file=made / "data" / "rest.csv"))
    finally:
        keel.close()
    return made


@pytest.fixture
def keel(folder: Path) -> Iterator[Keel]:
    opened = open_project(folder)
    yield opened
    opened.close()


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        (use.BatchFrom(), "give either a FILE or --sql URL --query TEXT"),
        (use.BatchFrom(file=Path("a.csv"), sql="sqlite://"), "give either a FILE"),
        (use.BatchFrom(sql="sqlite://"), "--sql needs --query"),
        (use.BatchFrom(file=Path("missing.csv")), "no such file: missing.csv"),
    ],
    ids=["nothing", "both", "no-query", "missing-file"],
)
def test_a_batch_names_exactly_one_readable_input(
    keel: Keel, batch: use.BatchFrom, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        use.ingest(keel, batch)


def test_a_query_batch_is_named_by_its_query() -> None:
    batch = use.BatchFrom(sql="postgresql://u:secret@db/x", query="select * from loans")
    assert batch.name == "x:select * from loans"
    assert "secret" not in batch.name


def test_versions_are_listed_oldest_first(keel: Keel) -> None:
    assert [(v.version, v.rows) for v in use.list_versions(keel)] == [(1, 1000), (2, 5000)]


def test_show_names_the_batches_and_files_a_version_came_from(keel: Keel) -> None:
    detail = use.show_version(keel, "v2")
    body = detail.to_dict()
    assert body["version"] == 2
    assert {s["source"] for s in body["sources"]} == {"core", "csv"}
    assert {s["uri"].rsplit("/", 1)[-1] for s in body["sources"]} == {"first.csv", "rest.csv"}
    assert body["profile"] == detail.profile.to_dict()
    assert set(body) >= set(detail.version.to_dict())


def test_the_diff_keeps_its_json_shape(keel: Keel) -> None:
    found = use.diff_versions(keel, "1", "v2")
    body = found.to_dict()
    assert list(body) == ["old", "new", "rows_added", "batches_added", "schema_changes", "columns"]
    assert (body["old"], body["new"], body["rows_added"]) == (1, 2, 4000)
    assert body["batches_added"] == [found.after.batch_id]
    assert body["schema_changes"] == []
    assert body["columns"], "the medians of 1,000 and 5,000 rows differ somewhere"
    first = body["columns"][0]
    assert list(first) == ["column", "statistic", "old", "new", "change"]
    assert isinstance(first["old"], float) and first["change"][0] in "+-"


def test_export_writes_the_versions_rows(keel: Keel, tmp_path: Path) -> None:
    written = use.export_version(keel, "v1", tmp_path / "v1.parquet")
    assert written.to_dict() == {"version": 1, "rows": 1000, "out": str(tmp_path / "v1.parquet")}
    assert written.label == "v1"
    assert pl.read_parquet(tmp_path / "v1.parquet").height == 1000


def test_export_refuses_other_formats(keel: Keel, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"--out must end in \.parquet or \.csv"):
        use.export_version(keel, "v1", tmp_path / "v1.json")


def test_a_version_is_written_v1_or_1(keel: Keel) -> None:
    with pytest.raises(InvalidInput, match="a version is written v1, v2"):
        use.show_version(keel, "first")


def test_an_empty_quarantine_lists_nothing_unless_asked_for_all(keel: Keel) -> None:
    assert use.list_quarantine(keel) == []
    assert len(use.list_quarantine(keel, all_batches=True)) == 2


def test_label_report_counts_the_configured_positive_class(
    folder: Path, keel: Keel, tmp_path: Path
) -> None:
    """With ``positive: 0`` the rate is the share of zeros, and a Parquet file of float labels
    (1.0, 0.0) is read by the same rule as a CSV of text ones."""
    ids = [f"a-{900_000 + i}" for i in range(200)]
    stored = pl.DataFrame({ENTITY: ids[:100], TARGET: [0] * 80 + [1] * 20})
    stored.write_csv(tmp_path / "stored.csv")
    first = use.ingest_labels(keel, tmp_path / "stored.csv")
    assert first.result.batch.accepted == 100
    assert "rate_shift" not in first.to_dict()["labels"]
    incoming = pl.DataFrame({ENTITY: ids[100:], TARGET: [0.0] * 20 + [1.0] * 80})
    incoming.write_parquet(tmp_path / "incoming.parquet")
    second = use.ingest_labels(keel, tmp_path / "incoming.parquet", source="late")
    shift = second.labels.rate_shift
    assert shift is not None
    assert (shift.reference_rate, shift.current_rate) == (0.8, 0.2)
    body = second.to_dict()
    assert body["batch_id"] == second.result.batch.id
    assert list(body["labels"]) == [
        "feature_rows",
        "coverage",
        "orphan_labels",
        "conflicts",
        "rate_shift",
    ]
    assert body["labels"]["orphan_labels"] == 200
    assert list(body["labels"]["rate_shift"]) == ["reference_rate", "current_rate", "p_value"]


def test_contract_inference_opens_no_project(tmp_path: Path) -> None:
    frame = pl.DataFrame({"id": ["a", "b", "c"], "x": [1.0, 2.0, 3.0]})
    frame.write_parquet(tmp_path / "sample.parquet")
    text = files.infer_contract_yaml(tmp_path / "sample.parquet", entity="id")
    contract = yaml.safe_load(text)
    assert set(contract["contract"]["columns"]) == {"id", "x"}
