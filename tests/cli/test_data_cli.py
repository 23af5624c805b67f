"""The data layer end to end: ingest, versions, quarantine and replay, export, diff, labels."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from polars.testing import assert_frame_equal

from keel.data import Contract
from tests.cli.conftest import Keel, Result

ENTITY = "application_id"
TARGET = "defaulted"
PLAIN = (3000, 9)
RENAMED = (3000, 5, "renamed_column:at=2024-05-01")
UNIT_CHANGE = (3000, 6, "unit_change:at=2024-05-01")
CRYPTO = (3000, 8, "new_category:at=0.0,share=0.02")
LATE_LABELS = (3000, 12, "label_delay")

Simulate = Callable[..., Path]


@pytest.fixture(scope="session")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Per worker: one initialised project and the simulated months, made once, then reused."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def project(keel: Keel, tmp_path: Path, cache: Path) -> Path:
    """A fresh ``keel init proj --example loan`` folder (a copy of one made once per worker)."""
    template = cache / "proj"
    if not template.exists():
        made = keel("init", str(template), "--example", "loan")
        if made.code != 0:
            shutil.rmtree(template, ignore_errors=True)
        assert made.code == 0, made.err
    return Path(shutil.copytree(template, tmp_path / "proj"))


@pytest.fixture
def simulate(keel: Keel, cache: Path) -> Simulate:
    """``simulate(rows, seed, *incidents)``: a read-only folder of three monthly parquet files."""

    def run(rows: int, seed: int, *incidents: str) -> Path:
        out = cache / "-".join(["months", str(rows), str(seed), *incidents]).replace(":", "_")
        if out.exists():
            return out
        args = ["--rows", str(rows), "--seed", str(seed), "--start", "2024-03-01"]
        args += ["--end", "2024-06-01", "--by-month", "--out", str(out), "--json"]
        for incident in incidents:
            args += ["--incident", incident]
        written = keel("simulate", *args)
        if written.code != 0:
            shutil.rmtree(out, ignore_errors=True)
        assert [Path(f).name for f in _ok(written)["files"]] == [
            "2024-03.parquet",
            "2024-04.parquet",
            "2024-05.parquet",
        ]
        return out

    return run


def _ok(result: Result) -> Any:
    assert result.code == 0, result.err
    return result.json()


def _report(result: Result) -> Any:
    """An ingest or replay report: exit 0, or 9 (data refused) when the batch was rejected whole."""
    body = json.loads(result.out) if result.out else {}
    refused = body.get("status") == "rejected" and not body.get("already_ingested")
    assert result.code == (9 if refused else 0), result.err
    return body


def _adds_up(body: dict[str, Any]) -> None:
    assert body["rows"] == body["accepted"] + body["quarantined"], body


def _ingest(keel: Keel, project: Path, file: Path | str, *args: str) -> dict[str, Any]:
    body: dict[str, Any] = _report(keel("ingest", str(file), "--json", *args, cwd=project))
    _adds_up(body)
    return body


def _versions(keel: Keel, project: Path, env: dict[str, str] | None = None) -> list[Any]:
    found: list[Any] = _ok(keel("data", "versions", "--json", cwd=project, env=env))
    return found


def _export(keel: Keel, project: Path, version: str, name: str) -> pl.DataFrame:
    out = project / "exports" / name
    done = _ok(keel("data", "export", version, "--out", str(out), "--json", cwd=project))
    frame = pl.read_parquet(out)
    assert done["rows"] == frame.height
    return frame


def _quarantine(keel: Keel, project: Path, batch_id: str) -> dict[str, Any]:
    shown: dict[str, Any] = _ok(
        keel("quarantine", "show", batch_id, "--limit", "100000", "--json", cwd=project)
    )
    return shown


def _one_error_line(result: Result, *, naming: str) -> None:
    """A non-zero exit with exactly one 'error:' line (then hints), no traceback, no stdout."""
    assert result.code != 0
    assert "Traceback" not in result.err
    lines = result.err.strip().splitlines()
    assert lines, "nothing on stderr"
    assert lines[0].startswith("error: ")
    assert naming in lines[0]
    assert all(line.startswith("hint: ") for line in lines[1:]), lines
    assert result.out == ""


def _read(path: Path) -> pl.DataFrame:
    if path.suffix == ".csv":
        return pl.read_csv(path, infer_schema=False)
    return pl.read_parquet(path)


def _as_stored(frame: pl.DataFrame) -> pl.DataFrame:
    """A simulated frame as a version holds it: naive timestamps are read as UTC."""
    return frame.with_columns(pl.col("applied_at").dt.replace_time_zone("UTC"))


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


# ---------------------------------------------------------------- ingest and versions


def test_ingest_reports_the_batch_and_makes_v1(keel: Keel, project: Path) -> None:
    body = _ingest(keel, project, "data/sample.csv")
    assert set(body) >= {
        "batch_id",
        "status",
        "rows",
        "accepted",
        "quarantined",
        "dataset_version",
        "already_ingested",
    }
    assert body["status"] == "accepted"
    assert (body["rows"], body["accepted"], body["quarantined"]) == (5000, 5000, 0)
    assert body["dataset_version"] == 1
    assert body["already_ingested"] is False
    [v1] = _versions(keel, project)
    assert (v1["version"], v1["rows"]) == (1, 5000)
    assert len(v1["sha256"]) == 64
    assert v1["sha256"] == body["dataset_sha256"]
    assert v1["batches"] == [body["batch_id"]]


def test_ingest_without_json_prints_counts_and_the_version(keel: Keel, project: Path) -> None:
    result = keel("ingest", "data/sample.csv", cwd=project)
    assert result.code == 0, result.err
    assert "5,000 rows · 5,000 accepted · 0 quarantined" in result.out
    assert "dataset loan-default v1" in result.out
    again = keel("ingest", "data/sample.csv", cwd=project)
    assert again.code == 0, again.err
    assert "already ingested" in again.out


def test_a_byte_identical_file_is_not_ingested_twice(keel: Keel, project: Path) -> None:
    first = _ingest(keel, project, "data/sample.csv")
    shutil.copyfile(project / "data" / "sample.csv", project / "again.csv")
    again = _ingest(keel, project, "again.csv")
    assert again["already_ingested"] is True
    assert again["batch_id"] == first["batch_id"]
    assert again["dataset_version"] == 1
    versions = _versions(keel, project)
    assert [(v["version"], v["sha256"]) for v in versions] == [(1, first["dataset_sha256"])]


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"], ids=["csv", "parquet", "jsonl"])
def test_each_input_format_gives_the_same_version(
    keel: Keel, project: Path, simulate: Simulate, suffix: str
) -> None:
    source = pl.read_parquet(simulate(*PLAIN) / "2024-03.parquet")
    writers: dict[str, Callable[[Path], None]] = {
        ".csv": source.write_csv,
        ".parquet": source.write_parquet,
        ".jsonl": source.write_ndjson,
    }
    writers[suffix](project / f"march{suffix}")
    body = _ingest(keel, project, f"march{suffix}")
    assert (body["status"], body["reasons"]) == ("accepted", [])
    assert body["rows"] == body["accepted"] == source.height
    assert_frame_equal(_export(keel, project, "v1", "v1.parquet"), _as_stored(source))


def test_jsonl_with_whole_second_timestamps_is_accepted(
    keel: Keel, project: Path, simulate: Simulate
) -> None:
    source = pl.read_parquet(simulate(*PLAIN) / "2024-03.parquet")
    source = source.with_columns(pl.col("applied_at").dt.truncate("1s"))
    source.write_ndjson(project / "march.jsonl")
    body = _ingest(keel, project, "march.jsonl")
    assert (body["status"], body["accepted"]) == ("accepted", source.height)
    assert_frame_equal(_export(keel, project, "v1", "v1.parquet"), _as_stored(source))


# ---------------------------------------------------------------- batch-level rejects


def test_a_renamed_column_rejects_the_whole_batch(
    keel: Keel, project: Path, simulate: Simulate
) -> None:
    months = simulate(*RENAMED)
    march = _ingest(keel, project, months / "2024-03.parquet")
    may = pl.read_parquet(months / "2024-05.parquet")
    assert "income_eur" in may.columns
    body = _ingest(keel, project, months / "2024-05.parquet")
    assert body["status"] == "rejected"
    assert (body["rows"], body["accepted"], body["quarantined"]) == (may.height, 0, may.height)
    assert body["dataset_version"] is None
    named = {(r["code"], r.get("column")) for r in body["reasons"]}
    assert {("missing_column", "income"), ("unexpected_column", "income_eur")} <= named
    versions = _versions(keel, project)
    assert [(v["version"], v["sha256"]) for v in versions] == [(1, march["dataset_sha256"])]
    rows = pl.DataFrame(_quarantine(keel, project, body["batch_id"])["rows"])
    assert rows["_keel_row"].to_list() == list(range(may.height))
    assert rows[ENTITY].to_list() == may[ENTITY].to_list()
    assert rows["income_eur"].to_list() == may["income_eur"].to_list()


def test_a_unit_change_rejects_that_month_only(
    keel: Keel, project: Path, simulate: Simulate
) -> None:
    months = simulate(*UNIT_CHANGE)
    march = _ingest(keel, project, months / "2024-03.parquet")
    april = _ingest(keel, project, months / "2024-04.parquet")
    assert [march["status"], april["status"]] == ["accepted", "accepted"]
    may = _ingest(keel, project, months / "2024-05.parquet")
    assert may["status"] == "rejected"
    assert may["quarantined"] == may["rows"] > 0
    assert may["dataset_version"] is None
    assert [(r["code"], r.get("column")) for r in may["reasons"]] == [("unit_change", "income")]
    assert [v["version"] for v in _versions(keel, project)] == [1, 2]


def test_a_rejected_batch_replays_once_the_contract_allows_it(
    keel: Keel, project: Path, simulate: Simulate
) -> None:
    months = simulate(*UNIT_CHANGE)
    march = _ingest(keel, project, months / "2024-03.parquet")
    may = _ingest(keel, project, months / "2024-05.parquet")
    assert may["status"] == "rejected"
    _edit(project / "keel.yaml", "unit_change_factor: 50 ", "unit_change_factor: 5000 ")
    replay = _report(keel("quarantine", "replay", may["batch_id"], "--json", cwd=project))
    _adds_up(replay)
    assert replay["replay_of"] == may["batch_id"]
    assert replay["status"] == "accepted"
    assert replay["rows"] == replay["accepted"] == may["rows"]
    versions = _versions(keel, project)
    assert [(v["version"], v["rows"]) for v in versions] == [
        (1, march["accepted"]),
        (2, march["accepted"] + may["rows"]),
    ]


# ---------------------------------------------------------------- row-level rejects and replay


def test_new_category_rows_go_to_quarantine_with_their_value(
    keel: Keel, project: Path, simulate: Simulate
) -> None:
    months = simulate(*CRYPTO)
    source = pl.read_parquet(months / "2024-03.parquet").with_row_index("row")
    crypto = source.filter(pl.col("purpose") == "crypto")
    assert 0 < crypto.height < 0.05 * source.height
    body = _ingest(keel, project, months / "2024-03.parquet", "--chunk-rows", "200")
    assert body["status"] == "accepted"
    assert (body["accepted"], body["quarantined"]) == (source.height - crypto.height, crypto.height)
    assert body["row_reasons"] == [
        {"column": "purpose", "code": "not_allowed", "rows": crypto.height}
    ]
    rows = _quarantine(keel, project, body["batch_id"])["rows"]
    assert [(r["_keel_row"], r[ENTITY]) for r in rows] == crypto.select("row", ENTITY).rows()
    assert all(
        r["_keel_reasons"] == [{"column": "purpose", "code": "not_allowed", "value": "crypto"}]
        for r in rows
    )


def test_replay_moves_the_allowed_rows_into_a_new_version(
    keel: Keel, project: Path, simulate: Simulate
) -> None:
    months = simulate(*CRYPTO)
    source = pl.read_parquet(months / "2024-03.parquet")
    original = _ingest(keel, project, months / "2024-03.parquet")
    assert original["quarantined"] > 0
    _edit(project / "keel.yaml", "values: [car, home,", "values: [car, crypto, home,")
    replay = _report(keel("quarantine", "replay", original["batch_id"], "--json", cwd=project))
    _adds_up(replay)
    assert replay["replay_of"] == original["batch_id"]
    assert replay["status"] == "accepted"
    assert replay["rows"] == replay["accepted"] == original["quarantined"]
    assert replay["dataset_version"] == 2
    assert original["accepted"] + replay["accepted"] + replay["quarantined"] == source.height
    versions = _versions(keel, project)
    assert [(v["version"], v["rows"]) for v in versions] == [
        (1, original["accepted"]),
        (2, source.height),
    ]
    exported = _export(keel, project, "v2", "v2.parquet")
    assert sorted(exported[ENTITY].to_list()) == sorted(source[ENTITY].to_list())


def test_a_batch_replays_only_once(keel: Keel, project: Path, simulate: Simulate) -> None:
    months = simulate(*CRYPTO)
    original = _ingest(keel, project, months / "2024-03.parquet")
    _edit(project / "keel.yaml", "values: [car, home,", "values: [car, crypto, home,")
    _report(keel("quarantine", "replay", original["batch_id"], "--json", cwd=project))
    again = keel("quarantine", "replay", original["batch_id"], "--json", cwd=project)
    assert again.code == 4
    _one_error_line(again, naming=original["batch_id"])
    assert [v["version"] for v in _versions(keel, project)] == [1, 2]


@pytest.mark.parametrize("chunk_rows", ["100", "500000"], ids=["chunked", "whole"])
def test_in_batch_duplicate_ids_are_reported_the_same_at_any_chunk_size(
    keel: Keel, project: Path, chunk_rows: str
) -> None:
    sample = pl.read_csv(project / "data" / "sample.csv", infer_schema=False)
    pl.concat([sample.head(1000), sample.slice(10, 5)]).write_csv(project / "dup.csv")
    body = _ingest(keel, project, "dup.csv", "--chunk-rows", chunk_rows)
    assert body["status"] == "rejected"
    assert [r["code"] for r in body["reasons"]] == ["duplicate_id"]
    # the dataset is empty: no id can already be in it, whatever the chunking
    assert body["row_reasons"] == [{"column": ENTITY, "code": "duplicate_id", "rows": 10}]


def test_a_header_only_file_with_a_renamed_column_is_rejected(keel: Keel, project: Path) -> None:
    header = (project / "data" / "sample.csv").read_text().splitlines()[0]
    (project / "empty.csv").write_text(header.replace("income", "income_eur") + "\n")
    body = _ingest(keel, project, "empty.csv")
    assert body["rows"] == 0
    assert body["status"] == "rejected"
    assert "missing_column" in [r["code"] for r in body["reasons"]]


# ---------------------------------------------------------------- export and diff


def test_export_writes_exactly_the_versions_rows(
    keel: Keel, project: Path, simulate: Simulate
) -> None:
    source = pl.read_parquet(simulate(*CRYPTO) / "2024-03.parquet")
    body = _ingest(keel, project, simulate(*CRYPTO) / "2024-03.parquet")
    assert body["quarantined"] > 0
    exported = _export(keel, project, "v1", "v1.parquet")
    assert exported.height == body["accepted"]
    assert_frame_equal(exported, _as_stored(source.filter(pl.col("purpose") != "crypto")))


def test_exporting_twice_gives_identical_frames(
    keel: Keel, project: Path, simulate: Simulate
) -> None:
    months = simulate(*PLAIN)
    march = _ingest(keel, project, months / "2024-03.parquet")
    april = _ingest(keel, project, months / "2024-04.parquet")
    first = _export(keel, project, "v2", "a.parquet")
    second = _export(keel, project, "v2", "b.parquet")
    assert first.height == march["accepted"] + april["accepted"]
    assert_frame_equal(first, second)


def test_diff_reports_rows_and_batches_added(keel: Keel, project: Path, simulate: Simulate) -> None:
    months = simulate(*PLAIN)
    _ingest(keel, project, months / "2024-03.parquet")
    april = _ingest(keel, project, months / "2024-04.parquet")
    diff = _ok(keel("data", "diff", "v1", "v2", "--json", cwd=project))
    assert (diff["old"], diff["new"]) == (1, 2)
    assert diff["rows_added"] == april["accepted"] > 0
    assert diff["batches_added"] == [april["batch_id"]]
    assert diff["schema_changes"] == []
    backwards = _ok(keel("data", "diff", "v2", "v1", "--json", cwd=project))
    assert (backwards["rows_added"], backwards["batches_added"]) == (-april["accepted"], [])


# ---------------------------------------------------------------- contract infer


@pytest.mark.parametrize("suffix", [".csv", ".parquet"], ids=["csv", "parquet"])
def test_an_inferred_contract_accepts_its_own_sample(
    keel: Keel, project: Path, simulate: Simulate, suffix: str
) -> None:
    sample = project / f"sample{suffix}"
    if suffix == ".csv":
        shutil.copyfile(project / "data" / "sample.csv", sample)
    else:
        shutil.copyfile(simulate(*PLAIN) / "2024-04.parquet", sample)
    inferred = keel("contract", "infer", str(sample), "--entity", ENTITY, cwd=project)
    assert inferred.code == 0, inferred.err
    section = yaml.safe_load(inferred.out)["contract"]
    contract = Contract.parse(section)
    assert list(contract.columns) == _read(sample).columns
    assert contract.columns[ENTITY].unique
    config = yaml.safe_load((project / "keel.yaml").read_text())
    config["contract"] = section
    (project / "keel.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    body = _ingest(keel, project, sample)
    assert (body["status"], body["reasons"], body["quarantined"]) == ("accepted", [], 0)
    assert body["accepted"] == _read(sample).height


# ---------------------------------------------------------------- labels


def _late_labels(keel: Keel, project: Path, simulate: Simulate) -> tuple[Path, pl.DataFrame]:
    """May's applications ingested (most still unlabelled), and the labels file that follows."""
    months = simulate(*LATE_LABELS)
    may = pl.read_parquet(months / "2024-05.parquet")
    assert _ingest(keel, project, months / "2024-05.parquet")["accepted"] == may.height
    return months / "late-labels.csv", may


