"""The configuration reference (``docs/configuration.md``), generated from the typed models.

Every key ``keel.yaml`` accepts comes from the pydantic models of ``keel.config.ProjectFile``
and the section models it holds, so the reference is written from them: each key with its type,
its default and its documentation (the attribute's docstring, else the comment on its line, else
the class's own docstring for a section). ``python -m keel.config_reference`` rewrites the file;
``--check`` exits 1 when the committed file differs from what the models say (a test runs it).
"""

from __future__ import annotations

import ast
import inspect
import io
import sys
import textwrap
import tokenize
import types
import typing
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from keel.config import ProjectFile

DOC = Path("docs/configuration.md")

_INTRO = """\
# Configuration reference

Every key of `keel.yaml`, with its type, its default and what it does. This file is generated
from the typed models that read `keel.yaml` (`python -m keel.config_reference`, or `make docs`);
a test fails when it is out of date. Keys are written as paths: `a.b` is the key `b` inside the
section `a`, `a[]` is an item of the list `a`, and `a.<name>` is an entry of the mapping `a`
under a name you choose. Unknown keys are refused everywhere, and every problem of a file is
reported at once (`keel check`).

A key without a default is required whenever its section is present. The contract (the
`contract:` section, inline or in the file `contract: {file: contract.yaml}` names) is described
with the other sections.
"""


@dataclass(frozen=True)
class Key:
    path: str
    type: str
    default: str
    doc: str


@dataclass(frozen=True)
class Section:
    path: str
    name: str
    doc: str
    keys: tuple[Key, ...]


def reference() -> str:
    """The whole reference as Markdown."""
    parts = [_INTRO]
    sections = list(_sections(ProjectFile, "", ProjectFile.__doc__ or ""))
    forms = Counter(section.path for section in sections)
    for section in sections:
        title = f"`{section.path}`" if section.path else "Top level"
        if forms[section.path] > 1:
            title += f" (one of its forms: {section.name})"
        parts.append(f"\n## {title}\n")
        if section.doc:
            parts.append(f"\n{section.doc}\n")
        parts.append("\n| key | type | default | description |\n|---|---|---|---|\n")
        parts += [
            f"| `{k.path}` | {_cell(k.type)} | {_cell(k.default)} | {_cell(k.doc)} |\n"
            for k in section.keys
        ]
    return "".join(parts)


def _sections(model: type[BaseModel], path: str, doc: str) -> Iterator[Section]:
    docs = _field_docs(model)
    keys: list[Key] = []
    nested: list[tuple[type[BaseModel], str]] = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        full = f"{path}.{key}" if path else key
        kind = _type(field.annotation) + _bounds(field)
        keys.append(Key(full, kind, _default(field), docs.get(name, "")))
        for inner, suffix in _models_in(field.annotation):
            nested.append((inner, full + suffix))
    yield Section(path, model.__name__, _clean(doc), tuple(keys))
    for inner, where in nested:
        yield from _sections(inner, where, inner.__doc__ or "")


def _models_in(annotation: Any, suffix: str = "") -> Iterator[tuple[type[BaseModel], str]]:
    """The models a field holds, with the path suffix that reaches them (``[]``, ``.<name>``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation, suffix
        return
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (list, tuple, set, frozenset):
        for arg in args:
            if arg is not Ellipsis:
                yield from _models_in(arg, suffix + "[]")
    elif origin in (dict, typing.Mapping) or (origin is not None and _is_mapping(origin)):
        yield from _models_in(args[1], suffix + ".<name>")
    elif origin in (Union, types.UnionType) or origin is typing.Annotated:
        seen: set[type[BaseModel]] = set()
        for arg in args:
            for found, where in _models_in(arg, suffix):
                if found not in seen:
                    seen.add(found)
                    yield found, where


def _is_mapping(origin: Any) -> bool:
    return isinstance(origin, type) and issubclass(origin, dict)


def _type(annotation: Any) -> str:
    """A type as a reader of YAML sees it."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is None:
        return _plain_type(annotation)
    if origin is Literal:
        text = " or ".join(f"`{_yaml(a)}`" for a in args)
    elif origin in (Union, types.UnionType):
        text = " or ".join(_type(a) for a in args)
    elif origin is typing.Annotated:
        text = _type(args[0])
    elif origin in (list, tuple, set, frozenset):
        inner = [a for a in args if a is not Ellipsis]
        text = f"list of {_type(inner[0]) if inner else 'any'}"
    elif origin in (dict, typing.Mapping) or _is_mapping(origin):
        text = f"mapping of {_type(args[0])} to {_type(args[1])}" if args else "mapping"
    else:
        text = str(annotation).replace("typing.", "")
    return text


