"""The control-plane application: ``create_api`` builds the FastAPI app of the REST API over one
opened project; ``finish`` checks every route's access policy and puts the guard in front.

The dashboard (``keel.ui``) adds its pages to the same app before ``finish``, so one process
serves both, with one error shape, one guard and one access walk.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

from keel import __version__
from keel.api import problems
from keel.api.auth import undeclared_routes
from keel.api.guard import ASGIApp, Guard
from keel.api.routes import router
from keel.api.work_routes import router as work_router
from keel.app.control import ControlSettings
from keel.errors import KeelError
from keel.wiring import Keel


class Json(JSONResponse):
    """JSON written by orjson: dates as RFC 3339, as every Keel face writes them."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


def create_api(keel: Keel, settings: ControlSettings) -> FastAPI:
    """The REST API over ``keel`` (closed when the app shuts down)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        keel.close()

    app = FastAPI(
        title=f"Keel control plane: {keel.project.name}",
        version=__version__,
        description="Every operation of the keel command over HTTP; see docs/control-plane.md.",
        docs_url=None,
        redoc_url=None,
        default_response_class=Json,
        lifespan=lifespan,
    )
    app.state.keel = keel
    app.state.settings = settings
    app.include_router(router)
    app.include_router(work_router)
    app.add_exception_handler(KeelError, problems.keel_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, problems.http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, problems.validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, problems.unexpected)
    return app


def finish(app: FastAPI, settings: ControlSettings) -> ASGIApp:
    """Refuse a route without an access policy, then put the guard in front."""
    missing = undeclared_routes(app)
    if missing:
        raise RuntimeError(f"routes without an access policy: {', '.join(missing)}")
    return Guard(app, max_body_bytes=settings.max_body_bytes)
