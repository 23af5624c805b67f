"""Every route of ``keel server`` declares the use cases it calls (their policies are its access
policy); a route that declares none is found by the walk and refused at start-up."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from keel.api import create_api, finish
from keel.api.auth import PUBLIC, all_routes, declared, undeclared_routes
from keel.app.control import ControlSettings
from keel.app.session import open_project
from keel.app.use_case import access_of
from keel.ui.pages import add_pages


@pytest.fixture(scope="module")
def app(template: tuple[Path, dict[str, str]]) -> Iterator[FastAPI]:
    keel = open_project(template[0])
    built = create_api(keel, ControlSettings())
    add_pages(built)
    yield built
    keel.close()


def test_every_route_declares_its_use_cases(app: FastAPI) -> None:
    assert undeclared_routes(app) == []
    walked = [(path, route) for path, route in all_routes(app) if isinstance(route, APIRoute)]
    assert len(walked) >= 40
    for path, route in walked:
        ops = declared(route)
        assert ops, path
        if ops != (PUBLIC,):
            assert all(access_of(op) is not None for op in ops), path


def test_only_the_login_form_is_public(app: FastAPI) -> None:
    public = sorted(
        path
        for path, route in all_routes(app)
        if isinstance(route, APIRoute) and declared(route) == (PUBLIC,)
    )
    assert public == ["/login"]


def test_a_route_without_a_policy_is_refused_at_start_up(app: FastAPI) -> None:
    @app.get("/api/v1/forgotten")
    def forgotten() -> dict[str, str]:
        return {}

    try:
        assert undeclared_routes(app) == ["GET,HEAD /api/v1/forgotten"] or undeclared_routes(
            app
        ) == ["GET /api/v1/forgotten"]
        with pytest.raises(RuntimeError, match="without an access policy: GET"):
            finish(app, ControlSettings())
    finally:
        app.router.routes[:] = [
            r for r in app.router.routes if getattr(r, "path", "") != "/api/v1/forgotten"
        ]
