"""The Open Inference Protocol V2 (KServe, Triton, Seldon): columnar tensors in and out.

Each input tensor is one contract column, named after it, with one element per record; the
records go through the same checks, model and log as ``/v1/predict``. Outputs: ``score`` (FP64),
``decision``, ``prediction_id`` and ``model`` (BYTES). A deferred record has a null score.
"""

from __future__ import annotations

import re
from collections.abc import Sequence, Set
from dataclasses import dataclass
from typing import Any

from keel.errors import InvalidInput
from keel.serving.checks import InvalidRecords, Problem
from keel.serving.routing import ServingSet
from keel.serving.service import Answer

DATATYPES = {
    "number": "FP64",
    "integer": "INT64",
    "boolean": "BOOL",
    "string": "BYTES",
    "category": "BYTES",
    "datetime": "BYTES",
    "id": "BYTES",
}
KNOWN_DATATYPES = frozenset(
    {
        "BOOL",
        "UINT8",
        "UINT16",
        "UINT32",
        "UINT64",
        "INT8",
        "INT16",
        "INT32",
        "INT64",
        "FP16",
        "FP32",
        "FP64",
        "BYTES",
    }
)


@dataclass(frozen=True)
class Tensor:
    name: str
    datatype: str
    data: list[Any]


@dataclass(frozen=True)
class InferRequest:
    id: str | None
    inputs: tuple[Tensor, ...]
    rows: int

    @classmethod
    def parse(cls, body: dict[str, Any]) -> InferRequest:
        """Validate the request; every error names its path, e.g. ``inputs[1].shape``."""
        inputs = body.get("inputs")
        if not isinstance(inputs, list) or not inputs:
            raise InvalidInput("expected a non-empty list of input tensors", path="inputs")
        request_id = body.get("id")
        if request_id is not None and not isinstance(request_id, str):
            raise InvalidInput("expected a string", path="id")
        tensors = [_tensor(i, item) for i, item in enumerate(inputs)]
        rows = len(tensors[0].data)
        for i, tensor in enumerate(tensors):
            if len(tensor.data) != rows:
                raise InvalidInput(
                    f"has {len(tensor.data)} elements; inputs[0] has {rows}",
                    path=f"inputs[{i}].data",
                )
        names = [t.name for t in tensors]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise InvalidInput(f"input {repeated[0]!r} is given twice", path="inputs")
        return cls(request_id, tuple(tensors), rows)

    def records(self) -> list[dict[str, Any]]:
        """One record per row, keyed by tensor name."""
        return [{t.name: t.data[row] for t in self.inputs} for row in range(self.rows)]


_RECORD_PATH = re.compile(r"^records\[(\d+)\]\.(.+)$")


def tensor_problems(
    request: InferRequest, error: InvalidRecords, known: Set[str]
) -> InvalidRecords:
    """The record checks' problems in the request's own terms: ``records[3].income`` becomes
    ``inputs[k].data[3]``, a missing column ``inputs`` (no such tensor), an unknown column
    the tensor's ``name``. Each tensor-level problem is listed once."""
    index = {tensor.name: k for k, tensor in enumerate(request.inputs)}
    found: dict[tuple[str, str], Problem] = {}
    for problem in error.problems:
        match = _RECORD_PATH.match(problem.path)
        if match is None:
            moved = Problem("inputs", problem.reason)
        else:
            row, name = match.groups()
            k = index.get(name)
            if k is None:
                moved = Problem("inputs", f"no input tensor {name!r} ({problem.reason})")
            elif name not in known:
                moved = Problem(f"inputs[{k}].name", f"unknown input {name!r}")
            else:
                moved = Problem(f"inputs[{k}].data[{row}]", problem.reason)
        found.setdefault((moved.path, moved.reason), moved)
    problems = list(found.values())
    return InvalidRecords(problems, total=len(problems) + error.total - len(error.problems))


def _tensor(index: int, item: object) -> Tensor:
    path = f"inputs[{index}]"
    if not isinstance(item, dict):
        raise InvalidInput("expected a tensor object", path=path)
    name, datatype, shape, data = (item.get(k) for k in ("name", "datatype", "shape", "data"))
    if not isinstance(name, str) or not name:
        raise InvalidInput("required", path=f"{path}.name")
    if datatype not in KNOWN_DATATYPES:
        raise InvalidInput(f"unknown datatype {datatype!r}", path=f"{path}.datatype")
    if not isinstance(data, list):
        raise InvalidInput("expected a flat list", path=f"{path}.data")
    if (
        not isinstance(shape, list)
        or not shape
        or not all(isinstance(n, int) and not isinstance(n, bool) for n in shape)
        or shape[0] != len(data)
        or any(n != 1 for n in shape[1:])
    ):
        raise InvalidInput(
            f"expected [{len(data)}] or [{len(data)}, 1] for {len(data)} elements; got {shape!r}",
            path=f"{path}.shape",
        )
    return Tensor(name, str(datatype), data)


def infer_response(
    project: str, request: InferRequest, answers: Sequence[Answer], request_id: str
) -> dict[str, Any]:
    dicts = [a.to_dict() for a in answers]
    rows = len(dicts)
    models = sorted({d["model"] for d in dicts if d["model"]})

    def output(name: str, datatype: str) -> dict[str, Any]:
        return {
            "name": name,
            "datatype": datatype,
            "shape": [rows],
            "data": [d[key[name]] for d in dicts],
        }

    key = {"score": "score", "decision": "decision", "prediction_id": "id", "model": "model"}
    return {
        "model_name": project,
        "model_version": models[0] if len(models) == 1 else ",".join(models),
        "id": request_id,
        "outputs": [
            output("score", "FP64"),
            output("decision", "BYTES"),
            output("prediction_id", "BYTES"),
            output("model", "BYTES"),
        ],
    }


def model_metadata(project: str, serving: ServingSet, schema: dict[str, Any]) -> dict[str, Any]:
    """The model's name, the versions serving it, and its input and output tensors."""
    record = schema["properties"]["records"]["items"]
    kinds = {name: _kind(prop) for name, prop in record["properties"].items()}
    versions = [p.model for p in (serving.champion, serving.canary) if p is not None]
    return {
        "name": project,
        "versions": versions,
        "platform": "keel",
        "inputs": [
            {"name": name, "datatype": DATATYPES[kind], "shape": [-1]}
            for name, kind in kinds.items()
        ],
        "outputs": [
            {"name": "score", "datatype": "FP64", "shape": [-1]},
            {"name": "decision", "datatype": "BYTES", "shape": [-1]},
            {"name": "prediction_id", "datatype": "BYTES", "shape": [-1]},
            {"name": "model", "datatype": "BYTES", "shape": [-1]},
        ],
    }


def _kind(prop: dict[str, Any]) -> str:
    types = prop["type"] if isinstance(prop["type"], list) else [prop["type"]]
    main = next((t for t in types if t != "null"), "string")
    if main == "number":
        return "number"
    if main == "integer":
        return "integer"
    if main == "boolean":
        return "boolean"
    return "string"
