"""The project file (``keel.yaml``) and the settings object; read at the edges only.

Domain packages never import this module: the CLI, the API and ``wiring`` read settings once and
pass plain values inward. Each section of ``keel.yaml`` is typed by the package that uses it
(``monitoring:`` by ``keel.monitoring.spec``, ``release:`` by ``keel.registry.policy``, ...) and
the whole file, with the contract file it may name, is checked when a project opens: every
problem is reported at once, so a typo in ``monitoring:`` fails at ``keel status``, not at the
first ``keel monitor run`` a week later.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from keel.automation.policy import AutomationSpec
from keel.data.contract import NUMERIC_TYPES, ColumnSpec, ColumnType, Contract
from keel.decisions.policy import DecisionsSpec
from keel.errors import ConfigError
from keel.features.spec import FeatureSpec
from keel.monitoring.spec import MonitorSpec
from keel.registry.policy import ReleasePolicy
from keel.schema import Invalid, Problem, SchemaError, Strict, problems_of
from keel.training.spec import BenchmarkSpec, ModelSpec
from keel.types import NAME_PATTERN

PROJECT_FILE = "keel.yaml"
STATE_DIR = ".keel"
MAX_PROJECT_FILE_BYTES = 1 << 20


class TargetSpec(Strict):
    """What the model predicts."""

    column: str
    """The label column of the data."""
    kind: Literal["binary", "regression"] = "binary"
    """``binary``: a probability of the positive class; ``regression``: a number."""
    positive: int | str | bool = 1
    """The label value that counts as the positive class (binary targets)."""


class StorageSpec(Strict):
    """Where this project keeps its metadata and artifacts; the environment overrides both."""

    database_url: str | None = None
    """SQLAlchemy URL of the metadata database (default: SQLite under ``.keel/``);
    ``KEEL_DATABASE_URL`` overrides it."""
    store_url: str | None = None
    """Where artifacts and data parts are kept: a folder or an object-store URL (default:
    ``.keel/store``); ``KEEL_STORE_URL`` overrides it."""


class ContractFile(Strict):
    """``contract: {file: contract.yaml}``: the contract lives in a file inside the project."""

    file: str


class ProjectFile(Strict):
    """Everything ``keel.yaml`` declares; each section is optional until its feature is used."""

    name: str = Field(pattern=NAME_PATTERN.pattern)
    """The project's name; it also names its models (``NAME/v3``)."""
    description: str = ""
    """A sentence on what the project is for, for the people who read keel.yaml."""
    entity: str
    """The column that identifies a record (an application, a customer); outcomes join on it."""
    timestamp: str | None = None
    """The event-time column (a datetime column of the contract), for time splits and windows."""
    target: TargetSpec
    limitations: list[str] = Field(default_factory=list)
    """Known limitations of the model, printed on its card."""
    storage: StorageSpec = Field(default_factory=StorageSpec)
    contract: Contract | None = None
    """Inline, or read from the file ``contract: {file: ...}`` names (see ``read_project``)."""
    features: FeatureSpec = Field(default_factory=FeatureSpec)
    model: ModelSpec = Field(default_factory=ModelSpec)
    benchmark: BenchmarkSpec = Field(default_factory=BenchmarkSpec)
    release: ReleasePolicy = Field(default_factory=ReleasePolicy)
    decisions: DecisionsSpec = Field(default_factory=DecisionsSpec)
    monitoring: MonitorSpec = Field(default_factory=MonitorSpec)
    automation: AutomationSpec = Field(default_factory=AutomationSpec)

    @field_validator("contract", mode="before")
    @classmethod
    def _empty_is_undeclared(cls, value: object) -> object:
        return None if value == {} else value

    @model_validator(mode="after")
    def _timestamp_is_a_datetime(self) -> ProjectFile:
        """The event-time column, when the contract declares it, must be a datetime column."""
        declared = self.contract.columns.get(self.timestamp or "") if self.contract else None
        if declared is not None and declared.type is not ColumnType.DATETIME:
            raise Invalid(
                f"timestamp column '{self.timestamp}' is declared as {declared.type.value};"
                " declare it as {type: datetime} (with coerce: true for text timestamps)",
                at="timestamp",
            )
        return self

    @model_validator(mode="after")
    def _target_is_a_contract_column(self) -> ProjectFile:
        """With a contract, the target must be one of its columns: otherwise batches without it
        are accepted (labels may come later) and only ``keel train`` finds it missing."""
        if self.contract is None or not self.contract.columns:
            return self
        column = self.target.column
        if column not in self.contract.columns:
            close = difflib.get_close_matches(column, list(self.contract.columns), n=1)
            fix = f"did you mean '{close[0]}'? Or declare" if close else "declare"
            raise Invalid(
                f"target column '{column}' is not a column of the contract; {fix} it in"
                " contract.columns (nullable: true if labels arrive later)",
                at="target.column",
            )
        return self

    @model_validator(mode="after")
    def _agent_keeps_the_approvals(self) -> ProjectFile:
        """The agent may not promote alone while the release policy asks for approvers."""
        try:
            self.automation.check_against_release(self.release.approvals)
        except Invalid as exc:
            raise Invalid(exc.message, at=f"automation.{exc.at}") from None
        return self

    @model_validator(mode="after")
    def _override_segments_exist(self) -> ProjectFile:
        """An override-rate trigger ``by_segment`` needs segments: the decision policy's
        segment column, else the benchmark's slices (those of ``keel review stats``)."""
        has_segments = self.decisions.segments is not None or bool(self.benchmark.slices)
        for index, trigger in enumerate(self.automation.triggers):
            if getattr(trigger, "by_segment", False) and not has_segments:
                raise Invalid(
                    "by_segment needs segments to test: declare decisions.segments.column (or"
                    " benchmark.slices), or drop by_segment to test the whole champion",
                    at=f"automation.triggers.{index}.by_segment",
                )
        return self

    @model_validator(mode="after")
    def _decisions_read_declared_columns(self) -> ProjectFile:
        """The columns ``decisions:`` reads are the contract's (``check_decision_columns``)."""
        if self.contract is not None:
            check_decision_columns(self.decisions, self.contract.columns)
        return self


