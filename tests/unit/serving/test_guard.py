"""The guard and the error renderer: limits from the settings, every refusal in one shape,
``Retry-After`` from the setting that names it, 401 through the family table."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from fastapi import Request

from keel.errors import KeelError, StorageUnavailable, Unauthenticated
from keel.serving.checks import InvalidRecords, Problem
from keel.serving.guard import Guard, Message
from keel.serving.metrics import ServingMetrics
from keel.serving.rendering import ErrorRenderer, error_body
from keel.serving.settings import ServeSettings

SETTINGS = ServeSettings(max_body_bytes=1024, max_inflight=1, retry_after_seconds=7)


def _scope(path: str = "/v1/predict", headers: list[tuple[bytes, bytes]] | None = None) -> dict:
    return {"type": "http", "method": "POST", "path": path, "headers": headers or []}


def _call(guard: Guard, scope: dict[str, Any], body: bytes = b"{}") -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(guard(scope, receive, send))
    return sent


async def _ok(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


def _answer(sent: list[Message]) -> tuple[int, dict[bytes, bytes], Any]:
    start, body = sent[0], sent[1]
    return start["status"], dict(start["headers"]), orjson.loads(body["body"])


def test_overload_is_a_503_that_asks_to_wait_as_long_as_the_setting_says() -> None:
    guard = Guard(_ok, SETTINGS, ServingMetrics())
    guard.inflight = SETTINGS.max_inflight
    status, headers, body = _answer(_call(guard, _scope()))
    assert status == 503
    assert headers[b"retry-after"] == b"7"
    assert body == error_body([Problem("", "overloaded")])


def test_a_body_over_the_limit_is_refused_before_any_route() -> None:
    declared = [(b"content-length", b"5000")]
    status, headers, body = _answer(
        _call(Guard(_ok, SETTINGS, ServingMetrics()), _scope(headers=declared))
    )
    assert status == 413 and b"retry-after" not in headers
    assert body == {"errors": [{"path": "body", "reason": "larger than the limit of 1,024 bytes"}]}
    undeclared = _call(Guard(_ok, SETTINGS, ServingMetrics()), _scope(), b"x" * 2000)
    assert _answer(undeclared)[0] == 413


def test_a_request_within_the_limits_reaches_the_app() -> None:
    sent = _call(Guard(_ok, SETTINGS, ServingMetrics()), _scope())
    assert sent[0]["status"] == 200


def test_a_client_that_leaves_gets_no_answer() -> None:
    guard = Guard(_ok, SETTINGS, ServingMetrics())
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(guard(_scope(), receive, send))
    assert sent == [] and guard.inflight == 0


def _render(error: KeelError, retry: int = 7) -> tuple[int, dict[str, str], Any]:
    request = Request({"type": "http", "method": "POST", "path": "/", "headers": []})
    response = asyncio.run(ErrorRenderer(retry).keel_error(request, error))
    return response.status_code, dict(response.headers), orjson.loads(response.body)


def test_a_503_from_a_route_carries_the_configured_retry_after() -> None:
    status, headers, body = _render(StorageUnavailable("down", hint="later"), retry=12)
    assert (status, headers["retry-after"]) == (503, "12")
    assert body == {"errors": [{"path": "", "reason": "down"}], "hint": "later"}


def test_401_comes_from_the_family_table() -> None:
    status, headers, body = _render(Unauthenticated("no key", path="authorization"))
    assert status == 401 and "retry-after" not in headers
    assert body == {"errors": [{"path": "authorization", "reason": "no key"}]}


def test_invalid_records_list_every_problem_and_how_many_more() -> None:
    problems = [Problem("records[0].age", "required"), Problem("records[1].age", "required")]
    status, _, body = _render(InvalidRecords(problems, total=5))
    assert status == 422
    assert body == {
        "errors": [p.to_dict() for p in problems],
        "more": 3,
        "hint": "Fix every listed field and send the request again.",
    }