def _plain_type(annotation: Any) -> str:
    if annotation is None or annotation is type(None):
        text = "null"
    elif annotation is Any or not isinstance(annotation, type):
        text = "any" if annotation is Any else str(annotation).replace("typing.", "")
    elif issubclass(annotation, BaseModel):
        text = "section"
    elif issubclass(annotation, Enum):
        text = " or ".join(f"`{m.value}`" for m in annotation)
    else:
        text = _NAMES.get(annotation.__name__, annotation.__name__)
    return text


_NAMES = {
    "str": "text",
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "timedelta": "duration (`90s`, `15m`, `12h`, `7d`)",
    "datetime": "date-time (ISO 8601)",
}
_BOUNDS = {
    "ge": ">=",
    "gt": ">",
    "le": "<=",
    "lt": "<",
    "min_length": "length >=",
    "max_length": "length <=",
}


def _bounds(field: FieldInfo) -> str:
    """The limits pydantic checks on a field (``>= 1``, ``length >= 1``, a pattern)."""
    found = [
        f"{sign} {getattr(item, name)}"
        for item in field.metadata
        for name, sign in _BOUNDS.items()
        if getattr(item, name, None) is not None
    ]
    found += [
        f"matching `{item.pattern}`" for item in field.metadata if getattr(item, "pattern", None)
    ]
    return f" ({', '.join(found)})" if found else ""


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        made = field.default_factory()  # type: ignore[call-arg]
        if isinstance(made, BaseModel):
            return "see below"
        return f"`{_yaml(made)}`"
    if field.default is PydanticUndefined:
        return "required"
    return f"`{_yaml(field.default)}`"


def _yaml(value: Any) -> str:
    """A value as it would be written in keel.yaml."""
    if isinstance(value, Enum):
        value = value.value
    elif isinstance(value, BaseModel):
        value = value.model_dump(mode="json", by_alias=True)
    if isinstance(value, dict):
        text = "{" + ", ".join(f"{k}: {_yaml(v)}" for k, v in value.items()) + "}"
    elif isinstance(value, list | tuple | set | frozenset):
        text = "[" + ", ".join(_yaml(v) for v in value) + "]"
    elif isinstance(value, bool) or value is None:
        text = {True: "true", False: "false", None: "null"}[value]
    else:
        text = str(value) if value != "" else '""'
    return text


def _field_docs(model: type[BaseModel]) -> dict[str, str]:
    """Each field's docstring, else the comment on its line, from the model and its bases."""
    docs: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)) or cls is BaseModel:
            continue
        try:
            source = textwrap.dedent(inspect.getsource(cls))
        except (OSError, TypeError):
            continue
        docs.update(_docs_in(source))
    return docs


def _docs_in(source: str) -> dict[str, str]:
    comments = {
        token.start[0]: token.string.lstrip("#").strip()
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT
    }
    body = ast.parse(source).body[0]
    assert isinstance(body, ast.ClassDef)
    docs: dict[str, str] = {}
    statements = body.body
    for index, node in enumerate(statements):
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        after = statements[index + 1] if index + 1 < len(statements) else None
        if (
            isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[node.target.id] = _clean(after.value.value)
        elif (comment := comments.get(node.end_lineno or node.lineno)) is not None:
            docs[node.target.id] = comment
    return docs


def _clean(text: str) -> str:
    """A docstring as one paragraph of Markdown (code examples dropped: they are in the docs)."""
    text = inspect.cleandoc(text)
    kept: list[str] = []
    fenced = False
    for line in text.splitlines():
        if line.strip().startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            kept.append(line)
    paragraphs = "\n".join(kept).split("\n\n")
    return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n\n", "<br>").replace("\n", " ")


def main(argv: list[str] | None = None) -> int:
    """Write the reference; with ``--check``, only say whether the committed file is current."""
    args = sys.argv[1:] if argv is None else argv
    text = reference()
    if "--check" in args:
        if not DOC.is_file() or DOC.read_text(encoding="utf-8") != text:
            print(f"{DOC} is out of date: run 'python -m keel.config_reference'", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
