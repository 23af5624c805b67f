"""The one strict base model of Keel's files, and the one translator of what is wrong with them.

Every section of ``keel.yaml`` (and every file a section names) is a model derived from ``Strict``:
unknown keys are refused, so a typo fails loudly instead of silently leaving a default in force,
and a parsed section cannot change afterwards. ``problems_of`` turns a pydantic error into one
``Problem`` per mistake (the file, the field path, what was expected, what arrived) and
``config_error`` reports them all at once, so a file is fixed in one pass, not one error a run.

A validator that checks more than a type raises ``Invalid`` with a message that says how to fix
it; ``at`` names a deeper field (``"ood"``, ``"[1]"``) than the one being validated.

Like ``errors`` and ``types``, this module may be imported by every package.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from keel.errors import ConfigError, InvalidInput

MAX_SHOWN = 80  # characters of an input shown back in a message
TOP = "(top level)"  # the path of a problem with the whole file


class Strict(BaseModel):
    """A section of a Keel file: unknown keys are refused, and it cannot change once parsed."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Invalid(InvalidInput, ValueError):
    """Raised by a validator: ``message`` says what is wrong; ``at`` names a deeper field.

    A ``ValueError`` so that pydantic collects it with the other problems of the file; an
    ``InvalidInput`` so that it belongs to that family should it ever escape a validator.
    """

    def __init__(self, message: str, *, at: str = "") -> None:
        super().__init__(message, path=at or None)
        self.at = at


@dataclass(frozen=True)
class Problem:
    """One mistake in one file: where it is, and what was expected instead of what arrived."""

    path: str
    expected: str
    got: str | None = None
    source: str | None = None

    @property
    def text(self) -> str:
        """``path: expected (got ...)``, without the file."""
        shown = f" (got {self.got})" if self.got is not None else ""
        return f"{self.path}: {self.expected}{shown}"

    def line(self) -> str:
        """The problem on one line, the file first when it is known."""
        return f"{self.source}: {self.text}" if self.source else self.text

    def to_dict(self) -> dict[str, str | None]:
        fields = ("source", "path", "expected", "got")
        return {name: getattr(self, name) for name in fields}


class SchemaError(ConfigError):
    """Every problem found in one or more files, reported together; ``path`` is the first's."""

    def __init__(self, problems: Sequence[Problem], *, hint: str | None = None) -> None:
        first = problems[0]
        super().__init__(_message(problems), source=first.source, path=first.path, hint=hint)
        self.problems = tuple(problems)


def config_error(
    exc: ValidationError,
    model: type[BaseModel],
    *,
    section: str = "",
    source: str | None = None,
    hint: str | None = None,
) -> SchemaError:
    """One ``ConfigError`` listing every problem of ``exc`` (raised validating ``model``)."""
    return SchemaError(problems_of(exc, model, section=section, source=source), hint=hint)


def validate_section(
    model: type[Any], data: Mapping[str, Any] | None, *, section: str, hint: str | None = None
) -> Any:
    """``model`` validated from one section's mapping; every problem in one ``ConfigError``."""
    try:
        return model.model_validate(dict(data or {}))
    except ValidationError as exc:
        raise config_error(exc, model, section=section, hint=hint) from None


def problems_of(
    exc: ValidationError,
    model: type[BaseModel],
    *,
    section: str = "",
    source: str | None = None,
) -> list[Problem]:
    """Every error of ``exc`` as a ``Problem``; ``section`` prefixes each field path."""
    found: dict[tuple[str, str], Problem] = {}
    for error in exc.errors():
        problem, in_union = _problem(error, model, section, source)
        key = (problem.path, "" if in_union else problem.expected)
        before = found.get(key)
        found[key] = _merge(before, problem) if before else problem
    return list(found.values())


def _problem(
    error: Mapping[str, Any], model: type[BaseModel], section: str, source: str | None
) -> tuple[Problem, bool]:
    """One error as a problem, and whether it is one member's complaint about a union."""
    parts, keys, in_union = _walk(model, tuple(error["loc"]))
    path = _join([section, *parts])
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, Invalid):
        return Problem(_join([path, cause.at]) or TOP, cause.message, None, source), False
    return Problem(path or TOP, _expected(error, keys), _got(error), source), in_union


