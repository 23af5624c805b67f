"""The training plane called as a face calls it: typed results whose JSON is what the commands
print, progress through callbacks, and the audit trail of a reproduction."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from tests.contract.conftest import ingest_simulated

from keel.app import project as project_plane
from keel.app import training as use
from keel.app.session import open_project
from keel.errors import InvalidInput
from keel.wiring import Keel

SMALL = {"n_estimators": 30, "num_leaves": 15}


@pytest.fixture(scope="module")
def keel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keel]:
    """The loan project with 3,000 simulated applications ingested, and a small search space."""
    folder: Path = tmp_path_factory.mktemp("training") / "proj"
    project_plane.init(folder, "loan")
    config = yaml.safe_load((folder / "keel.yaml").read_text())
    config["model"]["params"]["n_estimators"] = 30
    config["model"]["search"] = {"trials": 10, "space": {"num_leaves": [7, 15]}}
    (folder / "keel.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    opened = open_project(folder)
    ingest_simulated(opened, 3000, datetime(2024, 1, 1), datetime(2024, 4, 1))
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def first(keel: Keel) -> tuple[use.RunSummary, list[str]]:
    """The first run, with the steps it said it was starting."""
    steps: list[str] = []
    return use.train(keel, params=SMALL, say=steps.append), steps


def test_training_names_its_steps_and_sums_up_the_run(
    first: tuple[use.RunSummary, list[str]],
) -> None:
    summary, steps = first
    assert steps[0] == "reading data" and steps[-1] == "storing the model and its card"
    body = summary.to_dict()
    assert list(body)[-3:] == ["benchmarks", "details", "metrics"]
    holdout = body["details"]["benchmarks"]["holdout"]
    assert body["benchmarks"] == {"holdout": {m: e["value"] for m, e in holdout.items()}}
    assert body["metrics"] == body["benchmarks"]["holdout"] == summary.metrics
    assert body["run_id"] == summary.run.id and body["status"] == "succeeded"


def test_listing_and_showing_give_the_same_summary(
    keel: Keel, first: tuple[use.RunSummary, list[str]]
) -> None:
    summary, _ = first
    shown = use.show_run(keel, summary.run.id)
    assert shown.to_dict() == summary.to_dict()
    assert summary.run.id in [s.run.id for s in use.list_runs(keel, limit=50)]


def test_the_card_in_both_forms(keel: Keel, first: tuple[use.RunSummary, list[str]]) -> None:
    run_id = first[0].run.id
    markdown = use.card(keel, run_id)
    assert markdown.form == "markdown" and markdown.text.startswith("## Lineage")
    page = use.card(keel, run_id, form="html")
    assert page.content.startswith(b"<!doctype html>") and page.to_dict()["form"] == "html"


def test_a_comparison_lists_changed_settings_and_metric_differences(
    keel: Keel, first: tuple[use.RunSummary, list[str]]
) -> None:
    a = first[0].run
    b = use.train(keel, params={**SMALL, "num_leaves": 7}).run
    found = use.compare(keel, a.id, b.id)
    assert [(p.name, p.a, p.b) for p in found.params] == [("num_leaves", 15, 7)]
    assert [m.metric for m in found.metrics] == sorted(m.metric for m in found.metrics)
    auc = next(m for m in found.metrics if m.metric == "roc_auc")
    assert auc.delta == pytest.approx(auc.b["value"] - auc.a["value"])
    body = found.to_dict()
    assert (body["a"], body["b"]) == (a.id, b.id)
    assert body["params"] == [{"name": "num_leaves", "a": 15, "b": 7}]
    assert set(body["metrics"][0]) == {"benchmark", "metric", "a", "b", "delta"}


def test_a_reproduction_is_identical_and_recorded(
    keel: Keel, first: tuple[use.RunSummary, list[str]]
) -> None:
    original = first[0].run
    found = use.reproduce(keel, original.id)
    assert found.identical and found.differences == ()
    assert found.reproduced_sha256 == found.original_sha256 == original.model_sha256
    assert list(found.to_dict()) == [
        "run_id",
        "reproduction",
        "identical",
        "original_sha256",
        "reproduced_sha256",
        "differences",
    ]
    with keel.reader() as unit:
        (event,) = unit.audit.recent(action="training.reproduce", limit=1)
    assert event.subject == f"run:{original.id}"
    assert event.details == {
        "reproduction": found.reproduction,
        "identical": True,
        "differences": [],
    }


def test_explaining_gives_each_rows_top_contributions(
    keel: Keel, first: tuple[use.RunSummary, list[str]]
) -> None:
    found = use.explain(keel, first[0].run.id, rows=3, top=2)
    assert len(found.rows) == 3
    for row in found.rows:
        assert 0 <= row.score <= 1 and len(row.contributions) == 2
        assert isinstance(row.id, str)  # the entity id
    body = found.to_dict()
    assert list(body) == ["run_id", "rows"]
    assert list(body["rows"][0]) == ["id", "score", "bias", "contributions"]
    assert isinstance(body["rows"][0]["contributions"][0], list)  # [column, value], as before


def test_a_missing_run_model_or_card_is_refused(keel: Keel) -> None:
    with pytest.raises(InvalidInput, match="LightGBM refused"):
        use.train(keel, params={"num_leaves": -1})
    failed = use.list_runs(keel, limit=1)[0].run
    with pytest.raises(InvalidInput, match="has no card"):
        use.card(keel, failed.id)
    with pytest.raises(InvalidInput, match="has no model to reproduce"):
        use.reproduce(keel, failed.id)


def test_a_study_reports_each_trial_under_its_metric(keel: Keel) -> None:
    opened: list[int] = []
    done: list[int] = []

    @contextmanager
    def progress(total: int) -> Iterator[Callable[[int], None]]:
        opened.append(total)
        yield done.append

    study = use.tune(keel, trials=2, progress=progress)
    assert opened == [2] and done == [1, 2]
    assert (study.metric, study.benchmark) == ("roc_auc", "holdout")
    body = study.to_dict()
    assert list(body) == ["study", "metric", "benchmark", "best", "trials"]
    assert [list(t) for t in body["trials"]] == [["run_id", "params", "roc_auc"]] * 2
    assert body["best"] == max(body["trials"], key=lambda t: t["roc_auc"])["run_id"]


def test_the_training_plane_loads_without_the_training_stack() -> None:
    code = (
        "import sys, keel.app.training, keel.cli.app; "
        "heavy = {'lightgbm', 'sklearn', 'optuna', 'keel.training.service'} & set(sys.modules); "
        "sys.exit(', '.join(sorted(heavy)) or None)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
