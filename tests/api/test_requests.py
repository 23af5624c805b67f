"""Requests a client gets wrong, and the routes that only read: one server for the module.

Every refusal is a 4xx whose body lists ``{"path", "reason"}`` pairs naming the field; none is
a 500.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.api.conftest import PROJECT, logged
from tests.api.live import Server

UUID7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@pytest.fixture(scope="module")
def client(shared_server: Server) -> Iterator[httpx.Client]:
    with shared_server.client() as client:
        yield client


def errors(response: httpx.Response) -> dict[str, str]:
    """``{path: reason}`` of an error body."""
    body = response.json()
    assert set(body) <= {"errors", "hint", "more"}, body
    return {e["path"]: e["reason"] for e in body["errors"]}


def test_a_valid_record_is_scored_by_the_champion(
    client: httpx.Client, records: list[dict[str, Any]]
) -> None:
    response = client.post("/v1/predict", json={"records": records[:3], "explain": 2})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["request_id"] == response.headers["x-request-id"]
    assert UUID7.match(body["request_id"])
    answers = body["predictions"]
    assert [a["entity_id"] for a in answers] == [r["application_id"] for r in records[:3]]
    for answer in answers:
        assert answer["model"] == f"{PROJECT}/v1" and answer["fallback"] is None
        assert 0.0 <= answer["score"] <= 1.0 and UUID7.match(answer["id"])
        assert answer["decision"] in {"approve", "review", "decline"}
        assert len(answer["explanation"]) == 2 and isinstance(answer["explanation"][0][0], str)


@pytest.mark.parametrize(
    ("body", "path", "reason"),
    [
        (b'{"records": [{"income": 1,}]}', "body", "malformed JSON"),
        (b"", "body", "malformed JSON"),
        (b"[1, 2]", "body", "expected a JSON object, got a list"),
        (b"null", "body", "expected a JSON object, got null"),
        (b'{"records": []}', "records", "empty"),
        (b'{"records": {"a": 1}}', "records", "expected a list"),
        (b"{}", "records", "required"),
        (b'{"records": [1]}', "records[0]", "expected object, got 1"),
        (b'{"records": [{}], "explain": 21}', "explain", "integer from 0 to 20"),
        (b'{"records": [{}], "explain": true}', "explain", "integer from 0 to 20"),
        (b'{"records": [{}], "limit": 3}', "limit", "unknown field"),
    ],
    ids=[
        "malformed",
        "empty-body",
        "not-an-object",
        "null-body",
        "no-records",
        "records-not-a-list",
        "records-missing",
        "record-not-an-object",
        "explain-too-large",
        "explain-not-an-int",
        "extra-top-level-field",
    ],
)
def test_a_malformed_body_is_a_422_naming_the_path(
    client: httpx.Client, body: bytes, path: str, reason: str
) -> None:
    response = client.post("/v1/predict", content=body)
    assert response.status_code == 422, response.text
    found = errors(response)
    assert path in found and reason in found[path], found


@pytest.mark.parametrize(
    ("change", "path", "reason"),
    [
        ({"income": "lots"}, "records[1].income", "expected number, got 'lots'"),
        ({"age": 48.5}, "records[1].age", "expected integer"),
        ({"age": True}, "records[1].age", "expected integer"),
        ({"age": 12}, "records[1].age", "below minimum 18"),
        ({"purpose": "yacht"}, "records[1].purpose", "not one of"),
        ({"application_id": None}, "records[1].application_id", ""),
        ({"income": None}, "records[1].income", ""),
        ({"defaulted": 1}, "records[1].defaulted", "outcome"),
        ({"shoe_size": 44}, "records[1].shoe_size", "unknown field"),
    ],
    ids=[
        "string-for-number",
        "float-for-int",
        "bool-for-int",
        "below-minimum",
        "unknown-category",
        "null-id",
        "null-required",
        "target-sent",
        "extra-field",
    ],
)
def test_a_bad_value_is_a_422_naming_record_and_field(
    client: httpx.Client,
    records: list[dict[str, Any]],
    change: dict[str, Any],
    path: str,
    reason: str,
) -> None:
    bad = {**records[1], **change}
    response = client.post("/v1/predict", json={"records": [records[0], bad]})
    assert response.status_code == 422, response.text
    found = errors(response)
    assert list(found) == [path] and reason in found[path], found


def test_a_missing_field_is_reported_with_every_other_problem(
    client: httpx.Client, records: list[dict[str, Any]]
) -> None:
    first = {k: v for k, v in records[0].items() if k not in ("income", "application_id")}
    second = {**records[1], "age": "old"}
    response = client.post("/v1/predict", json={"records": [first, second]})
    assert response.status_code == 422
    assert errors(response) == {
        "records[0].application_id": "required",
        "records[0].income": "required",
        "records[1].age": "expected integer, got 'old'",
    }


@pytest.mark.parametrize(
    "literal", ["NaN", "Infinity", "-Infinity", "1e400"], ids=["nan", "inf", "-inf", "overflow"]
)
def test_nan_and_infinity_are_refused_at_their_field(
    client: httpx.Client, records: list[dict[str, Any]], literal: str
) -> None:
    text = orjson.dumps({"records": [records[0], {**records[1], "income": 0.5}]}).decode()
    body = text.replace('"income":0.5', f'"income":{literal}')
    response = client.post("/v1/predict", content=body)
    assert response.status_code == 422, response.text
    found = errors(response)
    assert list(found) == ["records[1].income"] and "finite" in found["records[1].income"], found


def test_a_body_over_the_limit_is_a_413_with_or_without_a_length(
    client: httpx.Client, records: list[dict[str, Any]]
) -> None:
    big = orjson.dumps({"records": records * 40})  # about 10 MB, over the 2 MB limit
    assert len(big) > 9_000_000
    declared = client.post("/v1/predict", content=big)
    assert declared.status_code == 413, declared.text
    assert errors(declared) == {"body": "larger than the limit of 2,000,000 bytes"}
    streamed = client.post(
        "/v1/predict", content=iter([big[i : i + 65536] for i in range(0, len(big), 65536)])
    )
    assert streamed.status_code == 413, streamed.text
    assert errors(streamed) == {"body": "larger than the limit of 2,000,000 bytes"}
    assert client.post("/v1/predict", json={"records": records[:1]}).status_code == 200


def test_unknown_routes_and_models_are_404_in_the_error_shape(client: httpx.Client) -> None:
    response = client.post("/v2/models/nope/infer", json={"inputs": []})
    assert response.status_code == 404
    assert "unknown model 'nope'" in errors(response)["model"]
    assert client.get("/v2/models/nope").status_code == 404
    missing = client.get("/v1/nothing-here")
    assert missing.status_code == 404 and errors(missing) == {"": "no route GET /v1/nothing-here"}
    wrong = client.get("/v1/predict")
    assert wrong.status_code == 405 and "POST" in errors(wrong)[""]


def test_the_client_request_id_is_honoured_in_header_body_and_log(
    client: httpx.Client, records: list[dict[str, Any]], shared_project: Any
) -> None:
    chosen = "order-42.retry:1"
    response = client.post(
        "/v1/predict", json={"records": records[5:7]}, headers={"X-Request-ID": chosen}
    )
    assert response.status_code == 200
    assert response.headers["x-request-id"] == chosen and response.json()["request_id"] == chosen
    ids = {a["id"] for a in response.json()["predictions"]}
    rows = [r for r in logged(shared_project) if r["request_id"] == chosen]
    assert {r["prediction_id"] for r in rows} == ids
    refused = client.post("/v1/predict", json={"records": []}, headers={"X-Request-ID": chosen})
    assert refused.headers["x-request-id"] == chosen
    unsafe = client.post(
        "/v1/predict", json={"records": records[:1]}, headers={"X-Request-ID": "a b"}
    )
    assert UUID7.match(unsafe.headers["x-request-id"])  # not a safe id: replaced, not echoed


def test_the_log_holds_inputs_answers_and_latency(
    client: httpx.Client, records: list[dict[str, Any]], shared_project: Any
) -> None:
    response = client.post("/v1/predict", json={"records": [records[9]], "explain": 3})
    [answer] = response.json()["predictions"]
    [row] = [r for r in logged(shared_project) if r["prediction_id"] == answer["id"]]
    assert orjson.loads(row["inputs"]) == records[9]
    assert (row["score"], row["decision"], row["model"]) == (
        answer["score"],
        answer["decision"],
        answer["model"],
    )
    assert row["route"] == "champion" and row["fallback"] is None and row["latency_ms"] > 0
    assert [[e["column"], e["value"]] for e in row["explanation"]] == answer["explanation"]
    assert row["entity_id"] == records[9]["application_id"]


def test_the_openapi_schema_carries_the_contracts_fields(client: httpx.Client) -> None:
    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/v1/predict"]["post"]["requestBody"]["content"]["application/json"]
    record = body["schema"]["properties"]["records"]["items"]
    props = record["properties"]
    assert props["income"] == {"type": "number", "minimum": 0.0, "maximum": 5_000_000.0}
    assert props["region"]["type"] == ["string", "null"] and "north" in props["region"]["enum"]
    assert props["application_id"]["pattern"] == "^a-[0-9]+$"
    assert "defaulted" not in props and record["additionalProperties"] is False
    assert set(record["required"]) >= {"application_id", "income", "age", "purpose"}
    assert "employment_years" not in record["required"]
    assert {"/v1/predict", "/v1/outcomes", "/v2/models/{name}/infer"} <= set(schema["paths"])


def test_oip_v2_paths(client: httpx.Client, records: list[dict[str, Any]]) -> None:
    assert client.get("/v2/health/live").json() == {"live": True}
    assert client.get("/v2/health/ready").json()["ready"] is True
    meta = client.get(f"/v2/models/{PROJECT}").json()
    assert meta["name"] == PROJECT and meta["versions"] == [f"{PROJECT}/v1"]
    names = [i["name"] for i in meta["inputs"]]
    assert "income" in names and "defaulted" not in names
    batch = records[20:23]
    inputs = [
        {
            "name": name,
            "datatype": _datatype(meta, name),
            "shape": [3],
            "data": [r.get(name) for r in batch],
        }
        for name in batch[0]
    ]
    response = client.post(f"/v2/models/{PROJECT}/infer", json={"id": "oip-7", "inputs": inputs})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == "oip-7" and response.headers["x-request-id"] == "oip-7"
    assert body["model_name"] == PROJECT and body["model_version"] == f"{PROJECT}/v1"
    outputs = {o["name"]: o for o in body["outputs"]}
    assert outputs["score"]["datatype"] == "FP64" and outputs["score"]["shape"] == [3]
    same = client.post("/v1/predict", json={"records": batch}).json()["predictions"]
    assert outputs["score"]["data"] == [a["score"] for a in same]
    assert outputs["decision"]["data"] == [a["decision"] for a in same]


def test_oip_v2_errors_name_the_tensor(client: httpx.Client, records: list[dict[str, Any]]) -> None:
    one = records[0]
    inputs = [
        {
            "name": k,
            "datatype": "FP64"
            if isinstance(v, float)
            else "INT64"
            if isinstance(v, int)
            else "BYTES",
            "shape": [1],
            "data": [v],
        }
        for k, v in one.items()
        if k != "age"
    ]
    income = next(i for i, tensor in enumerate(inputs) if tensor["name"] == "income")
    inputs[income]["data"] = ["lots"]
    inputs.append({"name": "shoe_size", "datatype": "INT64", "shape": [1], "data": [44]})
    response = client.post(f"/v2/models/{PROJECT}/infer", json={"inputs": inputs})
    assert response.status_code == 422
    assert errors(response) == {
        f"inputs[{income}].data[0]": "expected number, got 'lots'",
        "inputs": "no input tensor 'age' (required)",
        f"inputs[{len(inputs) - 1}].name": "unknown input 'shoe_size'",
    }
    shapes = [{**inputs[0], "shape": [2]}]
    assert "inputs[0].shape" in errors(
        client.post(f"/v2/models/{PROJECT}/infer", json={"inputs": shapes})
    )
    assert "inputs" in errors(client.post(f"/v2/models/{PROJECT}/infer", json={"inputs": []}))


def _datatype(meta: dict[str, Any], name: str) -> str:
    return str(next(i["datatype"] for i in meta["inputs"] if i["name"] == name))


def test_metrics_count_requests_predictions_and_refusals(
    client: httpx.Client, records: list[dict[str, Any]]
) -> None:
    client.post("/v1/predict", json={"records": records[30:32]})
    client.post("/v1/predict", json={"records": []})
    text = client.get("/metrics").text
    assert re.search(r'keel_requests_total\{route="/v1/predict",status="200"\} [1-9]', text)
    assert re.search(r'keel_requests_total\{route="/v1/predict",status="422"\} [1-9]', text)
    assert re.search(r'keel_predictions_total\{.*model="loan-default/v1".*\} [1-9]', text)
    assert 'keel_request_seconds_bucket{le="0.005",route="/v1/predict"}' in text
    assert "keel_release_swaps 1.0" in text and "keel_release_refused 0.0" in text
    assert 'status="500"' not in text


def test_release_shows_what_is_served(client: httpx.Client) -> None:
    body = client.get("/v1/release").json()
    assert body == {
        "release": "rel-0001",
        "champion": f"{PROJECT}/v1",
        "canary": None,
        "canary_share": 0.0,
        "shadow": [],
        "paused": False,
        "refused": None,
    }


def test_probes_answer_without_a_request_id_or_a_key(client: httpx.Client) -> None:
    for path in ("/healthz", "/readyz", "/v2/health/live", "/v2/health/ready"):
        response = client.get(path)
        assert response.status_code == 200, path


def test_concurrent_requests_scored_together_each_get_their_own_answers(
    client: httpx.Client, shared_server: Server, records: list[dict[str, Any]]
) -> None:
    batch = records[300:364]
    alone = client.post("/v1/predict", json={"records": batch}).json()["predictions"]

    def one(record: dict[str, Any]) -> dict[str, Any]:
        response = httpx.post(f"{shared_server.url}/v1/predict", json={"records": [record]})
        answer: dict[str, Any] = response.json()["predictions"][0]
        return answer

    with ThreadPoolExecutor(32) as pool:
        together = list(pool.map(one, batch))
    assert [a["entity_id"] for a in together] == [r["application_id"] for r in batch]
    assert [a["score"] for a in together] == [a["score"] for a in alone]
    assert [a["decision"] for a in together] == [a["decision"] for a in alone]


def test_out_of_distribution_records_are_flagged_sent_to_review_and_logged(
    client: httpx.Client, records: list[dict[str, Any]], shared_project: Path
) -> None:
    odd = {**records[400], "income": 4_900_000.0}
    response = client.post("/v1/predict", json={"records": [records[401], odd]})
    plain, flagged = response.json()["predictions"]
    assert plain["ood"] == [] and "out_of_range:income" in flagged["ood"]
    assert flagged["decision"] == "review"  # decisions.ood in the loan example
    [row] = [r for r in logged(shared_project) if r["prediction_id"] == flagged["id"]]
    assert row["ood"] == flagged["ood"] and row["decision"] == "review"
