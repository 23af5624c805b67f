"""The Open Inference Protocol V2 as a real client speaks it: Triton's ``tritonclient[http]``
against a real ``keel serve`` on loopback (metadata, readiness, inference), and the requests the
protocol does not allow (a tensor of the wrong shape or datatype) refused in the error shape."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

import keel
from tests.api.conftest import PROJECT, corrupt_model, set_baseline
from tests.api.live import Server


@pytest.fixture(scope="module")
def oip(shared_server: Server) -> Iterator[triton.InferenceServerClient]:
    client = triton.InferenceServerClient(shared_server.url.removeprefix("http://"))
    yield client
    client.close()


@pytest.fixture(scope="module")
def client(shared_server: Server) -> Iterator[httpx.Client]:
    with shared_server.client() as client:
        yield client


def _inputs(meta: dict[str, Any], batch: list[dict[str, Any]]) -> list[triton.InferInput]:
    """One tensor per input the metadata declares, of its declared datatype, shape [n]."""
    tensors = []
    for spec in meta["inputs"]:
        name, datatype = spec["name"], spec["datatype"]
        values = [r.get(name) for r in batch]
        if all(v is None for v in values):
            continue
        if datatype == "BYTES":
            array = np.array([str(v).encode() for v in values], dtype=np.object_)
        elif datatype == "BOOL":
            array = np.array(values, dtype=np.bool_)
        else:
            array = np.array(values, dtype=np.float64 if datatype == "FP64" else np.int64)
        tensor = triton.InferInput(name, [len(batch)], datatype)
        tensor.set_data_from_numpy(array, binary_data=False)
        tensors.append(tensor)
    return tensors


def test_a_triton_client_reads_metadata_and_readiness(
    oip: triton.InferenceServerClient,
) -> None:
    assert oip.is_server_live() and oip.is_server_ready()
    assert oip.is_model_ready(PROJECT)
    assert not oip.is_model_ready("no-such-model")
    server = oip.get_server_metadata()
    assert server == {"name": "keel", "version": keel.__version__, "extensions": []}
    meta = oip.get_model_metadata(PROJECT)
    assert meta["name"] == PROJECT and meta["versions"] == [f"{PROJECT}/v1"]
    datatypes = {i["name"]: i["datatype"] for i in meta["inputs"]}
    assert datatypes["income"] == "FP64" and datatypes["purpose"] == "BYTES"
    assert all(i["shape"] == [-1] for i in meta["inputs"])
    assert {o["name"]: o["datatype"] for o in meta["outputs"]} == {
        "score": "FP64",
        "decision": "BYTES",
        "prediction_id": "BYTES",
        "model": "BYTES",
    }


def test_a_triton_client_infers_what_v1_predict_answers(
    oip: triton.InferenceServerClient, client: httpx.Client, records: list[dict[str, Any]]
) -> None:
    batch = records[60:64]
    meta = oip.get_model_metadata(PROJECT)
    wanted = [triton.InferRequestedOutput(n, binary_data=False) for n in ("score", "decision")]
    result = oip.infer(PROJECT, _inputs(meta, batch), request_id="triton-1", outputs=wanted)
    answer = result.get_response()
    assert answer["id"] == "triton-1" and answer["model_name"] == PROJECT
    assert [o["name"] for o in answer["outputs"]] == ["score", "decision"]
    scores = result.as_numpy("score")
    assert scores is not None and scores.shape == (4,)
    same = client.post("/v1/predict", json={"records": batch}).json()["predictions"]
    assert scores.tolist() == pytest.approx([a["score"] for a in same])
    decisions = result.as_numpy("decision")
    assert decisions is not None
    assert [d.decode() if isinstance(d, bytes) else d for d in decisions] == [
        a["decision"] for a in same
    ]


def test_a_wrong_shape_or_datatype_is_a_422_in_the_error_shape(
    oip: triton.InferenceServerClient, client: httpx.Client, records: list[dict[str, Any]]
) -> None:
    meta = oip.get_model_metadata(PROJECT)
    tensors = [t._get_tensor() for t in _inputs(meta, records[:1])]
    income = next(i for i, t in enumerate(tensors) if t["name"] == "income")
    url = f"/v2/models/{PROJECT}/infer"

    def refused(change: dict[str, Any]) -> dict[str, str]:
        inputs = [dict(t) for t in tensors]
        inputs[income] = {**inputs[income], **change}
        response = client.post(url, json={"inputs": inputs})
        assert response.status_code == 422, response.text
        body = response.json()
        assert set(body) <= {"errors", "hint", "more"}
        return {e["path"]: e["reason"] for e in body["errors"]}

    deep = refused({"shape": [1, 1, 1]})
    assert "expected [1] or [1, 1]" in deep[f"inputs[{income}].shape"]
    boolean = refused({"datatype": "BOOL", "data": [True]})
    assert "'income' is FP64; BOOL is not accepted" in boolean[f"inputs[{income}].datatype"]
    text = refused({"datatype": "BYTES", "data": ["5000"]})
    assert "BYTES is not accepted" in text[f"inputs[{income}].datatype"]
    assert f"inputs[{income}].datatype" in refused({"datatype": "FP128"})
    assert client.post(url, json={"inputs": tensors}).status_code == 200  # the control
    inputs = [dict(t) for t in tensors]  # a float input takes any number type
    inputs[income] = {**inputs[income], "datatype": "INT32", "data": [5000]}
    assert client.post(url, json={"inputs": inputs}).status_code == 200
    with pytest.raises(InferenceServerException) as raised:  # through the client too
        tensor = triton.InferInput("income", [1, 1, 1], "FP64")
        tensor.set_data_from_numpy(np.array([[[5000.0]]]), binary_data=False)
        oip.infer(PROJECT, [tensor])
    assert raised.value.status() == "422" and "inputs[0].shape" in str(raised.value)


def test_binary_tensor_data_and_unknown_outputs_are_refused_with_a_hint(
    client: httpx.Client,
) -> None:
    url = f"/v2/models/{PROJECT}/infer"
    binary = client.post(
        url, content=b'{"inputs":[]}', headers={"Inference-Header-Content-Length": "13"}
    )
    assert binary.status_code == 422 and "binary_data=False" in binary.json()["hint"]
    inputs = [{"name": "income", "datatype": "FP64", "shape": [1], "data": [1.0]}]
    unknown = client.post(url, json={"inputs": inputs, "outputs": [{"name": "odds"}]})
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["path"] == "outputs[0].name"


def test_a_model_that_is_not_loaded_is_not_ready_503(project: Path, serve: Any) -> None:
    corrupt_model(project, 1)
    set_baseline(project, None)
    server: Server = serve()
    client = triton.InferenceServerClient(server.url.removeprefix("http://"))
    try:
        assert client.is_server_live()
        assert not client.is_server_ready() and not client.is_model_ready(PROJECT)
    finally:
        client.close()
    with server.client() as plain:
        ready = plain.get(f"/v2/models/{PROJECT}/ready")
        assert ready.status_code == 503
        assert ready.json()["name"] == PROJECT and ready.json()["ready"] is False
        assert "v1" in ready.json()["reason"]
