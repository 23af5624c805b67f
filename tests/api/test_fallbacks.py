"""Model failures never reach the client as a 500: the fallback chain answers and says why.

The chain is the project's ``decisions.fallback`` (here: previous_champion, baseline v3,
defer). The failures are real: v4 is a LightGBM model that raises on every request, a budget
of a microsecond is one a real model always exceeds, and a corrupt artifact fails its sha256.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from keel.serving.routing import BUCKETS, bucket
from tests.api.conftest import (
    BASELINE,
    CHALLENGER,
    OPERATOR,
    PROJECT,
    RAISES,
    corrupt_model,
    gate,
    logged,
    promote,
    release_model,
    set_baseline,
    set_fallback,
)
from tests.api.live import Server, wait_until

Serve = Callable[..., Server]


def predict(server: Server, records: list[dict[str, Any]]) -> httpx.Response:
    with server.client() as client:
        return client.post("/v1/predict", json={"records": records})


def release(server: Server) -> dict[str, Any]:
    with server.client() as client:
        body: dict[str, Any] = client.get("/v1/release").json()
        return body


def test_a_champion_that_raises_falls_back_to_the_previous_champion(
    project: Path, serve: Serve, records: list[dict[str, Any]]
) -> None:
    release_model(project, lambda keel: promote(keel, RAISES))
    server = serve()
    response = predict(server, records[:3])
    assert response.status_code == 200, response.text
    answers = response.json()["predictions"]
    for answer in answers:
        assert answer["model"] == f"{PROJECT}/v1" and answer["score"] is not None
        assert answer["fallback"].startswith(f"model {PROJECT}/v4 failed to score: LightGBMError")
        assert answer["fallback"].endswith("→ previous champion")
    rows = {r["prediction_id"]: r for r in logged(project)}
    assert [rows[a["id"]]["fallback"] for a in answers] == [a["fallback"] for a in answers]
    assert {rows[a["id"]]["model"] for a in answers} == {f"{PROJECT}/v1"}
    with server.client() as client:
        metrics = client.get("/metrics").text
    assert f'keel_fallbacks_total{{model="{PROJECT}/v4",reason="error"}} 1.0' in metrics


@pytest.mark.parametrize(
    ("chain", "model", "ending"),
    [
        (["baseline", "defer"], f"{PROJECT}/v3", "→ baseline"),
        (["defer"], None, "→ defer"),
    ],
    ids=["baseline", "defer"],
)
def test_the_chain_goes_on_to_the_baseline_and_defer(
    project: Path,
    serve: Serve,
    records: list[dict[str, Any]],
    chain: list[str],
    model: str | None,
    ending: str,
) -> None:
    release_model(project, lambda keel: promote(keel, RAISES))
    set_fallback(project, chain)
    [answer] = predict(serve(), records[:1]).json()["predictions"]
    assert answer["model"] == model and answer["fallback"].endswith(ending)
    if model is None:
        assert (answer["score"], answer["decision"]) == (None, "defer")
    else:
        assert answer["score"] is not None and answer["decision"] != "defer"
    [row] = [r for r in logged(project) if r["prediction_id"] == answer["id"]]
    assert (row["model"], row["decision"], row["fallback"]) == (
        model,
        answer["decision"],
        answer["fallback"],
    )


def test_a_chain_without_defer_answers_503_with_retry_after(
    project: Path, serve: Serve, records: list[dict[str, Any]]
) -> None:
    release_model(project, lambda keel: promote(keel, RAISES))
    set_fallback(project, ["baseline"])
    set_baseline(project, None)
    response = predict(serve(), records[:1])
    assert response.status_code == 503 and response.headers["retry-after"] == "1"
    [error] = response.json()["errors"]
    assert error["reason"].startswith("no model could answer: model loan-default/v4 failed")
    assert "defer" in response.json()["hint"]


def test_a_model_over_its_time_budget_falls_back_down_to_defer(
    project: Path, serve: Serve, records: list[dict[str, Any]]
) -> None:
    server = serve("--budget-ms", "1")  # 1,000 records with explanations take far longer
    with server.client() as client:
        response = client.post("/v1/predict", json={"records": records[:1000], "explain": 20})
    assert response.status_code == 200, response.text
    answers = response.json()["predictions"]
    assert len(answers) == 1000
    for answer in answers:
        assert answer["decision"] == "defer" and answer["score"] is None
    assert answers[0]["fallback"] == (
        f"{PROJECT}/v1 exceeded its 1 ms budget; no previous champion is loaded;"
        f" {PROJECT}/v3 exceeded its 1 ms budget → defer"
    )


def test_a_corrupt_artifact_at_swap_time_is_refused_and_the_old_model_serves(
    project: Path, serve: Serve, records: list[dict[str, Any]]
) -> None:
    server = serve("--poll", "0.1")
    release_model(project, lambda keel: gate(keel, CHALLENGER))  # passed, then corrupted
    corrupt_model(project, CHALLENGER)
    release_model(project, lambda keel: promote(keel, CHALLENGER, gated=True))
    wait_until(lambda: release(server)["refused"] is not None)
    shown = release(server)
    assert shown["release"] == "rel-0001" and shown["champion"] == f"{PROJECT}/v1"
    assert shown["refused"]["release"] == "rel-0002"
    assert "corrupt" in shown["refused"]["reasons"][f"{PROJECT}/v2"]
    response = predict(server, records[:2])
    assert response.status_code == 200
    assert {a["model"] for a in response.json()["predictions"]} == {f"{PROJECT}/v1"}
    with server.client() as client:
        assert client.get("/readyz").json() == {"ready": True, "release": "rel-0001"}
        assert "keel_release_refused 1.0" in client.get("/metrics").text


def test_a_champion_that_cannot_load_at_start_falls_back_to_the_baseline(
    project: Path, serve: Serve, records: list[dict[str, Any]]
) -> None:
    corrupt_model(project, 1)
    server = serve()
    [answer] = predict(server, records[:1]).json()["predictions"]
    assert answer["model"] == f"{PROJECT}/v{BASELINE}"
    assert (
        answer["fallback"]
        == "the champion is not loaded; no previous champion is loaded → baseline"
    )
    assert "corrupt" in release(server)["refused"]["reasons"][f"{PROJECT}/v1"]


def test_with_no_model_at_all_the_service_is_not_ready_but_answers(
    project: Path, serve: Serve, records: list[dict[str, Any]]
) -> None:
    corrupt_model(project, 1)
    set_baseline(project, None)
    server = serve()
    with server.client() as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["ready"] is False
        assert "v1" in ready.json()["reason"]
        assert client.get("/healthz").status_code == 200
    [answer] = predict(server, records[:1]).json()["predictions"]
    assert answer["decision"] == "defer" and answer["fallback"].endswith("→ defer")


def test_a_canary_that_raises_falls_back_to_the_champion(
    project: Path, serve: Serve, records: list[dict[str, Any]]
) -> None:
    release_model(project, lambda keel: gate(keel, RAISES))
    release_model(project, lambda keel: keel.registry().canary(RAISES, 50.0, OPERATOR))
    answers = predict(serve(), records[:40]).json()["predictions"]
    answers = [a for a in answers if bucket(a["entity_id"]) < BUCKETS / 2]  # the canary's half
    assert answers
    for answer in answers:
        assert answer["model"] == f"{PROJECT}/v1"
        assert answer["fallback"].startswith(f"model {PROJECT}/v4 failed to score")
        assert answer["fallback"].endswith("→ champion")
    routes = {r["prediction_id"]: r["route"] for r in logged(project)}
    assert {routes[a["id"]] for a in answers} == {"canary"}
