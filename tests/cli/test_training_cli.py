"""Training end to end: train, runs, cards, reproduce, explain, tune, failures, the ACS example.

Every test works on its own copy of a template project made once per session and shared by the
xdist workers (``keel init``, three simulated months ingested, and for most tests one small model
trained), since each ``keel`` call pays a second or more of start-up and each training call more.
"""

from __future__ import annotations

import fcntl
import html
import itertools
import json
import math
import os
import re
import shutil
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

from tests.cli.conftest import Keel, Result

SMALL = ("--param", "n_estimators=30", "--param", "num_leaves=15")
MONTHS = ("2024-01.parquet", "2024-02.parquet", "2024-03.parquet")
ROWS = 6000
HOLDOUT = 1200  # the newest 20% of the 6,000 simulated applications
METRICS = {"roc_auc", "pr_auc", "log_loss", "brier", "ece", "accuracy", "f1"}
SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Trained:
    """A project copy with one run (r-0001, small LightGBM on v3) and what ``keel train`` said."""

    path: Path
    run: dict[str, Any]


# ---------------------------------------------------------------- projects, made once per session


@pytest.fixture(scope="session")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template projects, made once and shared by the xdist workers, copied for each test."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the session's folder, above each worker's own
    folder = base / "training-cache"
    folder.mkdir(exist_ok=True)
    return folder