def test_late_labels_complete_the_coverage(keel: Keel, project: Path, simulate: Simulate) -> None:
    labels, may = _late_labels(keel, project, simulate)
    late = pl.read_csv(labels, infer_schema=False)
    assert late.columns == [ENTITY, TARGET]
    waiting = may.filter(pl.col(TARGET).is_null())
    assert 0 < waiting.height < may.height
    assert sorted(late[ENTITY].to_list()) == sorted(waiting[ENTITY].to_list())
    body = _ok(keel("labels", "ingest", str(labels), "--json", cwd=project))
    _adds_up(body)
    assert body["status"] == "accepted"
    assert body["rows"] == body["accepted"] == late.height
    assert body["labels"]["feature_rows"] == may.height
    assert body["labels"]["coverage"] == 1.0
    assert body["labels"]["conflicts"] == 0
    assert body["labels"]["orphan_labels"] == 0
    assert [v["version"] for v in _versions(keel, project)] == [1]


def test_labels_that_contradict_stored_ones_are_counted(
    keel: Keel, project: Path, simulate: Simulate
) -> None:
    labels, _ = _late_labels(keel, project, simulate)
    _ok(keel("labels", "ingest", str(labels), "--json", cwd=project))
    late = pl.read_csv(labels, schema_overrides={ENTITY: pl.String})
    flipped = late.head(10).with_columns((1 - pl.col(TARGET)).alias(TARGET))
    flipped.write_csv(project / "flipped.csv")
    body = _ok(keel("labels", "ingest", "flipped.csv", "--json", cwd=project))
    _adds_up(body)
    assert body["labels"]["conflicts"] == 10


