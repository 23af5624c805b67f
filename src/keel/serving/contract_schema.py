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
