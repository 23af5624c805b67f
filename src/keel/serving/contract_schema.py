"""The request body of ``/v1/predict`` as JSON Schema, derived from the contract's field rules,
so the OpenAPI document says exactly what the checks enforce."""

from __future__ import annotations

from typing import Any

from keel.serving.checks import RecordChecker
from keel.serving.fields import Field

_TYPES = {
    "number": "number",
    "integer": "integer",
    "boolean": "boolean",
    "string": "string",
    "category": "string",
    "datetime": "string",
}
_LIMIT = 1e300  # the checks' open bounds are near the float limits; only real bounds are shown


def field_schema(rule: Field) -> dict[str, Any]:
    """One record field: its JSON type, bounds, allowed values and pattern."""
    if rule.kind == "id":
        schema: dict[str, Any] = {"type": ["string", "integer"]}
    else:
        schema = {"type": _TYPES[rule.kind]}
    if rule.kind == "datetime":
        schema["format"] = "date-time"
    if rule.allowed is not None:
        schema["enum"] = sorted(rule.allowed)
    if rule.kind in ("number", "integer"):
        if abs(rule.low) < _LIMIT and rule.low > -(2**62):
            schema["minimum"] = rule.low
        if abs(rule.high) < _LIMIT and rule.high < 2**62:
            schema["maximum"] = rule.high
    if rule.pattern is not None:
        schema["pattern"] = rule.pattern.pattern
    if rule.nullable:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        schema["type"] = [*types, "null"]
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
    return schema


def openapi_records_schema(checker: RecordChecker) -> dict[str, Any]:
    """``{"records": [record, ...], "explain": k}`` with one property per contract field."""
    record = {
        "type": "object",
        "properties": {rule.name: field_schema(rule) for rule in checker.fields},
        "required": [rule.name for rule in checker.fields if rule.required],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {
            "records": {"type": "array", "minItems": 1, "items": record},
            "explain": {"type": "integer", "minimum": 0, "maximum": 20, "default": 0},
        },
        "required": ["records"],
        "additionalProperties": False,
    }


OUTCOMES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "outcomes": {
            "type": "array",
            "minItems": 1,
            "maxItems": 10_000,
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": ["string", "integer"]},
                    "prediction_id": {"type": ["string", "integer"]},
                    "entity_id": {"type": ["string", "integer"]},
                    "label": {},
                    "decision": {"type": "string"},
                },
                "additionalProperties": False,
            },
        }
    },
    "required": ["outcomes"],
    "additionalProperties": False,
}
"""The body of ``/v1/outcomes`` (``keel.serving.outcomes`` checks the rest: an id or an entity
id, a label or a decision, a label the target allows)."""


def infer_schema(kinds: dict[str, str]) -> dict[str, Any]:
    """The body of ``/v2/models/{name}/infer``: one tensor per input, by name."""
    tensor = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "enum": sorted(kinds)},
            "datatype": {"type": "string"},
            "shape": {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 2},
            "data": {"type": "array"},
            "parameters": {"type": "object"},
        },
        "required": ["name", "datatype", "shape", "data"],
        "additionalProperties": False,
    }
    output = {
        "type": "object",
        "properties": {
            "name": {"enum": ["score", "decision", "prediction_id", "model"]},
            "parameters": {"type": "object"},
        },
        "required": ["name"],
    }
    return {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "inputs": {"type": "array", "minItems": 1, "items": tensor},
            "outputs": {"type": "array", "minItems": 1, "items": output},
            "parameters": {"type": "object"},
        },
        "required": ["inputs"],
        "additionalProperties": False,
    }