def _expected(error: Mapping[str, Any], keys: Sequence[str]) -> str:
    if error["type"] == "extra_forbidden":
        known = f"; known keys are {', '.join(keys)}" if keys else ""
        return f"unknown field (not a known key{known})"
    if error["type"] == "missing":
        return "required field is missing"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{message[0].lower()}{message[1:]}" if message else str(error["type"])


def _got(error: Mapping[str, Any]) -> str | None:
    if error["type"] in ("extra_forbidden", "missing"):
        return None
    text = repr(error.get("input"))
    return text if len(text) <= MAX_SHOWN else f"{text[: MAX_SHOWN - 3]}..."


def _merge(before: Problem, after: Problem) -> Problem:
    """Two errors at one path (the members of a union): one problem naming both expectations."""
    if after.expected in before.expected.split(", or "):
        return before
    expected = f"{before.expected}, or {after.expected}"
    return Problem(before.path, expected, before.got, before.source)


def _walk(model: type[BaseModel], loc: tuple[Any, ...]) -> tuple[list[str], list[str], bool]:
    """The field path of ``loc`` as a reader writes it (without the tags pydantic adds for
    tagged unions), the keys known where its last key was found, and whether it stopped at a
    union (whose members each add an error at the same place)."""
    parts: list[str] = []
    definitions: dict[str, Any] = {}
    node, parent = _resolve(model.__pydantic_core_schema__, definitions), None
    for item in loc:
        kind = node.get("type") if node is not None else None
        if kind == "union":
            return parts, [], True
        if kind != "tagged-union":
            parts.append(str(item))
        parent, node = node, _resolve(_child(node, kind, item), definitions)
    fields = parent.get("fields", {}) if parent and parent.get("type") == "model-fields" else {}
    return parts, list(fields), False


def _child(node: Any, kind: str | None, item: Any) -> Any:
    """The schema one step down ``node`` at ``item`` (a field, an index, a key or a tag)."""
    found: Any = None
    if kind == "model-fields":
        field = node["fields"].get(item)
        found = None if field is None else field["schema"]
    elif kind == "tagged-union":
        found = node["choices"].get(item)
    elif kind in ("list", "set", "frozenset"):
        found = node.get("items_schema")
    elif kind == "tuple":
        found = _tuple_item(node, item)
    elif kind == "dict":
        found = node.get("values_schema")
    return found


def _tuple_item(node: Any, item: Any) -> Any:
    items = node.get("items_schema") or []
    index = item if isinstance(item, int) else 0
    variadic = node.get("variadic_item_index")
    if variadic is not None and index >= variadic:
        index = variadic
    return items[index] if index < len(items) else None


_WRAPPERS = ("nullable", "default", "function-before", "function-after", "function-wrap", "model")


def _resolve(node: Any, definitions: dict[str, Any]) -> Any:
    """Step through wrappers (defaults, optional values, validators, references) to the shape."""
    while node is not None:
        kind = node.get("type")
        if "ref" in node:
            definitions.setdefault(node["ref"], node)
        if kind == "definitions":
            definitions.update({found["ref"]: found for found in node["definitions"]})
            node = node["schema"]
        elif kind == "definition-ref":
            node = definitions.get(node["schema_ref"])
        elif kind in _WRAPPERS and "schema" in node:
            node = node["schema"]
        elif kind == "lax-or-strict":
            node = node["lax_schema"]
        elif kind == "json-or-python":
            node = node["python_schema"]
        else:
            return node
    return None


def _join(parts: Iterable[str]) -> str:
    path = ""
    for part in parts:
        if not part:
            continue
        path += part if part.startswith("[") or not path else f".{part}"
    return path


def _message(problems: Sequence[Problem]) -> str:
    """All problems on one line, grouped by file: ``a.yaml: x: ...; y: ...; b.yaml: z: ...``."""
    pieces: list[str] = []
    current: str | None = None
    for problem in problems:
        if problem.source != current or not pieces:
            pieces.append(problem.line())
            current = problem.source
        else:
            pieces.append(problem.text)
    return "; ".join(pieces)
