"""Schema-driven fuzzing of the prediction API: every operation of the service's own OpenAPI
document, driven against a real ``keel serve`` with bodies Hypothesis draws from the declared
request schemas, from arbitrary JSON, and from mutations of valid bodies. No answer is a 5xx,
and every 4xx is in the one error shape. Derandomized and bounded (a fixed number of examples
per operation), so it runs the same every time, in well under a minute."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import PROJECT
from tests.api.live import Server

EXAMPLES = 60
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def client(shared_server: Server) -> Iterator[httpx.Client]:
    with shared_server.client() as client:
        yield client


@pytest.fixture(scope="module")
def document(client: httpx.Client) -> dict[str, Any]:
    answer = client.get("/openapi.json")
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any] | None]]:
    """(method, path, JSON body schema or None) for every operation of the document."""
    found = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema")
            found.append((method.upper(), path, schema))
    return found


def check_answer(response: httpx.Response, what: str) -> None:
    """No 5xx; a 4xx is JSON in the one error shape."""
    status = response.status_code
    assert status < 500, f"{what}: {status} {response.text[:500]}"
    if status >= 400:
        assert response.headers["content-type"].startswith("application/json"), what
        body = response.json()
        assert isinstance(body, dict) and set(body) <= {"errors", "hint", "more"}, (what, body)
        assert isinstance(body["errors"], list) and body["errors"], (what, body)
        for error in body["errors"]:
            assert set(error) == {"path", "reason"}, (what, body)
            assert isinstance(error["path"], str) and isinstance(error["reason"], str)
            assert error["reason"], (what, body)
        assert "Traceback" not in response.text and "NoneType" not in response.text


def mutate(valid: Any, extra: Any, where: int) -> Any:
    """A valid body with one part replaced by arbitrary JSON (or a key added)."""
    if isinstance(valid, dict) and valid:
        keys = sorted(valid)
        key = keys[where % len(keys)]
        return {**valid, key: mutate(valid[key], extra, where // 3)}
    if isinstance(valid, list) and valid:
        index = where % len(valid)
        return [*valid[:index], mutate(valid[index], extra, where // 3), *valid[index + 1 :]]
    return extra


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values valid by ``schema``, for the JSON Schema the service's document uses (types,
    enums, bounds, patterns, date-times, required and optional properties, list sizes)."""
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    types = schema.get("type")
    if types is None:
        return JSON
    if isinstance(types, list):
        return st.one_of([from_schema({**schema, "type": t}) for t in types])
    if types == "null":
        return st.none()
    if types == "boolean":
        return st.booleans()
    if types in ("number", "integer"):
        low, high = schema.get("minimum"), schema.get("maximum")
        if types == "integer":
            low = None if low is None else int(low)
            high = None if high is None else int(high)
            return st.integers(min_value=low, max_value=high)
        return st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False)
    if types == "string":
        if schema.get("format") == "date-time":
            return st.datetimes().map(lambda t: t.isoformat())
        if "pattern" in schema:
            return st.from_regex(schema["pattern"])
        return st.text(max_size=20)
    if types == "array":
        items = from_schema(schema.get("items", {}))
        return st.lists(items, min_size=schema.get("minItems", 0), max_size=3)
    properties = schema.get("properties", {})
    required = set(schema.get("required", ()))
    return st.fixed_dictionaries(
        {k: from_schema(v) for k, v in properties.items() if k in required},
        optional={k: from_schema(v) for k, v in properties.items() if k not in required},
    )


NAMES = st.sampled_from([PROJECT, "nope", "a%2Fb", "..", "loan-default ", "x" * 300])


def _url(path: str, name: str) -> str:
    return re.sub(r"\{[^}]+\}", name, path)


def test_the_document_declares_every_body_the_service_reads(document: dict[str, Any]) -> None:
    posts = {(m, p): s for m, p, s in operations(document) if m == "POST"}
    assert set(posts) == {
        ("POST", "/v1/predict"),
        ("POST", "/v1/outcomes"),
        ("POST", "/v2/models/{name}/infer"),
    }
    assert all(schema is not None for schema in posts.values())


def test_fuzz_every_operation_no_5xx_and_one_error_shape(
    client: httpx.Client, document: dict[str, Any]
) -> None:
    for method, path, schema in operations(document):
        if schema is None:
            _fuzz_get(client, method, path)
        else:
            _fuzz_body(client, method, path, schema)


def _fuzz_get(client: httpx.Client, method: str, path: str) -> None:
    @FUZZ
    @given(name=NAMES, query=st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=2))
    def run(name: str, query: dict[str, str]) -> None:
        response = client.request(method, _url(path, name), params=query)
        check_answer(response, f"{method} {path} {name!r}")

    run()


def _fuzz_body(client: httpx.Client, method: str, path: str, schema: dict[str, Any]) -> None:
    valid = from_schema(schema)
    bodies = valid | JSON | st.builds(mutate, valid, JSON, st.integers(0, 1000))
    raw = st.binary(max_size=64) | st.just(b"") | st.just(b"[") | st.just(b"\xff\xfe{}")

    @FUZZ
    @given(name=NAMES, body=bodies, text=raw, as_bytes=st.integers(0, 9))
    def run(name: str, body: Any, text: bytes, as_bytes: int) -> None:
        url = _url(path, name)
        if as_bytes == 0:
            response = client.request(method, url, content=text)
        else:
            response = client.request(method, url, json=body)
        check_answer(response, f"{method} {path} {body!r}"[:2000])

    run()
