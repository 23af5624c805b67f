"""The routes of the prediction service: what each one reads, asks the service, and answers.

Each route declares who may call it (``Access.needs``; the probes are public); bodies are read
by ``keel.serving.parsing`` and answers written by ``keel.serving.rendering``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response

from keel.errors import InvalidInput, NotFound
from keel.identity.roles import Role
from keel.serving.checks import InvalidRecords
from keel.serving.contract_schema import OUTCOMES_SCHEMA, infer_schema
from keel.serving.guard import REQUEST_ID, REQUEST_ID_CHARS
from keel.serving.inference import (
    InferRequest,
    infer_response,
    input_kinds,
    model_metadata,
    server_metadata,
    tensor_problems,
)
from keel.serving.parsing import explain_count, json_object, only
from keel.serving.rendering import json_response, request_id

if TYPE_CHECKING:
    from keel.serving.app import Serving


def add_routes(app: FastAPI, serving: Serving) -> None:
    """Every route of the service, on ``app``."""
    _add_predictions(app, serving)
    _add_probes(app, serving)
    _add_model_routes(app, serving)


def _add_predictions(app: FastAPI, serving: Serving) -> None:
    service = serving.service
    anyone = [Depends(serving.access.needs(Role.VIEWER))]
    operators = [Depends(serving.access.needs(Role.OPERATOR))]

    @app.post(
        "/v1/predict",
        dependencies=anyone,
        openapi_extra=_body(serving.records_schema),
    )
    async def predict(request: Request) -> Response:
        """Score one or many records: score, decision, model, optional top-k contributions."""
        body = json_object(await request.body())
        explain = explain_count(body.get("explain", 0))
        only(body, "records", "explain")
        if "records" not in body:
            raise InvalidInput("required", path="records")
        records = service.check(body["records"])
        named = request_id(request)
        answers = await service.predict(records, request_id=named, explain=explain)
        return json_response(
            {"predictions": [a.to_dict() for a in answers], "request_id": named},
            headers={"x-request-id": named},
        )

    @app.post(
        "/v1/outcomes",
        dependencies=operators,
        status_code=202,
        openapi_extra=_body(OUTCOMES_SCHEMA),
    )
    async def outcomes(request: Request) -> Response:
        """Labels or reviewers' decisions that arrived later, by prediction id or entity id."""
        body = json_object(await request.body())
        only(body, "outcomes")
        stored = await serving.outcomes.record(body.get("outcomes"), source="api")
        return json_response(stored.to_dict(), status=202)


def _add_probes(app: FastAPI, serving: Serving) -> None:
    @app.get("/v2/health/live")
    async def live() -> Response:
        return json_response({"live": True})

    @app.get("/v2/health/ready")
    async def ready_v2() -> Response:
        return await _readiness(serving)

    @app.get("/healthz")
    async def healthz() -> Response:
        return json_response({"status": "ok"})

    @app.get("/readyz")
    async def readyz() -> Response:
        return await _readiness(serving)


def _add_model_routes(app: FastAPI, serving: Serving) -> None:
    service, project = serving.service, serving.project
    anyone = [Depends(serving.access.needs(Role.VIEWER))]
    kinds = input_kinds(serving.records_schema)
    tensors = infer_schema(kinds)

    @app.get("/v2", dependencies=anyone)
    async def server() -> Response:
        """Open Inference Protocol V2 server metadata: name, version, extensions."""
        return json_response(server_metadata())

    @app.get("/v2/models/{name}", dependencies=anyone)
    async def metadata(name: str) -> Response:
        _known(name, project)
        current = serving.follower.current
        return json_response(model_metadata(project, current, serving.records_schema))

    @app.get("/v2/models/{name}/ready", dependencies=anyone)
    async def model_ready(name: str) -> Response:
        """200 while a model of the release is loaded and answering, else 503 with the reason."""
        _known(name, project)
        readiness = await _readiness(serving)  # the server's readiness, named after the model
        body = {"name": project, **orjson.loads(bytes(readiness.body))}
        return json_response(body, readiness.status_code)

    @app.post("/v2/models/{name}/infer", dependencies=anyone, openapi_extra=_body(tensors))
    async def infer(name: str, request: Request) -> Response:
        """Open Inference Protocol V2: columnar inputs named after the contract's columns."""
        _known(name, project)
        if "inference-header-content-length" in request.headers:
            raise InvalidInput(
                "binary tensor data is not supported; send each tensor's data as JSON",
                path="body",
                hint="tritonclient: set_data_from_numpy(array, binary_data=False)",
            )
        parsed = InferRequest.parse(json_object(await request.body()), kinds)
        try:
            records = service.check(parsed.records())
        except InvalidRecords as error:
            raise tensor_problems(parsed, error, service.checker.names) from None
        if parsed.id is not None:  # the client's id names the request, as X-Request-ID does
            if not REQUEST_ID.fullmatch(parsed.id):
                raise InvalidInput(f"expected 1 to 128 of {REQUEST_ID_CHARS}", path="id")
            request.scope["keel.request_id"] = parsed.id
        named = request_id(request)
        answers = await service.predict(records, request_id=named)
        return json_response(infer_response(project, parsed, answers, named))

    @app.get("/v1/release", dependencies=anyone)
    async def release() -> Response:
        """The release this worker serves, and any newer one it refused to load."""
        return json_response(_release_body(serving))

    @app.get("/metrics", dependencies=anyone)
    async def metrics() -> Response:
        serving.metrics.swaps.set(serving.follower.swaps)
        serving.metrics.refused.set(1 if serving.follower.refused else 0)
        return Response(serving.metrics.exposition(), media_type="text/plain; version=0.0.4")

    @app.get("/openapi.json", dependencies=anyone)
    async def openapi() -> Response:
        return json_response(app.openapi())


def _release_body(serving: Serving) -> dict[str, Any]:
    current, refused, project = serving.follower.current, serving.follower.refused, serving.project
    return {
        "release": current.release,
        "champion": current.champion.model if current.champion else None,
        "canary": current.canary.model if current.canary else None,
        "canary_share": current.canary_share,
        "shadow": [s.model for s in current.shadows],
        "paused": current.paused,
        "refused": {
            "release": refused.release,
            "reasons": {f"{project}/v{v}": why for v, why in refused.reasons.items()},
        }
        if refused
        else None,
    }


async def _readiness(serving: Serving) -> Response:
    body, status = await serving.readiness.answer()
    return json_response(body, status)


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    """A route's JSON request body, as the OpenAPI document declares it."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _known(name: str, project: str) -> None:
    if name != project:
        raise NotFound(
            "model", name, message=f"unknown model {name!r}; this service serves {project!r}"
        )
