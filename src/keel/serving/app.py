"""The prediction service over HTTP: the routes (``routes``) behind the guard (``guard``).

``create_app`` puts them together: FastAPI holds the routes, for the OpenAPI document and the
access walk; every error is answered in one shape (``rendering``); the guard in front names,
limits and times every request. The service parses JSON with orjson and answers every error as a
4xx body that names the field path and the reason (a ``NaN`` or an infinity included); a model
failure is answered by the fallback chain, never by a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from starlette.exceptions import HTTPException

from keel.errors import KeelError
from keel.serving.access import Access, unguarded_routes
from keel.serving.follower import ReleaseFollower
from keel.serving.guard import ASGIApp, Guard, direct_routes
from keel.serving.metrics import ServingMetrics
from keel.serving.outcomes import OutcomeWriter
from keel.serving.readiness import Readiness
from keel.serving.rendering import ErrorRenderer
from keel.serving.routes import add_routes
from keel.serving.service import PredictionService
from keel.serving.settings import ServeSettings


@dataclass
class Serving:
    """Everything the routes need; assembled by ``keel.app.serving.build_serving``."""

    project: str
    service: PredictionService
    outcomes: OutcomeWriter
    follower: ReleaseFollower
    access: Access
    metrics: ServingMetrics
    settings: ServeSettings
    records_schema: dict[str, Any]
    readiness: Readiness
    close: Callable[[], None]


def create_app(serving: Serving) -> ASGIApp:
    """The ASGI application: the guard in front of the FastAPI routes."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> Any:
        yield
        serving.close()  # after uvicorn drained in-flight requests: flush the logs, stop

    app = FastAPI(
        title=f"Keel prediction service: {serving.project}",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    add_routes(app, serving)
    missing = unguarded_routes(app)
    if missing:  # a route without an access policy is a defect, refused at start-up
        raise RuntimeError(f"routes without an access policy: {', '.join(missing)}")
    errors = ErrorRenderer(serving.settings.retry_after_seconds)
    app.add_exception_handler(KeelError, errors.keel_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, errors.http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, errors.unexpected)
    return Guard(app, serving.settings, serving.metrics, direct_routes(app, errors))


__all__ = ["ASGIApp", "Serving", "create_app"]
