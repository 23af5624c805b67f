"""The typed results of the serving plane keep the JSON ``keel lineage`` and ``keel score``
have always printed."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from keel.app.queries import BatchLineage, DatasetLineage, Lineage, LoggedPrediction, ModelLineage
from keel.app.serving import Scored, ScoreRequest
from keel.serving.batch import ScoreSummary


def _row(**change: Any) -> dict[str, Any]:
    """One row of the prediction log as polars reads it back."""
    row = {
        "request_id": "r-1",
        "prediction_id": "p-1",
        "time": datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        "model": "loan-default/v1",
        "entity_id": "a-7",
        "inputs": '{"income": 1.0}',
        "score": 0.25,
        "decision": "review",
        "explanation": [{"column": "income", "value": -0.5}],
        "ood": ["income:high"],
        "fallback": None,
        "latency_ms": 1.5,
        "route": "champion",
        "policy": "0123456789abcdef",
    } | change
    return pl.DataFrame([row]).row(0, named=True)


def _as_before(row: dict[str, Any]) -> dict[str, Any]:
    """How the lineage command built the prediction before it was typed."""
    return {k: (str(v) if k == "time" else v) for k, v in row.items() if k != "inputs"}


def test_a_logged_prediction_keeps_the_logs_columns_in_order() -> None:
    for row in (_row(), _row(explanation=None, model=None, score=None, fallback="defer")):
        assert list(LoggedPrediction.from_row(row).to_dict().items()) == list(
            _as_before(row).items()
        )


def test_lineage_of_a_deferred_prediction_stops_at_the_prediction() -> None:
    row = _row(model=None, score=None, decision="review", fallback="defer")
    trace = Lineage(prediction=LoggedPrediction.from_row(row), inputs=row["inputs"])
    assert trace.to_dict() == {"prediction": _as_before(row), "inputs": row["inputs"]}


def test_lineage_names_model_dataset_and_batches() -> None:
    row = _row()
    trace = Lineage(
        prediction=LoggedPrediction.from_row(row),
        inputs=row["inputs"],
        model=ModelLineage("loan-default/v1", "ab" * 32, "run-1", 2, None),
        dataset_version=DatasetLineage("loan-default@v2", "cd" * 32),
        batches=(BatchLineage("b-1", "file", "data/a.csv", None),),
    )
    assert list(trace.to_dict()) == ["prediction", "inputs", "model", "dataset_version", "batches"]
    assert trace.to_dict()["model"] == {
        "model": "loan-default/v1",
        "model_sha256": "ab" * 32,
        "run_id": "run-1",
        "data_version": 2,
        "labels_version": None,
    }
    assert trace.to_dict()["batches"] == [
        {"id": "b-1", "source": "file", "uri": "data/a.csv", "file_sha256": None}
    ]


def test_scored_is_the_summary_with_the_model_and_the_files() -> None:
    request = ScoreRequest(out=Path("out/scored.parquet"), file=Path("a.csv"))
    assert request.rejects_file == Path("out/scored.rejected.parquet")
    summary = ScoreSummary(rows_in=10, scored=8, rejected=2, decisions=Counter(approve=8))
    summary.seconds = 2.0
    scored = Scored(summary, "loan-default/v1", request.out, request.rejects_file)
    assert scored.to_dict() == {
        **summary.to_dict(),
        "model": "loan-default/v1",
        "out": "out/scored.parquet",
        "rejects": "out/scored.rejected.parquet",
    }
    clean = Scored(ScoreSummary(rows_in=1, scored=1), "m", request.out, request.rejects_file)
    assert clean.to_dict()["rejects"] is None
