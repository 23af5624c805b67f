"""A paused champion: the fallback chain answers, logged with the route ``paused``, picked up by
a running service like any release change; resuming brings the champion back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from keel.errors import Conflict
from tests.api.conftest import OPERATOR, PROJECT, logged, release_model
from tests.api.live import Server, wait_until

Serve = Callable[..., Server]
V1, V3 = f"{PROJECT}/v1", f"{PROJECT}/v3"


def _answer(server: Server, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    with server.client() as client:
        response = client.post("/v1/predict", json={"records": records})
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["predictions"]
    return found


def test_a_paused_champion_answers_from_the_fallback_until_resumed(
    project: Path, serve: Serve, records: list[dict[str, Any]]
) -> None:
    server = serve("--poll", "0.1")
    assert {a["model"] for a in _answer(server, records[:3])} == {V1}
    paused = release_model(project, lambda keel: keel.registry().pause(OPERATOR, reason="drill"))
    assert paused.state.paused and paused.state.champion == 1 and paused.action == "pause"
    wait_until(lambda: _answer(server, records[:1])[0]["model"] != V1)
    answers = _answer(server, records[:5])
    # the chain: previous_champion (none yet), baseline v3, defer
    assert {a["model"] for a in answers} == {V3}
    assert all(a["fallback"].startswith("the champion is paused") for a in answers)
    with server.client() as client:
        assert client.get("/v1/release").json()["paused"] is True
    routes = {r["prediction_id"]: r["route"] for r in logged(project)}
    assert {routes[a["id"]] for a in answers} == {"paused"}
    with pytest.raises(Conflict, match="already paused"):
        release_model(project, lambda keel: keel.registry().pause(OPERATOR))

    resumed = release_model(project, lambda keel: keel.registry().pause(OPERATOR, paused=False))
    assert not resumed.state.paused and resumed.action == "resume"
    wait_until(lambda: _answer(server, records[:1])[0]["model"] == V1)
    answers = _answer(server, records[:5])
    assert {a["model"] for a in answers} == {V1} and {a["fallback"] for a in answers} == {None}
    routes = {r["prediction_id"]: r["route"] for r in logged(project)}
    assert {routes[a["id"]] for a in answers} == {"champion"}
