"""A model version's input signature, and whether a new one can replace an old one.

Clients of the serving model send the columns its signature names. A successor is compatible when
every request valid for the old model stays valid: it may stop using a column or use a new
optional one, but it may not require a new column, change a type, or allow fewer categories.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class InputField:
    name: str
    type: str
    required: bool
    values: tuple[str, ...] | None = None  # allowed categories, when declared

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"name": self.name, "type": self.type, "required": self.required}
        if self.values is not None:
            body["values"] = list(self.values)
        return body

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> InputField:
        values = body.get("values")
        return cls(
            str(body["name"]),
            str(body["type"]),
            bool(body["required"]),
            tuple(str(v) for v in values) if values is not None else None,
        )


@dataclass(frozen=True)
class Compatibility:
    compatible: bool
    changes: tuple[str, ...]  # each a short phrase, breaking ones first

    def summary(self) -> str:
        return "; ".join(self.changes) if self.changes else "same inputs"


@dataclass(frozen=True)
class Signature:
    fields: tuple[InputField, ...]

    def by_name(self) -> dict[str, InputField]:
        return {f.name: f for f in self.fields}

    def to_list(self) -> list[dict[str, Any]]:
        return [f.to_dict() for f in self.fields]

    @classmethod
    def from_list(cls, items: list[Mapping[str, Any]]) -> Signature:
        return cls(tuple(InputField.from_dict(item) for item in items))

    def compared_to(self, old: Signature) -> Compatibility:
        """Whether this signature can serve every request ``old`` accepted."""
        before, after = old.by_name(), self.by_name()
        breaking: list[str] = []
        benign: list[str] = []
        for name, new in after.items():
            was = before.get(name)
            if was is None:
                (breaking if new.required else benign).append(
                    f"added {'required' if new.required else 'optional'} '{name}'"
                )
                continue
            if was.type != new.type:
                breaking.append(f"'{name}' changed type {was.type} -> {new.type}")
            if new.required and not was.required:
                breaking.append(f"'{name}' became required")
            if was.values is not None and new.values is not None:
                dropped = sorted(set(was.values) - set(new.values))
                if dropped:
                    breaking.append(f"'{name}' no longer allows {', '.join(dropped)}")
        benign += [f"no longer uses '{name}'" for name in before if name not in after]
        return Compatibility(not breaking, tuple(breaking + benign))