def check_decision_columns(decisions: DecisionsSpec, columns: Mapping[str, ColumnSpec]) -> None:
    """Refuse a decisions section reading a column the contract lacks: the amount column of
    ``decisions.costs`` must be a required numeric column (every record needs an amount to be
    decided), and per-segment rules are picked by a column every request carries."""
    costs = decisions.costs
    if costs is not None and costs.amount is not None:
        declared = columns.get(costs.amount)
        if declared is None or declared.type not in NUMERIC_TYPES or declared.nullable:
            found = "not in the contract" if declared is None else f"{declared.type.value}"
            found += ", nullable" if declared is not None and declared.nullable else ""
            raise Invalid(
                f"the amount column '{costs.amount}' must be a numeric, non-nullable column of"
                f" the contract ({found}); every record needs an amount to be decided",
                at="decisions.costs.amount",
            )
    segments = decisions.segments
    if segments is not None and segments.column not in columns:
        declared_names = ", ".join(sorted(columns))
        raise Invalid(
            f"the segment column '{segments.column}' is not in the contract (it declares"
            f" {declared_names}); overrides are chosen by a contract column's value",
            at="decisions.segments.column",
        )


@dataclass(frozen=True)
class ProjectSource:
    """A validated project file and every file read for it (keel.yaml, then its contract)."""

    project: ProjectFile
    files: tuple[Path, ...]


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


def load_contract(project: ProjectFile, project_dir: Path) -> Contract:
    """The contract ``keel.yaml`` declares (inline, or in the file ``contract.file`` names, read
    and checked when the project was loaded); refused when the project declares none."""
    if project.contract is None:
        source = str(project_dir / PROJECT_FILE)
        raise ConfigError(
            f"{source}: the contract section is empty",
            source=source,
            path="contract",
            hint="declare its columns, or run 'keel contract infer FILE' for a starting point",
        )
    return project.contract


def load_project(path: Path) -> ProjectFile:
    """Read and validate a project file; every problem names the file and the field path."""
    return read_project(path).project


def read_project(path: Path) -> ProjectSource:
    """Read and validate ``keel.yaml`` and the contract file it names, all problems at once."""
    source = str(path)
    data = _read_mapping(path, hint="run 'keel init DIR'")
    problems: list[Problem] = []
    files = [path]
    reference = data.get("contract")
    if isinstance(reference, Mapping) and "file" in reference:
        contract, found, read = _contract_from_file(reference, path.parent, source)
        data = {**data, "contract": contract}
        problems += found
        files += read
    try:
        project = ProjectFile.model_validate(data)
    except ValidationError as exc:
        problems = problems_of(exc, ProjectFile, source=source) + problems
    if problems:
        raise SchemaError(problems)
    return ProjectSource(project, tuple(files))


def _read_mapping(path: Path, *, hint: str | None = None) -> dict[str, Any]:
    source = str(path)
    if not path.is_file():
        raise ConfigError(f"{source}: no such file", source=source, hint=hint)
    if path.stat().st_size > MAX_PROJECT_FILE_BYTES:
        raise ConfigError(f"{source}: larger than 1 MiB; is this a project file?", source=source)
    data = load_yaml(path.read_text(encoding="utf-8"), source=source)
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level", source=source)
    return data


def _contract_from_file(
    reference: Mapping[str, Any], folder: Path, source: str
) -> tuple[Contract | None, list[Problem], list[Path]]:
    """The contract ``contract: {file: ...}`` names, or the problems of the reference or file."""
    try:
        named = ContractFile.model_validate(dict(reference))
    except ValidationError as exc:
        return None, problems_of(exc, ContractFile, section="contract", source=source), []
    path = (folder / named.file).resolve()
    if not path.is_relative_to(folder.resolve()) or not path.is_file():
        wrong = f"{named.file!r} is not a file inside the project folder"
        return None, [Problem("contract.file", wrong, None, source)], []
    raw = _read_mapping(path)
    raw = raw.get("contract", raw)
    try:
        return Contract.model_validate(raw), [], [path]
    except ValidationError as exc:
        return None, problems_of(exc, Contract, section="contract", source=str(path)), [path]


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
    - ``break_glass``: a reason to act as the local admin without a key on a project that has
      users (``KEEL_BREAK_GLASS``); every use is audited. Never set it on a server.
    """

    project_dir: Path
    database_url: str
    store_url: str
    api_key: str | None = None
    break_glass: str | None = None

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
            break_glass=pick("break_glass"),
        )


def _first(*candidates: str | None) -> str | None:
    return next((value for value in candidates if value), None)
