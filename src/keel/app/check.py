"""Checking a project's files without opening it: ``keel.yaml`` and the contract file it names.

Opening a project runs the same check (``keel.config.read_project``) and refuses the project on
the first failure with every problem on one line; this operation reports instead, one problem
a line, so that a file can be fixed in one pass before anything reads it (in CI, for example).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from keel.app.result import Result
from keel.app.use_case import offline
from keel.config import PROJECT_FILE, read_project
from keel.schema import Problem, SchemaError

SECTIONS = frozenset(
    {"contract", "features", "model", "benchmark", "release", "decisions", "monitoring"}
)


@dataclass(frozen=True)
class ProjectCheck(Result):
    """What ``keel check`` found: the files read, and every problem in them (none when ok)."""

    ok: bool
    files: tuple[str, ...]
    project: str | None = None
    declared: tuple[str, ...] = ()
    contract_columns: int | None = None
    problems: tuple[Problem, ...] = ()


@offline(action="checking the project file")
def check_project(folder: Path) -> ProjectCheck:
    """Validate ``folder/keel.yaml`` and the contract file it names, every problem at once.

    A file that is missing or is not YAML raises ``ConfigError``: there is nothing to list.
    """
    path = folder / PROJECT_FILE
    try:
        found = read_project(path)
    except SchemaError as error:
        files = tuple(dict.fromkeys([str(path), *(p.source or str(path) for p in error.problems)]))
        return ProjectCheck(ok=False, files=files, problems=error.problems)
    project = found.project
    return ProjectCheck(
        ok=True,
        files=tuple(str(f) for f in found.files),
        project=project.name,
        declared=tuple(sorted(project.model_fields_set & SECTIONS)),
        contract_columns=None if project.contract is None else len(project.contract.columns),
    )
