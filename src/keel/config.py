"""The project file (``keel.yaml``) and the settings object; read at the edges only.

Domain packages never import this module: the CLI, the API and ``wiring`` read settings once and
pass plain values inward.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from keel.errors import ConfigError
from keel.types import NAME_PATTERN

PROJECT_FILE = "keel.yaml"
STATE_DIR = ".keel"
MAX_PROJECT_FILE_BYTES = 1 << 20


class Section(BaseModel):
    """A section later features fill in; unknown keys are kept until each is typed."""

    model_config = ConfigDict(extra="allow", frozen=True)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TargetSpec(Strict):
    column: str
    kind: Literal["binary", "regression"] = "binary"
    positive: int | str | bool = 1


class StorageSpec(Strict):
    """Where this project keeps its metadata and artifacts; the environment overrides both."""

    database_url: str | None = None
    store_url: str | None = None


class ProjectFile(Strict):
    """Everything ``keel.yaml`` declares; each section is optional until its feature is used."""

    name: str = Field(pattern=NAME_PATTERN.pattern)
    description: str = ""
    entity: str
    timestamp: str | None = None
    target: TargetSpec
    limitations: list[str] = Field(default_factory=list)
    storage: StorageSpec = Field(default_factory=StorageSpec)
    contract: Section = Field(default_factory=Section)
    features: Section = Field(default_factory=Section)
    model: Section = Field(default_factory=Section)
    benchmark: Section = Field(default_factory=Section)
    release: Section = Field(default_factory=Section)
    decisions: Section = Field(default_factory=Section)
    monitoring: Section = Field(default_factory=Section)
    automation: Section = Field(default_factory=Section)


class _NoAliasLoader(yaml.SafeLoader):
    """Safe YAML without anchors or aliases: no object tags, and no 'billion laughs' expansion."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, "YAML aliases (*name) are not allowed in Keel files", event.start_mark
            )
        return super().compose_node(parent, index)


def load_yaml(text: str, *, source: str) -> Any:
    """Parse YAML safely, turning parser errors into a ``ConfigError`` naming the file and line."""
    try:
        return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{source}{where}: invalid YAML: {problem}", source=source) from None


def load_project(path: Path) -> ProjectFile:
    """Read and validate a project file; every problem names the file and the field path."""
    source = str(path)
    if not path.is_file():
        raise ConfigError(f"{source}: no such file", source=source, hint="run 'keel init DIR'")
    if path.stat().st_size > MAX_PROJECT_FILE_BYTES:
        raise ConfigError(f"{source}: larger than 1 MiB; is this a project file?", source=source)
    data = load_yaml(path.read_text(encoding="utf-8"), source=source)
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level", source=source)
    try:
        return ProjectFile.model_validate(data)
    except ValidationError as exc:
        raise _config_error(exc, source) from None


def _config_error(exc: ValidationError, source: str) -> ConfigError:
    problems = [_describe(error) for error in exc.errors()]
    path = problems[0][0]
    lines = "; ".join(f"{where}: {what}" for where, what in problems)
    return ConfigError(f"{source}: {lines}", source=source, path=path)


def _describe(error: Mapping[str, Any]) -> tuple[str, str]:
    path = ".".join(str(part) for part in error["loc"]) or "(top level)"
    message = str(error["msg"])
    if error["type"] == "extra_forbidden":
        return path, "unknown field"
    if error["type"] == "missing":
        return path, "required field is missing"
    got = error.get("input")
    return path, f"{message[0].lower()}{message[1:]} (got {got!r})"


def find_project_dir(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` holding a ``keel.yaml``."""
    for folder in (start, *start.parents):
        if (folder / PROJECT_FILE).is_file():
            return folder
    return None


@dataclass(frozen=True)
class Settings:
    """Every setting, with its precedence: argument > ``KEEL_*`` environment > keel.yaml > default.

    - ``project_dir``: the folder holding keel.yaml (``KEEL_PROJECT``).
    - ``database_url``: metadata database (``KEEL_DATABASE_URL``); default SQLite in ``.keel/``.
    - ``store_url``: artifact store, any fsspec URL (``KEEL_STORE_URL``); default ``.keel/store``.
    - ``api_key``: the key the CLI acts with (``KEEL_API_KEY``); never printed.
    """

    project_dir: Path
    database_url: str
    store_url: str
    api_key: str | None = None

    def __repr__(self) -> str:  # keep the key out of logs and tracebacks
        shown = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "api_key"}
        return f"Settings({shown}, api_key={'***' if self.api_key else None})"

    @property
    def project_file(self) -> Path:
        return self.project_dir / PROJECT_FILE

    @property
    def state_dir(self) -> Path:
        return self.project_dir / STATE_DIR

    @classmethod
    def resolve(
        cls,
        project_dir: Path,
        project: ProjectFile | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        **arguments: str | None,
    ) -> Settings:
        """Combine the sources in precedence order; ``arguments`` are explicit overrides."""
        env = os.environ if environ is None else environ
        storage = project.storage if project else StorageSpec()
        state = project_dir / STATE_DIR
        from_file = {"database_url": storage.database_url, "store_url": storage.store_url}

        def pick(key: str) -> str | None:
            return _first(arguments.get(key), env.get(f"KEEL_{key.upper()}"), from_file.get(key))

        store_url = pick("store_url") or str(state / "store")
        if "://" not in store_url and not Path(store_url).is_absolute():
            store_url = str(project_dir / store_url)  # relative to the project folder
        return cls(
            project_dir=project_dir,
            database_url=pick("database_url") or f"sqlite:///{state / 'keel.db'}",
            store_url=store_url,
            api_key=pick("api_key"),
        )


def _first(*candidates: str | None) -> str | None:
    return next((value for value in candidates if value), None)