def test_a_rejected_label_batch_adds_no_coverage(
    keel: Keel, project: Path, simulate: Simulate
) -> None:
    labels, may = _late_labels(keel, project, simulate)
    late = pl.read_csv(labels, schema_overrides={ENTITY: pl.String})
    late.with_columns(pl.lit(7).alias(TARGET)).write_csv(project / "bad-labels.csv")
    body = _ok(keel("labels", "ingest", "bad-labels.csv", "--json", cwd=project))
    _adds_up(body)
    assert (body["status"], body["accepted"]) == ("rejected", 0)
    labelled_inline = may[TARGET].is_not_null().sum()
    assert body["labels"]["coverage"] == pytest.approx(labelled_inline / may.height)


# ---------------------------------------------------------------- error paths


def _missing(project: Path, rest: pl.DataFrame) -> str:
    return "nope.csv"


def _wrong_suffix(project: Path, rest: pl.DataFrame) -> str:
    rest.write_csv(project / "rest.txt")
    return "rest.txt"


def _too_many_fields(project: Path, rest: pl.DataFrame) -> str:
    lines = rest.write_csv().splitlines()
    lines.insert(40, lines[40] + ",extra,fields")
    (project / "rest.csv").write_text("\n".join(lines) + "\n")
    return "rest.csv"


