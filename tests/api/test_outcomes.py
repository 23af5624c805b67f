"""Outcomes over the API: checked whole, durable before the 202, joined to their predictions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from keel.predictions import PredictionRecord
from keel.store.tables.outcome_log import OutcomeLog, join_outcomes
from keel.store.tables.prediction_log import PredictionLog
from tests.api.live import Server


@pytest.fixture(scope="module")
def client(shared_server: Server) -> Iterator[httpx.Client]:
    with shared_server.client() as client:
        yield client


def test_outcomes_join_their_predictions_by_id_or_entity(
    client: httpx.Client, records: list[dict[str, Any]], shared_project: Path
) -> None:
    answers = client.post("/v1/predict", json={"records": records[40:43]}).json()["predictions"]
    outcomes = [
        {"id": answers[0]["id"], "label": 1},
        {"prediction_id": answers[1]["id"], "label": 0, "decision": "approve"},
        {"entity_id": answers[2]["entity_id"], "decision": "decline"},
    ]
    response = client.post("/v1/outcomes", json={"outcomes": outcomes})
    assert response.status_code == 202
    assert response.json() == {"accepted": 3, "matched": 3, "unmatched": 0}
    state = shared_project / ".keel"
    with PredictionLog(state / "predictions") as predictions, OutcomeLog(state / "outcomes") as log:
        joined = join_outcomes(predictions.scan(), log.scan()).collect()
    by_id = {row["prediction_id"]: row for row in joined.to_dicts()}
    assert [by_id[a["id"]]["label"] for a in answers] == [1.0, 0.0, None]
    assert [by_id[a["id"]]["outcome_decision"] for a in answers] == [None, "approve", "decline"]
    assert {by_id[a["id"]]["outcome_source"] for a in answers} == {"api"}


@pytest.mark.parametrize(
    ("outcomes", "path", "reason"),
    [
        ([], "outcomes", "non-empty list"),
        ({"id": "x"}, "outcomes", "non-empty list"),
        ([{"id": "x", "label": 1}, 5], "outcomes[1]", "expected an object"),
        ([{"label": 1}], "outcomes[0].id", "give the prediction 'id' or the 'entity_id'"),
        ([{"id": "x"}], "outcomes[0].label", "give a 'label' or a reviewer's 'decision'"),
        ([{"id": "x", "label": 7}], "outcomes[0].label", "expected 0 or 1, got 7"),
        ([{"id": "x", "label": 1, "score": 3}], "outcomes[0].score", "unknown field"),
        ([{"id": ["x"], "label": 1}], "outcomes[0].id", "expected a string"),
    ],
    ids=[
        "empty",
        "not-a-list",
        "not-an-object",
        "no-id",
        "no-label",
        "bad-label",
        "extra",
        "bad-id",
    ],
)
def test_a_bad_outcome_is_a_422_and_none_is_stored(
    client: httpx.Client, outcomes: object, path: str, reason: str
) -> None:
    response = client.post("/v1/outcomes", json={"outcomes": outcomes})
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["path"] == path and reason in error["reason"], error


def test_an_unknown_top_level_field_is_refused(client: httpx.Client) -> None:
    response = client.post("/v1/outcomes", json={"outcomes": [{"id": "x", "label": 1}], "x": 1})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"path": "x", "reason": "unknown field 'x'"}]


def _joined(project: Path) -> dict[str, dict[str, Any]]:
    state = project / ".keel"
    with PredictionLog(state / "predictions") as predictions, OutcomeLog(state / "outcomes") as log:
        joined = join_outcomes(predictions.scan(), log.scan()).collect()
    return {row["prediction_id"]: row for row in joined.to_dicts()}


def test_an_unknown_prediction_id_is_counted_unmatched_and_joins_once_logged(
    client: httpx.Client, records: list[dict[str, Any]], shared_project: Path
) -> None:
    known = client.post("/v1/predict", json={"records": records[50:51]}).json()["predictions"]
    late = "0190aaaa-late-prediction-from-another-replica"
    outcomes = [{"id": known[0]["id"], "label": 1}, {"id": late, "label": 0}]
    response = client.post("/v1/outcomes", json={"outcomes": outcomes})
    assert response.status_code == 202
    body = response.json()
    assert (body["accepted"], body["matched"], body["unmatched"]) == (2, 1, 1)
    assert body["unmatched_ids"] == [late] and "kept" in body["note"]
    assert late not in _joined(shared_project)
    # The prediction reaches the log later (another replica's rows, shipped after the outcome).
    with PredictionLog(shared_project / ".keel" / "predictions") as log:
        log.append(
            [
                PredictionRecord(
                    request_id="r-late",
                    prediction_id=late,
                    time=datetime.now(UTC),
                    model=f"{known[0]['model']}",
                    entity_id="late-entity",
                    inputs=records[51],
                    score=0.2,
                    decision="approve",
                )
            ]
        )
    row = _joined(shared_project)[late]
    assert row["label"] == 0.0 and row["outcome_source"] == "api"


def test_an_entity_outcome_before_any_prediction_joins_the_later_prediction(
    client: httpx.Client, records: list[dict[str, Any]], shared_project: Path
) -> None:
    record = {**records[52], "application_id": "a-9999999901"}
    outcome = {"entity_id": "a-9999999901", "decision": "decline"}
    body = client.post("/v1/outcomes", json={"outcomes": [outcome]}).json()
    assert (body["matched"], body["unmatched"]) == (0, 1)
    assert body["unmatched_ids"] == ["entity:a-9999999901"]
    [answer] = client.post("/v1/predict", json={"records": [record]}).json()["predictions"]
    assert _joined(shared_project)[answer["id"]]["outcome_decision"] == "decline"
    again = client.post("/v1/outcomes", json={"outcomes": [outcome]}).json()
    assert (again["matched"], again["unmatched"]) == (1, 0)
