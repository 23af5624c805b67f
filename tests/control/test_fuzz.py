"""A schema-driven fuzz of the control-plane API: every operation of the OpenAPI document, each
parameter and body field given values of the wrong type, out of range, empty, huge, with path
tricks and non-ASCII; the server answers each with a 2xx or a 4xx problem body, never a 5xx.

Cases are drawn by a seeded generator from the document itself, so a new route is fuzzed
without touching this file. Requests go as a viewer (writes are refused by the use cases after
validation, so nothing heavy runs) and without any key.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.control.conftest import TIMEOUT, Plane

NASTY_STRINGS = [
    "",
    " ",
    "../../etc/passwd",
    "..",
    "a/b",
    "%00",
    "\x00",
    "é",
    "日本",
    "😀",
    "a" * 300,
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "-1",
    "1e309",
    "NaN",
    "null",
    "{}",
    "v999999",
]
CASES = 6  # per operation
NASTY_NUMBERS = [0, -1, 1, 2**31, 2**63, -(2**63), 1.5, 1e309, "abc", "", None, True, [], {}]


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield method.upper(), path, operation


def values_for(schema: dict[str, Any]) -> list[Any]:
    kinds = {s.get("type") for s in schema.get("anyOf", [schema])}
    if kinds & {"integer", "number"}:
        return NASTY_NUMBERS
    if "boolean" in kinds:
        return ["yes", 2, None, "true"]
    return [*NASTY_STRINGS, 5, None]


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    found: dict[str, Any] = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return found


def cases(document: dict[str, Any], seed: int = 7) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, url, httpx keyword arguments) for every operation, several per parameter."""
    rng = random.Random(seed)
    found = []
    for method, path, operation in operations(document):
        params = operation.get("parameters", [])
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        fields = resolve(document, body["schema"]).get("properties", {}) if body else {}
        for _ in range(CASES):
            url, query = path, {}
            for param in params:
                value = rng.choice(values_for(param.get("schema", {})))
                if param["in"] == "path":
                    url = url.replace("{" + param["name"] + "}", quote(str(value), safe=""))
                elif rng.random() < 0.7 and value is not None:
                    query[param["name"]] = str(value)
            kwargs: dict[str, Any] = {"params": query}
            if body is not None:
                payload = {
                    name: rng.choice(values_for(resolve(document, schema)))
                    for name, schema in fields.items()
                    if rng.random() < 0.8
                }
                if rng.random() < 0.2:
                    payload["unexpected"] = 1
                chosen = rng.choice([payload, payload, [], "text", None])
                kwargs["content"] = json.dumps(chosen)  # 1e309 goes as Infinity: not JSON
                kwargs["headers"] = {"content-type": "application/json"}
            found.append((method, url, kwargs))
    return found


@pytest.fixture(scope="module")
def document(plane: Plane) -> dict[str, Any]:
    found: dict[str, Any] = httpx.get(plane.server.url + "/openapi.json", timeout=TIMEOUT).json()
    return found


def test_the_fuzz_covers_every_operation(document: dict[str, Any]) -> None:
    covered = {(m, p) for m, p, _ in operations(document)}
    assert len(covered) >= 25
    assert len(cases(document)) == CASES * len(covered)


@pytest.mark.parametrize("user", ["vera", None], ids=["viewer", "no-key"])
def test_no_input_makes_the_server_fail(
    plane: Plane, document: dict[str, Any], user: str | None
) -> None:
    headers = plane.headers(user) if user else {}
    failures = []
    with httpx.Client(base_url=plane.server.url, headers=headers, timeout=TIMEOUT) as client:
        for method, url, kwargs in cases(document):
            response = client.request(method, url, **kwargs)
            if response.status_code >= 500:
                failures.append(f"{method} {url} {kwargs} -> {response.status_code}")
            elif response.status_code >= 400:
                assert response.headers["content-type"] == "application/problem+json", url
    assert failures == [], "\n".join(failures[:10])