def _truncated_parquet(project: Path, rest: pl.DataFrame) -> str:
    rest.write_parquet(project / "whole.parquet")
    data = (project / "whole.parquet").read_bytes()
    (project / "rest.parquet").write_bytes(data[: len(data) // 2])
    return "rest.parquet"


def _broken_jsonl(project: Path, rest: pl.DataFrame) -> str:
    lines = rest.write_ndjson().splitlines()
    lines[40] = lines[40][: len(lines[40]) // 2]
    (project / "rest.jsonl").write_text("\n".join(lines) + "\n")
    return "rest.jsonl"


@pytest.mark.parametrize(
    "make",
    [_missing, _wrong_suffix, _too_many_fields, _truncated_parquet, _broken_jsonl],
    ids=[
        "missing",
        "unsupported-suffix",
        "csv-too-many-fields",
        "truncated-parquet",
        "broken-jsonl",
    ],
)
def test_an_unreadable_file_is_one_error_and_no_version(
    keel: Keel, project: Path, make: Callable[[Path, pl.DataFrame], str]
) -> None:
    sample = pl.read_csv(project / "data" / "sample.csv", infer_schema=False)
    sample.head(2000).write_csv(project / "first.csv")
    first = _ingest(keel, project, "first.csv")
    name = make(project, sample.slice(2000))
    result = keel("ingest", name, "--json", cwd=project)
    assert result.code == 2
    _one_error_line(result, naming=name)
    versions = _versions(keel, project)
    assert [(v["version"], v["rows"], v["sha256"]) for v in versions] == [
        (1, 2000, first["dataset_sha256"])
    ]


# ---------------------------------------------------------------- roles and audit


def test_a_viewer_lists_versions_but_cannot_ingest(keel: Keel, project: Path) -> None:
    ada = _ok(keel("users", "add", "ada", "--role", "admin", "--json", cwd=project))
    as_admin = {"KEEL_API_KEY": ada["api_key"]}
    added = _ok(
        keel("users", "add", "vic", "--role", "viewer", "--json", cwd=project, env=as_admin)
    )
    as_viewer = {"KEEL_API_KEY": added["api_key"]}
    denied = keel("ingest", "data/sample.csv", "--json", cwd=project, env=as_viewer)
    assert denied.code == 5
    _one_error_line(denied, naming="operator")
    assert added["api_key"] not in denied.err
    assert _versions(keel, project, env=as_viewer) == []
    ingested = _ok(keel("ingest", "data/sample.csv", "--json", cwd=project, env=as_admin))
    assert ingested["already_ingested"] is False
    listed = _versions(keel, project, env=as_viewer)
    assert [(v["version"], v["rows"]) for v in listed] == [(1, 5000)]


def test_ingests_leave_a_verifiable_audit_trail(
    keel: Keel, project: Path, simulate: Simulate
) -> None:
    months = simulate(*UNIT_CHANGE)
    march = _ingest(keel, project, months / "2024-03.parquet")
    may = _ingest(keel, project, months / "2024-05.parquet")
    again = _ingest(keel, project, months / "2024-03.parquet")
    assert again["already_ingested"] is True
    events = _ok(keel("audit", "log", "--json", cwd=project))
    trail = [(e["action"], e["subject"]) for e in reversed(events)]
    assert trail == [
        ("project.init", "project:loan-default"),
        ("data.ingest", f"batch:{march['batch_id']}"),
        ("data.version", "dataset:loan-default:v1"),
        ("data.reject", f"batch:{may['batch_id']}"),
        ("data.ingest.skipped", f"batch:{march['batch_id']}"),
    ]
    reject = next(e for e in events if e["action"] == "data.reject")
    assert reject["details"]["reasons"] == ["unit_change"]
    assert reject["details"]["quarantined"] == may["rows"]
    verified = _ok(keel("audit", "verify", "--json", cwd=project))
    assert (verified["ok"], verified["events"]) == (True, 5)


def test_a_batch_rejected_whole_exits_9_after_printing_its_report(
    keel: Keel, project: Path
) -> None:
    sample = pl.read_csv(project / "data" / "sample.csv", infer_schema=False)
    sample.head(200).rename({"income": "income_eur"}).write_csv(project / "renamed.csv")
    result = keel("ingest", "renamed.csv", cwd=project)
    assert result.code == 9, result.err
    assert "batch rejected" in result.out and "income_eur" in result.out
    assert "Traceback" not in result.err
