"""The Open Inference Protocol V2 (KServe, Triton, Seldon): columnar tensors in and out.

Each input tensor is one contract column, named after it, with one element per record, shape
``[n]`` or ``[n, 1]``, and a datatype of the column's family (any number type for a float
column, an integer type for an int column, ``BOOL`` for a bool column, ``BYTES`` for text); the
records go through the same checks, model and log as ``/v1/predict``. Outputs: ``score`` (FP64),
``decision``, ``prediction_id`` and ``model`` (BYTES), or those the request names in ``outputs``.
A deferred record has a null score. Tensor data travels as JSON: the binary data extension is
refused with a 422 that says so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from typing import Any

from keel import __version__
from keel.errors import InvalidInput
from keel.serving.checks import InvalidRecords, Problem
from keel.serving.fields import show
from keel.serving.parsing import only
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
INTEGERS = frozenset({"UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64"})
FLOATS = frozenset({"FP16", "FP32", "FP64"})
KNOWN_DATATYPES = INTEGERS | FLOATS | {"BOOL", "BYTES"}
ACCEPTED = {
    "number": INTEGERS | FLOATS,
    "integer": INTEGERS | FLOATS,  # an integral float passes, as the contract's casts allow
    "boolean": frozenset({"BOOL"}),
    "string": frozenset({"BYTES"}),
    "id": INTEGERS | {"BYTES"},  # an entity id the contract does not declare: text or integer
}
"""For each kind of input, the datatypes a request may send for it."""
OUTPUTS = {"score": "FP64", "decision": "BYTES", "prediction_id": "BYTES", "model": "BYTES"}


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
    outputs: tuple[str, ...] = tuple(OUTPUTS)

    @classmethod
    def parse(cls, body: dict[str, Any], declared: Mapping[str, str]) -> InferRequest:
        """Validate the request against the ``declared`` input kinds (``input_kinds``);
        every error names its path, e.g. ``inputs[1].shape``."""
        only(body, "id", "inputs", "outputs", "parameters")
        inputs = body.get("inputs")
        if not isinstance(inputs, list) or not inputs:
            raise InvalidInput("expected a non-empty list of input tensors", path="inputs")
        request_id = body.get("id")
        if request_id is not None and not isinstance(request_id, str):
            raise InvalidInput("expected a string", path="id")
        if body.get("parameters") is not None and not isinstance(body["parameters"], dict):
            raise InvalidInput("expected an object", path="parameters")
        tensors = [_tensor(i, item, declared) for i, item in enumerate(inputs)]
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
        return cls(request_id, tuple(tensors), rows, _outputs(body.get("outputs")))

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


def _tensor(index: int, item: object, declared: Mapping[str, str]) -> Tensor:
    path = f"inputs[{index}]"
    if not isinstance(item, dict):
        raise InvalidInput("expected a tensor object", path=path)
    unknown = sorted(set(item) - {"name", "datatype", "shape", "data", "parameters"})
    if unknown:
        raise InvalidInput(f"unknown field {unknown[0]!r}", path=f"{path}.{unknown[0]}")
    name, datatype, shape, data = (item.get(k) for k in ("name", "datatype", "shape", "data"))
    if not isinstance(name, str) or not name:
        raise InvalidInput("required", path=f"{path}.name")
    if not isinstance(datatype, str) or datatype not in KNOWN_DATATYPES:
        raise InvalidInput(
            f"unknown datatype {show(datatype)}; one of {', '.join(sorted(KNOWN_DATATYPES))}",
            path=f"{path}.datatype",
        )
    kind = declared.get(name)
    if kind is not None and datatype not in ACCEPTED[kind]:
        raise InvalidInput(
            f"input {name!r} is {DATATYPES[kind]}; {datatype} is not accepted for it "
            f"(send one of {', '.join(sorted(ACCEPTED[kind]))})",
            path=f"{path}.datatype",
        )
    if not isinstance(data, list):
        raise InvalidInput("expected a flat list", path=f"{path}.data")
    if (
        not isinstance(shape, list)
        or len(shape) not in (1, 2)
        or not all(isinstance(n, int) and not isinstance(n, bool) for n in shape)
        or shape[0] != len(data)
        or shape[1:] not in ([], [1])
    ):
        raise InvalidInput(
            f"expected [{len(data)}] or [{len(data)}, 1] for {len(data)} elements; got {shape!r}",
            path=f"{path}.shape",
        )
    return Tensor(name, datatype, data)


def _outputs(value: object) -> tuple[str, ...]:
    """The outputs a request names (all four when it names none)."""
    if value is None:
        return tuple(OUTPUTS)
    if not isinstance(value, list) or not value:
        raise InvalidInput("expected a non-empty list of requested outputs", path="outputs")
    names: list[str] = []
    for i, item in enumerate(value):
        name = item.get("name") if isinstance(item, dict) else None
        if name not in OUTPUTS:
            raise InvalidInput(
                f"unknown output {show(name)}; one of {', '.join(OUTPUTS)}",
                path=f"outputs[{i}].name",
            )
        if name not in names:
            names.append(name)
    return tuple(names)


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
        "outputs": [output(name, OUTPUTS[name]) for name in request.outputs],
    }


def input_kinds(schema: dict[str, Any]) -> dict[str, str]:
    """Each input tensor's kind (a key of ``DATATYPES``), from the records schema of
    ``/v1/predict``."""
    record = schema["properties"]["records"]["items"]
    return {name: _kind(prop) for name, prop in record["properties"].items()}


def model_metadata(project: str, serving: ServingSet, schema: dict[str, Any]) -> dict[str, Any]:
    """The model's name, the versions serving it, and its input and output tensors."""
    versions = [p.model for p in (serving.champion, serving.canary) if p is not None]
    return {
        "name": project,
        "versions": versions,
        "platform": "keel",
        "inputs": [
            {"name": name, "datatype": DATATYPES[kind], "shape": [-1]}
            for name, kind in input_kinds(schema).items()
        ],
        "outputs": [
            {"name": name, "datatype": datatype, "shape": [-1]}
            for name, datatype in OUTPUTS.items()
        ],
    }


def server_metadata() -> dict[str, Any]:
    """``GET /v2``: the server's name, version and protocol extensions (none)."""
    return {"name": "keel", "version": __version__, "extensions": []}


def _kind(prop: dict[str, Any]) -> str:
    types = prop["type"] if isinstance(prop["type"], list) else [prop["type"]]
    if "string" in types and "integer" in types:
        return "id"
    main = next((t for t in types if t != "null"), "string")
    if main == "number":
        return "number"
    if main == "integer":
        return "integer"
    if main == "boolean":
        return "boolean"
    return "string"
