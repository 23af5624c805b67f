"""Training end to end on each metadata backend: runs, frozen benchmarks, reproducibility."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from tests.contract.conftest import ingest_simulated, loan_project

from keel.errors import Conflict, InvalidInput
from keel.models.bundle import load_bundle
from keel.simulate import simulate_frame
from keel.training.runs import RunStatus
from keel.training.service import TrainRequest
from keel.training.spec import BenchmarkSetSpec, RowFilter
from keel.wiring import Keel

SMALL = {"n_estimators": 40, "num_leaves": 15}


@pytest.fixture
def keel(tmp_path: Path, database_url: str) -> Iterator[Keel]:
    """The loan project with 6,000 simulated, labelled applications ingested as v1."""
    opened = loan_project(tmp_path / "proj", database_url)
    ingest_simulated(opened, 6000, datetime(2024, 1, 1), datetime(2024, 4, 1))
    yield opened
    opened.close()


@pytest.fixture
def large(tmp_path: Path, database_url: str) -> Iterator[Keel]:
    """The loan project with 60,000 applications: a 12,000-row holdout, large-sample intervals."""
    opened = loan_project(tmp_path / "large", database_url)
    ingest_simulated(opened, 60_000, datetime(2024, 1, 1), datetime(2024, 7, 1))
    yield opened
    opened.close()


def train(keel: Keel, **kwargs: object) -> object:
    request = TrainRequest(actor="tester", params=SMALL, **kwargs)  # type: ignore[arg-type]
    return keel.trainer().train(request)


def test_a_run_records_its_inputs_metrics_and_model(keel: Keel) -> None:
    run = keel.trainer().train(TrainRequest(actor="tester", params=SMALL))
    assert run.status is RunStatus.SUCCEEDED
    assert run.data_version == 1 and run.id == "r-0001"
    holdout = run.metrics["benchmarks"]["holdout"]
    assert 0.6 < holdout["roc_auc"]["value"] < 1.0
    assert holdout["roc_auc"]["low"] < holdout["roc_auc"]["value"] < holdout["roc_auc"]["high"]
    assert run.environment.packages_sha256 and run.model_sha256
    assert {"model", "card.md", "card.html"} <= set(run.artifacts)
    card = keel.blobs.get(run.artifacts["card.md"]).decode()
    assert "Trained on simulated applications" in card  # the limitations from keel.yaml
    with keel.reader() as unit:
        assert unit.runs.get(run.id) == run


def test_the_same_inputs_give_the_same_model(keel: Keel) -> None:
    first = keel.trainer().train(TrainRequest(actor="tester", params=SMALL))
    second = keel.trainer().train(TrainRequest(actor="tester", params=SMALL))
    assert first.model_sha256 == second.model_sha256
    other = keel.trainer().train(TrainRequest(actor="tester", params=SMALL, seed=99))
    assert other.model_sha256 != first.model_sha256


def test_benchmark_rows_are_frozen_and_never_train(keel: Keel) -> None:
    run = keel.trainer().train(TrainRequest(actor="tester", params=SMALL))
    with keel.reader() as unit:
        frozen = unit.benchmarks.get(keel.project.name, "holdout")
    assert frozen is not None and frozen.rows == 1200
    held = keel.rows.read(frozen.digest)
    assert (
        held["applied_at"].min() >= pl.Series([datetime(2024, 3, 1)]).dt.replace_time_zone("UTC")[0]
    )
    assert "training pool: 4800 rows" in run.logs
    again = keel.trainer().train(TrainRequest(actor="tester", params=SMALL))
    with keel.reader() as unit:
        assert unit.benchmarks.get(keel.project.name, "holdout") == frozen
    assert again.metrics["benchmarks"]["holdout"]["roc_auc"]["n"] == 1200


def test_the_train_filter_keeps_only_matching_rows_out_of_the_benchmark(keel: Keel) -> None:
    frame = simulate_frame(rows=6000, seed=5, start=datetime(2024, 1, 1), end=datetime(2024, 4, 1))
    older = frame.sort("applied_at", maintain_order=True).head(4800)  # the newest 20% are held
    north = older.filter(pl.col("region") == "north").height
    trainer = keel.trainer()
    only_north = RowFilter(where={"region": "north"})
    trainer.recipe = type(trainer.recipe)(
        trainer.recipe.model.model_copy(update={"train": only_north}), trainer.recipe.features
    )
    run = trainer.train(TrainRequest(actor="tester", params=SMALL))
    assert f"training pool: {north} rows" in run.logs
    assert run.metrics["benchmarks"]["holdout"]["roc_auc"]["n"] == 1200  # evaluated on all
    trainer.recipe = type(trainer.recipe)(
        trainer.recipe.model.model_copy(update={"train": RowFilter(where={"nope": 1})}),
        trainer.recipe.features,
    )
    with pytest.raises(InvalidInput) as refused:
        trainer.train(TrainRequest(actor="tester", params=SMALL))
    assert refused.value.path == "model.train.where"


def test_a_changed_benchmark_definition_is_refused(keel: Keel) -> None:
    keel.trainer().train(TrainRequest(actor="tester", params=SMALL))
    trainer = keel.trainer()
    trainer.benchmark = trainer.benchmark.model_copy(
        update={"sets": {"holdout": BenchmarkSetSpec(split="time", fraction=0.3)}}
    )
    with pytest.raises(Conflict, match="frozen"):
        trainer.train(TrainRequest(actor="tester", params=SMALL))


def test_a_failed_run_is_recorded_as_failed(keel: Keel) -> None:
    with pytest.raises(InvalidInput, match="LightGBM refused"):
        keel.trainer().train(TrainRequest(actor="tester", params={"num_leaves": -1}))
    with keel.reader() as unit:
        (run,) = unit.runs.list(keel.project.name)
        events = unit.audit.recent(action="training.run.failed")
    assert run.status is RunStatus.FAILED and run.finished_at is not None
    assert run.error and "LightGBM" in run.error
    assert events and events[0].subject == f"run:{run.id}"


def test_serving_records_score_like_training_frames(keel: Keel) -> None:
    run = keel.trainer().train(TrainRequest(actor="tester", params=SMALL))
    assert run.model_sha256
    bundle = load_bundle(keel.blobs, run.model_sha256)
    frame = simulate_frame(rows=300, seed=9, start=datetime(2024, 4, 1), end=datetime(2024, 5, 1))
    frame = frame.with_columns(pl.col(pl.Enum).cast(pl.String))
    records = frame.to_dicts()
    np.testing.assert_array_equal(bundle.score(frame), bundle.score_records(records))
    records[0]["purpose"] = "never-seen-before"
    scores = bundle.score_records(records)
    assert np.isfinite(scores).all() and 0 <= scores[0] <= 1


@pytest.mark.parametrize("kind", ["logistic"], ids=["logistic"])
def test_a_linear_baseline_trains_and_explains(keel: Keel, kind: str) -> None:
    trainer = keel.trainer()
    model = trainer.recipe.model.model_copy(update={"kind": kind, "params": {}})
    trainer.recipe = type(trainer.recipe)(model, trainer.recipe.features)
    run = trainer.train(TrainRequest(actor="tester"))
    assert run.params["model"]["kind"] == kind
    assert run.metrics["benchmarks"]["holdout"]["roc_auc"]["value"] > 0.6
    assert run.metrics["importance"]["gain"]


def test_no_stored_artifact_is_a_pickle(keel: Keel) -> None:
    keel.trainer().train(TrainRequest(actor="tester", params=SMALL))
    store = Path(keel.settings.store_url)
    blobs = [p for p in store.rglob("*") if p.is_file()]
    assert blobs
    for blob in blobs:
        head = blob.read_bytes()[:2]
        assert not (head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05")), blob


def test_a_golden_file_in_the_project_is_a_frozen_benchmark_set(keel: Keel) -> None:
    golden = simulate_frame(rows=500, seed=11, start=datetime(2024, 5, 1), end=datetime(2024, 6, 1))
    golden.write_parquet(keel.settings.project_dir / "golden.parquet")
    trainer = keel.trainer()
    trainer.benchmark = trainer.benchmark.model_copy(
        update={"sets": {"golden": BenchmarkSetSpec(file="golden.parquet")}}
    )
    run = trainer.train(TrainRequest(actor="tester", params=SMALL))
    assert run.metrics["benchmarks"]["golden"]["roc_auc"]["n"] == 500
    outside = keel.trainer()
    outside.benchmark = outside.benchmark.model_copy(
        update={"sets": {"elsewhere": BenchmarkSetSpec(file="../golden.parquet")}}
    )
    with pytest.raises(InvalidInput, match="outside the project folder"):
        outside.train(TrainRequest(actor="tester", params=SMALL))


def test_a_large_benchmark_set_names_its_interval_methods(large: Keel) -> None:
    run = large.trainer().train(TrainRequest(actor="tester", params=SMALL))
    holdout = run.metrics["benchmarks"]["holdout"]
    assert holdout["roc_auc"]["n"] == 12_000
    methods = {name: estimate["method"] for name, estimate in holdout.items()}
    assert methods == dict.fromkeys(methods, "delta") | {
        "roc_auc": "delong",
        "ece": "bin-bootstrap",
    }
    for name, estimate in holdout.items():
        assert estimate["low"] < estimate["value"] < estimate["high"], name
    card = large.blobs.get(run.artifacts["card.md"]).decode()
    assert "| roc_auc | " in card and " | delong | 12000 |" in card
    assert "- delta: normal interval, delta-method standard error" in card
