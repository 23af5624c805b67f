"""Who may call what: every route but the health probes needs a key once the project has users.

The route table is walked twice: in process (every route declares a role through
``Access.needs``; a route added without one is reported) and over HTTP against the real server
(every guarded route refuses a request without a key).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Route

from keel.app.serving import build_serving
from keel.identity.roles import Role
from keel.identity.service import add_user, revoke_user
from keel.serving.access import PUBLIC_PATHS, route_role, unguarded_routes
from keel.serving.app import create_app
from keel.serving.guard import Guard
from keel.serving.settings import ServeSettings
from tests.api.conftest import ADMIN, PROJECT, open_project
from tests.api.live import Server, wait_until

Serve = Callable[..., Server]


@pytest.fixture
def routes(project: Path) -> Iterator[FastAPI]:
    """The FastAPI application the server runs, built in process on the test's project."""
    serving = build_serving(open_project(project), ServeSettings())
    app = create_app(serving)
    assert isinstance(app, Guard) and isinstance(app.app, FastAPI)
    yield app.app
    serving.close()


@pytest.fixture
def keys(project: Path) -> dict[str, str]:
    """API keys of a viewer, an operator and an admin of the project."""
    keel = open_project(project)
    try:
        with keel.unit() as unit:
            return {
                role.value: add_user(unit, ADMIN, f"{role.value}-1", role)[1]
                for role in (Role.VIEWER, Role.OPERATOR, Role.ADMIN)
            }
    finally:
        keel.close()


def api_routes(app: FastAPI) -> list[APIRoute]:
    return [r for r in app.routes if isinstance(r, APIRoute)]


def test_every_route_but_the_probes_declares_a_role(routes: FastAPI) -> None:
    assert unguarded_routes(routes) == []
    roles = {route.path: route_role(route) for route in api_routes(routes)}
    assert {path for path, role in roles.items() if role is None} == set(PUBLIC_PATHS)
    assert roles["/v1/predict"] == Role.VIEWER and roles["/v1/outcomes"] == Role.OPERATOR
    assert roles["/v2/models/{name}/infer"] == Role.VIEWER and roles["/metrics"] == Role.VIEWER


def test_a_route_added_without_a_role_is_reported(routes: FastAPI) -> None:
    async def export() -> dict[str, Any]:
        return {}

    routes.add_api_route("/v1/export", export, methods=["GET"])
    routes.router.routes.append(Route("/v1/raw", export))
    assert unguarded_routes(routes) == ["GET /v1/export", "GET,HEAD /v1/raw"]


def test_without_a_key_every_guarded_route_is_401_and_probes_answer(
    routes: FastAPI, keys: dict[str, str], serve: Serve
) -> None:
    server = serve(env={"KEEL_API_KEY": keys["operator"]})
    with server.client() as client:
        for route in api_routes(routes):
            path = route.path.replace("{name}", PROJECT)
            for method in route.methods or ():
                response = client.request(method, path, json={})
                if route.path in PUBLIC_PATHS:
                    assert response.status_code == 200, (method, path, response.text)
                    continue
                assert response.status_code == 401, (method, path, response.text)
                [error] = response.json()["errors"]
                assert error == {"path": "authorization", "reason": "this route needs an API key"}
                assert "Authorization: Bearer KEY" in response.json()["hint"]


def test_roles_decide_who_may_predict_and_who_may_post_outcomes(
    keys: dict[str, str], serve: Serve, records: list[dict[str, Any]]
) -> None:
    server = serve(env={"KEEL_API_KEY": keys["operator"]})
    viewer = {"Authorization": f"Bearer {keys['viewer']}"}
    operator = {"X-API-Key": keys["operator"]}
    with server.client() as client:
        answer = client.post("/v1/predict", json={"records": records[:1]}, headers=viewer)
        assert answer.status_code == 200, answer.text
        prediction = answer.json()["predictions"][0]["id"]
        outcome = {"outcomes": [{"id": prediction, "label": 1}]}
        refused = client.post("/v1/outcomes", json=outcome, headers=viewer)
        assert refused.status_code == 403
        assert refused.json()["errors"] == [
            {
                "path": "authorization",
                "reason": "this route needs the operator role; viewer-1 is viewer",
            }
        ]
        accepted = client.post("/v1/outcomes", json=outcome, headers=operator)
        assert accepted.status_code == 202 and accepted.json()["accepted"] == 1
        wrong = client.post(
            "/v1/predict", json={"records": records[:1]}, headers={"X-API-Key": "nope"}
        )
        assert wrong.status_code == 401
        assert wrong.json()["errors"][0]["reason"] == "the API key is unknown or revoked"


def test_a_revoked_key_stops_working_within_the_cache_time(
    project: Path, keys: dict[str, str], serve: Serve, records: list[dict[str, Any]]
) -> None:
    server = serve(env={"KEEL_API_KEY": keys["operator"]})
    headers = {"X-API-Key": keys["viewer"]}
    body = {"records": records[:1]}
    with server.client() as client:
        assert client.post("/v1/predict", json=body, headers=headers).status_code == 200
        keel = open_project(project)
        try:
            with keel.unit() as unit:
                revoke_user(unit, ADMIN, "viewer-1")
        finally:
            keel.close()
        wait_until(
            lambda: client.post("/v1/predict", json=body, headers=headers).status_code == 401, 10
        )


def test_a_project_without_users_is_open(serve: Serve, records: list[dict[str, Any]]) -> None:
    with serve().client() as client:
        assert client.post("/v1/predict", json={"records": records[:1]}).status_code == 200
        assert client.get("/metrics").status_code == 200
        assert client.get("/v1/release").status_code == 200


def test_while_the_users_cannot_be_read_known_keys_still_work_and_unknown_get_503(
    project: Path, keys: dict[str, str], serve: Serve, records: list[dict[str, Any]]
) -> None:
    server = serve(env={"KEEL_API_KEY": keys["operator"]})
    body = {"records": records[:1]}
    database = sa.create_engine(f"sqlite:///{project / '.keel' / 'keel.db'}")
    with server.client() as client:
        viewer = {"X-API-Key": keys["viewer"]}
        assert client.post("/v1/predict", json=body, headers=viewer).status_code == 200
        with database.begin() as conn:  # the users table is gone, as in a broken database
            conn.exec_driver_sql("ALTER TABLE users RENAME TO users_away")
        try:
            time.sleep(5.5)  # past the key cache's five seconds
            assert client.post("/v1/predict", json=body, headers=viewer).status_code == 200
            unknown = client.post("/v1/predict", json=body, headers={"X-API-Key": keys["admin"]})
            assert unknown.status_code == 503 and unknown.headers["retry-after"] == "1"
            assert "cannot check the API key" in unknown.json()["errors"][0]["reason"]
        finally:
            with database.begin() as conn:
                conn.exec_driver_sql("ALTER TABLE users_away RENAME TO users")
            database.dispose()