def _template(folder: Path, make: Callable[[Path], None]) -> Path:
    """``folder``, made by ``make(folder)`` by whichever worker comes first, while the others
    wait; a failed attempt leaves nothing behind."""
    with folder.with_name(f"{folder.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not folder.exists():
            try:
                make(folder)
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
    return folder


def _copy(template: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(template, tmp_path / "proj"))


def _fresh_template(keel: Keel, cache: Path) -> Path:
    def make(folder: Path) -> None:
        made = keel("init", str(folder), "--example", "loan")
        assert made.code == 0, made.err

    return _template(cache / "fresh", make)


def _ingested_template(keel: Keel, cache: Path) -> Path:
    def make(folder: Path) -> None:
        shutil.copytree(_fresh_template(keel, cache), folder)
        written = _ok(
            keel(
                "simulate",
                *("--rows", str(ROWS), "--seed", "3", "--start", "2024-01-01"),
                *("--end", "2024-04-01", "--by-month", "--out", "data", "--json"),
                cwd=folder,
            )
        )
        assert [Path(f).name for f in written["files"]] == list(MONTHS)
        for number, month in enumerate(MONTHS, start=1):
            body = _ok(keel("ingest", f"data/{month}", "--json", cwd=folder))
            assert (body["status"], body["quarantined"]) == ("accepted", 0), body
            assert body["dataset_version"] == number

    return _template(cache / "ingested", make)


def _trained_template(keel: Keel, cache: Path) -> Path:
    def make(folder: Path) -> None:
        shutil.copytree(_ingested_template(keel, cache), folder)
        result = keel("train", *SMALL, "--json", cwd=folder)
        assert result.code == 0, result.err
        (cache / "trained.json").write_text(result.out)

    return _template(cache / "trained", make)


@pytest.fixture
def fresh(keel: Keel, tmp_path: Path, cache: Path) -> Path:
    """A just-initialised loan project, no data."""
    return _copy(_fresh_template(keel, cache), tmp_path)


@pytest.fixture
def trained(keel: Keel, tmp_path: Path, cache: Path) -> Trained:
    """Three simulated months ingested (v1, v2, v3: 6,000 labelled rows), then
    ``keel train --json`` with a small model: run r-0001."""
    template = _trained_template(keel, cache)
    return Trained(_copy(template, tmp_path), json.loads((cache / "trained.json").read_text()))


@pytest.fixture
def refused(keel: Keel, tmp_path: Path, cache: Path) -> tuple[Path, Result]:
    """The trained project after ``keel train --param num_leaves=-1``, and what that printed."""
    said = cache / "refused.json"

    def make(folder: Path) -> None:
        shutil.copytree(_trained_template(keel, cache), folder)
        failed = keel("train", "--param", "num_leaves=-1", "--param", "n_estimators=30", cwd=folder)
        said.write_text(json.dumps(asdict(failed)))

    template = _template(cache / "refused", make)
    return _copy(template, tmp_path), Result(**json.loads(said.read_text()))


# ---------------------------------------------------------------- helpers


def _ok(result: Result) -> Any:
    assert result.code == 0, result.err
    return result.json()


def _train(keel: Keel, project: Path, *args: str) -> dict[str, Any]:
    body: dict[str, Any] = _ok(keel("train", *args, "--json", cwd=project))
    assert body["status"] == "succeeded", body
    return body


def _runs(keel: Keel, project: Path, *args: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = _ok(keel("runs", "list", "--json", *args, cwd=project))
    return found


def _show(keel: Keel, project: Path, run_id: str) -> dict[str, Any]:
    shown: dict[str, Any] = _ok(keel("runs", "show", run_id, "--json", cwd=project))
    return shown


def _one_error_line(result: Result, *, naming: str) -> list[str]:
    """A non-zero exit with exactly one 'error:' line (then hints), no traceback, no stdout."""
    assert result.code != 0
    assert "Traceback" not in result.err
    lines = result.err.strip().splitlines()
    assert lines, "nothing on stderr"
    assert lines[0].startswith("error: "), lines
    assert naming in lines[0], lines
    assert all(line.startswith("hint: ") for line in lines[1:]), lines
    assert result.out == ""
    return lines


def _configure(project: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Edit keel.yaml as data (comments are lost, which no test needs)."""
    path = project / "keel.yaml"
    config = yaml.safe_load(path.read_text())
    change(config)
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _input_columns(project: Path) -> set[str]:
    """Columns an explanation may name: the contract's, minus id, time and target, plus derived."""
    config = yaml.safe_load((project / "keel.yaml").read_text())
    named = {config["entity"], config["timestamp"], config["target"]["column"]}
    return set(config["contract"]["columns"]) - named | set(config["features"]["derived"])


def _check_explained_rows(rows: list[dict[str, Any]], *, top: int, columns: set[str]) -> None:
    for row in rows:
        assert 0.0 <= row["score"] <= 1.0, row
        assert _finite(row["bias"]), row
        pairs = row["contributions"]
        assert 0 < len(pairs) <= top, row
        assert all(len(pair) == 2 for pair in pairs), row
        assert all(isinstance(c, str) and c in columns for c, _ in pairs), row
        assert all(_finite(v) for _, v in pairs), row
        sizes = [abs(v) for _, v in pairs]
        assert sizes == sorted(sizes, reverse=True), "contributions are not largest first"


def _check_calibrated_order(rows: list[dict[str, Any]]) -> None:
    """With every contribution shown, bias + sum is the raw log-odds; the calibrated score is a
    non-decreasing function of it (isotonic), so raw order and score order never disagree."""
    points = sorted(
        ((_sigmoid(row["bias"] + sum(v for _, v in row["contributions"])), row) for row in rows),
        key=lambda point: point[0],
    )
    for (p, low), (q, high) in itertools.combinations(points, 2):
        if q - p > 1e-9:
            assert low["score"] <= high["score"] + 1e-12, (p, low, q, high)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _assert_nothing_pickled(project: Path) -> None:
    files = [p for p in (project / ".keel" / "store").rglob("*") if p.is_file()]
    assert files, "the store is empty"
    pickled = []
    for path in files:
        with path.open("rb") as handle:
            head = handle.read(2)
        if len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
            pickled.append(path)
    assert pickled == []


# ---------------------------------------------------------------- keel train


def test_train_json_reports_the_run(trained: Trained) -> None:
    body = trained.run
    assert set(body) >= {
        "run_id",
        "status",
        "data_version",
        "metrics",
        "benchmarks",
        "model_sha256",
        "seed",
        "params",
        "environment",
        "artifacts",
        "error",
    }
    assert (body["run_id"], body["status"], body["error"]) == ("r-0001", "succeeded", None)
    assert body["data_version"] == 3  # the latest version by default
    assert body["seed"] == 42  # keel.yaml's model.seed
    assert SHA256.fullmatch(body["model_sha256"])
    assert body["artifacts"]["model"] == body["model_sha256"]
    model = body["params"]["model"]
    assert model["kind"] == "lightgbm"
    assert model["params"] == {"learning_rate": 0.05, "num_leaves": 15, "n_estimators": 30}
    metrics = body["metrics"]
    assert set(metrics) == METRICS
    assert all(_finite(v) for v in metrics.values()), metrics
    assert 0.75 < metrics["roc_auc"] <= 1.0
    assert metrics["log_loss"] > 0
    assert 0 <= metrics["brier"] <= 0.25
    assert 0 <= metrics["ece"] <= 0.1
    assert body["benchmarks"] == {"holdout": metrics}
    for name, estimate in body["details"]["benchmarks"]["holdout"].items():
        assert estimate["n"] == HOLDOUT, name
        assert estimate["low"] <= estimate["value"] == metrics[name] <= estimate["high"], name
        assert estimate["method"] == "bootstrap", name  # 1,200 rows: the row bootstrap


def test_identical_training_gives_the_same_model_and_another_seed_does_not(
    keel: Keel, trained: Trained
) -> None:
    again = keel("train", *SMALL, cwd=trained.path)
    assert again.code == 0, again.err
    assert "run r-0002 · data v3" in again.out
    checksum = re.search(r"model sha256 ([0-9a-f]{64})", again.out)
    assert checksum is not None, again.out
    assert checksum.group(1) == trained.run["model_sha256"]
    seven = _train(keel, trained.path, *SMALL, "--seed", "7")
    assert (seven["run_id"], seven["seed"]) == ("r-0003", 7)
    assert seven["model_sha256"] != trained.run["model_sha256"]


def test_data_option_trains_on_that_version(keel: Keel, trained: Trained) -> None:
    january = pl.read_parquet(trained.path / "data" / MONTHS[0]).height
    body = _train(keel, trained.path, "--data", "v1", *SMALL)
    assert body["data_version"] == 1
    assert body["model_sha256"] != trained.run["model_sha256"]
    shown = keel("runs", "show", body["run_id"], cwd=trained.path)
    assert shown.code == 0, shown.err
    assert f"data v1: {january} rows, {january} labelled" in shown.out


# ---------------------------------------------------------------- reproduce


def test_reproduce_retrains_byte_for_byte(keel: Keel, trained: Trained) -> None:
    result = keel("reproduce", "r-0001", "--json", cwd=trained.path)
    body = _ok(result)
    assert (body["run_id"], body["reproduction"]) == ("r-0001", "r-0002")
    assert body["identical"] is True
    assert body["original_sha256"] == body["reproduced_sha256"] == trained.run["model_sha256"]
    assert body["differences"] == []
    copy = _show(keel, trained.path, "r-0002")
    assert (copy["status"], copy["parent"]) == ("succeeded", "r-0001")
    assert "reproduction" in copy["tags"]
    assert copy["model_sha256"] == trained.run["model_sha256"]


# ---------------------------------------------------------------- keel runs


def test_runs_list_show_and_compare(keel: Keel, trained: Trained) -> None:
    project = trained.path
    smaller = _train(keel, project, "--param", "n_estimators=30", "--param", "num_leaves=7")
    assert smaller["run_id"] == "r-0002"
    listed = _runs(keel, project)
    assert [r["run_id"] for r in listed] == ["r-0002", "r-0001"]  # newest first
    assert [r["status"] for r in listed] == ["succeeded", "succeeded"]
    assert listed[1]["model_sha256"] == trained.run["model_sha256"]
    assert [r["run_id"] for r in _runs(keel, project, "--limit", "1")] == ["r-0002"]
    assert _show(keel, project, "r-0001") == trained.run
    compared = _ok(keel("runs", "compare", "r-0001", "r-0002", "--json", cwd=project))
    assert (compared["a"], compared["b"]) == ("r-0001", "r-0002")
    assert compared["params"] == [{"name": "num_leaves", "a": 15, "b": 7}]
    rows = compared["metrics"]
    assert {(r["benchmark"], r["metric"]) for r in rows} == {("holdout", m) for m in METRICS}
    for row in rows:
        metric = row["metric"]
        assert row["a"]["value"] == trained.run["metrics"][metric]
        assert row["b"]["value"] == smaller["metrics"][metric]
        assert row["delta"] == pytest.approx(row["b"]["value"] - row["a"]["value"], abs=1e-12)
        assert row["a"]["low"] <= row["a"]["value"] <= row["a"]["high"]


def test_the_model_card_in_markdown_and_html(keel: Keel, trained: Trained) -> None:
    project = trained.path
    limitations = yaml.safe_load((project / "keel.yaml").read_text())["limitations"]
    assert limitations
    metrics = trained.run["metrics"]
    markdown = keel("runs", "card", "r-0001", cwd=project)
    assert markdown.code == 0, markdown.err
    for text in limitations:
        assert f"- {text}" in markdown.out
    assert "## Limitations" in markdown.out
    assert "## Benchmark 'holdout'" in markdown.out
    assert "| metric | value | interval | method | rows |" in markdown.out
    assert "- bootstrap: percentile bootstrap over the rows" in markdown.out
    assert f"| roc_auc | {metrics['roc_auc']:.4f} |" in markdown.out
    assert f"| brier | {metrics['brier']:.4f} |" in markdown.out
    assert trained.run["model_sha256"] in markdown.out

    written = keel("runs", "card", "r-0001", "--out", "card.html", cwd=project)
    assert written.code == 0, written.err
    page = (project / "card.html").read_text()
    assert page.lower().startswith("<!doctype html>")
    assert page.count("<svg") >= 2  # the calibration plot and the importance bars
    assert "<script" not in page.lower()
    assert "src=" not in page
    assert "<link" not in page.lower()
    for text in limitations:
        assert html.escape(text) in page
    assert html.escape("Benchmark 'holdout'") in page
    assert f"<td>roc_auc</td><td>{metrics['roc_auc']:.4f}</td>" in page


# ---------------------------------------------------------------- keel explain


def test_explain_gives_scores_and_top_contributions(keel: Keel, trained: Trained) -> None:
    project = trained.path
    columns = _input_columns(project)
    three = _ok(keel("explain", "r-0001", "--rows", "3", "--json", cwd=project))
    assert three["run_id"] == "r-0001"
    rows = three["rows"]
    assert len(rows) == 3
    first = pl.read_parquet(project / "data" / MONTHS[0]).head(3)["application_id"].to_list()
    assert [r["id"] for r in rows] == first  # the first rows of the run's data version
    _check_explained_rows(rows, top=5, columns=columns)
    assert all(len(r["contributions"]) == 5 for r in rows)  # the default --top

    everything = _ok(
        keel("explain", "r-0001", "--rows", "40", "--top", "100", "--json", cwd=project)
    )["rows"]
    assert len(everything) == 40
    _check_explained_rows(everything, top=100, columns=columns)
    for short, full in zip(rows, everything, strict=False):
        assert (short["id"], short["score"]) == (full["id"], full["score"])
        assert short["contributions"] == full["contributions"][:5]
    _check_calibrated_order(everything)

    march = pl.read_parquet(project / "data" / MONTHS[2]).head(2)["application_id"].to_list()
    from_file = _ok(
        keel(
            "explain",
            "r-0001",
            *("--file", f"data/{MONTHS[2]}", "--rows", "2", "--top", "3", "--json"),
            cwd=project,
        )
    )["rows"]
    assert [r["id"] for r in from_file] == march
    _check_explained_rows(from_file, top=3, columns=columns)


def test_explain_rows_reach_past_the_first_ingested_month(keel: Keel, trained: Trained) -> None:
    """v3 holds 6,000 rows (three ingested months); --rows 2500 should explain 2,500 of them."""
    january = pl.read_parquet(trained.path / "data" / MONTHS[0]).height
    assert january < 2500 < ROWS
    rows = _ok(
        keel("explain", "r-0001", "--rows", "2500", "--top", "1", "--json", cwd=trained.path)
    )["rows"]
    assert len(rows) == 2500, f"{len(rows)} rows explained (January alone has {january})"


# ---------------------------------------------------------------- failures


def test_refused_parameters_fail_the_run_and_the_run_says_so(
    keel: Keel, refused: tuple[Path, Result]
) -> None:
    project, failed = refused
    assert failed.code == 2  # InvalidInput
    assert "Traceback" not in failed.err
    assert "error: " in failed.err
    assert "num_leaves" in failed.err
    assert failed.out == ""
    latest = _runs(keel, project)[0]
    assert (latest["run_id"], latest["status"]) == ("r-0002", "failed")
    assert "num_leaves" in latest["error"]
    assert latest["model_sha256"] is None
    assert latest["finished_at"] is not None
    assert latest["metrics"] == {}
    no_card = keel("runs", "card", "r-0002", cwd=project)
    assert no_card.code == 2
    _one_error_line(no_card, naming="r-0002")


def test_refused_parameters_print_one_error_line(refused: tuple[Path, Result]) -> None:
    _, failed = refused
    assert failed.code == 2
    _one_error_line(failed, naming="num_leaves")


def test_a_changed_benchmark_definition_is_refused(keel: Keel, trained: Trained) -> None:
    project = trained.path

    def widen(config: dict[str, Any]) -> None:
        assert config["benchmark"]["sets"]["holdout"] == {"split": "time", "fraction": 0.2}
        config["benchmark"]["sets"]["holdout"]["fraction"] = 0.3

    _configure(project, widen)
    refused = keel("train", *SMALL, cwd=project)
    assert refused.code == 4  # Conflict
    lines = _one_error_line(refused, naming="holdout")
    assert any("name" in line for line in lines[1:]), lines  # the hint: rename the set
    latest = _runs(keel, project)[0]
    assert (latest["run_id"], latest["status"]) == ("r-0002", "failed")
    assert "holdout" in latest["error"]

    def rename(config: dict[str, Any]) -> None:
        config["benchmark"]["sets"] = {"holdout_30": config["benchmark"]["sets"]["holdout"]}

    _configure(project, rename)
    renamed = _train(keel, project, *SMALL)
    assert list(renamed["benchmarks"]) == ["holdout_30"]
    assert renamed["details"]["benchmarks"]["holdout_30"]["roc_auc"]["n"] == 1800


def test_rows_of_a_renamed_benchmark_set_still_never_train(keel: Keel, trained: Trained) -> None:
    """docs/training.md: 'No row of any frozen set ever trains a model.' After the hinted rename,
    the set frozen as 'holdout' still exists; its 1,200 rows must stay out of training."""
    project = trained.path

    def rename(config: dict[str, Any]) -> None:
        config["benchmark"]["sets"] = {"sample": {"split": "random", "fraction": 0.1}}

    _configure(project, rename)
    body = _train(keel, project, *SMALL)
    shown = keel("runs", "show", body["run_id"], cwd=project)
    assert shown.code == 0, shown.err
    pool = re.search(r"training pool: (\d+) rows", shown.out)
    assert pool is not None, shown.out
    # 6,000 rows minus 'holdout' (1,200, frozen by r-0001) minus 'sample' (600, some overlap)
    assert int(pool.group(1)) <= ROWS - HOLDOUT, pool.group(0)


def test_training_without_data_says_to_ingest(keel: Keel, fresh: Path) -> None:
    result = keel("train", "--json", cwd=fresh)
    assert result.code == 3  # NotFound
    lines = _one_error_line(result, naming="no version to train on")
    assert any("keel ingest" in line for line in lines[1:]), lines
    assert all(r["status"] != "running" for r in _runs(keel, fresh))


def test_bad_arguments_are_one_line_errors(keel: Keel, trained: Trained) -> None:
    project = trained.path
    missing = keel("train", "--data", "v9", *SMALL, cwd=project)
    assert missing.code == 3
    _one_error_line(missing, naming="v9")
    unknown = keel("runs", "compare", "r-0001", "r-0404", "--json", cwd=project)
    assert unknown.code == 3
    _one_error_line(unknown, naming="r-0404")
    assert [r["run_id"] for r in _runs(keel, project)] == ["r-0001"]


# ---------------------------------------------------------------- keel tune


def test_tune_runs_the_trials_and_tags_the_best(keel: Keel, trained: Trained) -> None:
    project = trained.path

    def small_search(config: dict[str, Any]) -> None:
        config["model"]["params"]["n_estimators"] = 30
        config["model"]["search"] = {
            "trials": 10,
            "space": {"num_leaves": [7, 15], "learning_rate": [0.05, 0.2, "log"]},
        }

    _configure(project, small_search)
    body = _ok(keel("tune", "--trials", "2", "--json", cwd=project))
    assert (body["metric"], body["benchmark"]) == ("roc_auc", "holdout")
    trials = body["trials"]
    assert len(trials) == 2
    ids = [t["run_id"] for t in trials]
    assert len(set(ids)) == 2
    assert "r-0001" not in ids
    for trial in trials:
        params = trial["params"]
        assert isinstance(params["num_leaves"], int)
        assert 7 <= params["num_leaves"] <= 15
        assert 0.05 <= params["learning_rate"] <= 0.2
        assert params["n_estimators"] == 30
        assert 0.5 < trial["roc_auc"] <= 1.0
    assert body["best"] == max(trials, key=lambda t: t["roc_auc"])["run_id"]
    best = _show(keel, project, body["best"])
    assert best["status"] == "succeeded"
    assert "best" in best["tags"]
    assert f"study:{body['study']}" in best["tags"]
    assert best["metrics"]["roc_auc"] == max(t["roc_auc"] for t in trials)
    tagged = {r["run_id"]: r["tags"] for r in _runs(keel, project)}
    assert [i for i, tags in tagged.items() if "best" in tags] == [body["best"]]
    assert all(f"study:{body['study']}" in tagged[i] for i in ids)


# ---------------------------------------------------------------- keel train --seeds


def test_seeds_fan_out_one_run_each_and_report_the_spread(keel: Keel, trained: Trained) -> None:
    project = trained.path
    body = _ok(keel("train", "--seeds", "3", "--seed", "7", *SMALL, "--json", cwd=project))
    assert body["seeds"] == [7, 8, 9] and body["failed"] == {}
    ids = [r["run_id"] for r in body["runs"]]
    assert [r["seed"] for r in body["runs"]] == [7, 8, 9] and len(set(ids)) == 3
    shown = [_show(keel, project, run_id) for run_id in ids]
    assert all(f"seeds:{body['group']}" in run["tags"] for run in shown)
    auc = [run["metrics"]["roc_auc"] for run in shown]
    assert len(set(auc)) > 1, "the seeds trained the same model"
    [spread] = [s for s in body["spread"] if s["metric"] == "roc_auc"]
    assert spread["n"] == 3
    assert math.isclose(spread["mean"], statistics.fmean(auc), rel_tol=1e-12)
    assert math.isclose(spread["sd"], statistics.stdev(auc), rel_tol=1e-12)
    assert (spread["min"], spread["max"]) == (min(auc), max(auc))
    assert {s["metric"] for s in body["spread"]} == METRICS

    text = keel("train", "--seeds", "2", "--seed", "7", *SMALL, cwd=project)
    assert text.code == 0, text.err
    assert "spread over the seeds" in text.out and "roc_auc" in text.out


def test_seed_options_out_of_range_are_refused_before_training(
    keel: Keel, trained: Trained
) -> None:
    project = trained.path
    before = len(_runs(keel, project))
    past = keel("train", "--seeds", "2", "--seed", str(2**31 - 1), cwd=project)
    assert past.code == 2
    _one_error_line(past, naming="2147483647")
    alone = keel("train", "--executor", "ray", cwd=project)
    assert alone.code == 2
    _one_error_line(alone, naming="--seeds")
    unknown = keel("train", "--seeds", "2", "--executor", "spark", cwd=project)
    assert unknown.code == 2
    _one_error_line(unknown, naming="spark")
    assert len(_runs(keel, project)) == before


# ---------------------------------------------------------------- logistic, storage


def test_a_logistic_model_trains_explains_and_reproduces(keel: Keel, trained: Trained) -> None:
    project = trained.path

    def logistic(config: dict[str, Any]) -> None:
        config["model"]["kind"] = "logistic"
        config["model"]["params"] = {"C": 1.0}
        config["model"].pop("search", None)

    _configure(project, logistic)
    body = _train(keel, project)
    assert body["params"]["model"]["kind"] == "logistic"
    assert 0.75 < body["metrics"]["roc_auc"] <= 1.0
    assert body["model_sha256"] != trained.run["model_sha256"]
    explained = _ok(
        keel("explain", body["run_id"], "--rows", "30", "--top", "100", "--json", cwd=project)
    )["rows"]
    assert len(explained) == 30
    _check_explained_rows(explained, top=100, columns=_input_columns(project))
    _check_calibrated_order(explained)
    again = _ok(keel("reproduce", body["run_id"], "--json", cwd=project))
    assert again["identical"] is True
    assert again["reproduced_sha256"] == body["model_sha256"]
    _assert_nothing_pickled(project)  # a LightGBM and a logistic model, cards, parquet parts


def test_nothing_in_the_store_is_pickled(trained: Trained) -> None:
    _assert_nothing_pickled(trained.path)


# ---------------------------------------------------------------- the ACS example


@pytest.mark.slow
def test_acs_example_meets_its_quality_bar(keel: Keel, tmp_path: Path) -> None:
    made = keel("init", "acs", "--example", "acs")
    assert made.code == 0, made.err
    project = tmp_path / "acs"
    ingested = _ok(keel("ingest", "acs_employment_ma.parquet", "--json", cwd=project))
    assert ingested["status"] == "accepted"
    started = time.monotonic()
    body = _train(keel, project)
    took = time.monotonic() - started
    source = pl.read_parquet(project / "acs_employment_ma.parquet")
    rows = dict(source.filter(pl.col("employed").is_not_null())["year"].value_counts().iter_rows())
    print(f"\nACS keel train: {took:.1f} s (run duration {body['duration_s']:.1f} s)")
    assert set(body["benchmarks"]) == {"2016", "2017", "2018"}
    for name, metrics in body["benchmarks"].items():
        print(f"  {name}: roc_auc {metrics['roc_auc']:.4f} · accuracy {metrics['accuracy']:.4f}")
        assert body["details"]["benchmarks"][name]["roc_auc"]["n"] == rows[int(name)]
    for name, metrics in body["benchmarks"].items():
        assert metrics["roc_auc"] >= 0.90, (name, metrics)
        assert metrics["accuracy"] >= 0.82, (name, metrics)


def test_a_benchmark_without_resamples_prints_no_interval(keel: Keel, trained: Trained) -> None:
    def no_resamples(config: dict[str, Any]) -> None:
        config["benchmark"]["resamples"] = 0
        config["benchmark"]["sets"] = {"small": {"split": "random", "fraction": 0.05}}

    _configure(trained.path, no_resamples)
    result = keel("train", *SMALL, cwd=trained.path)
    assert result.code == 0, result.err
    assert "n/a" in result.out and "roc_auc" in result.out
