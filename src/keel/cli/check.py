"""``keel check``: validate keel.yaml and the contract file it names, without opening anything."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from keel.cli.context import project_dir
from keel.cli.errors import EXIT_CODES
from keel.cli.lazy import lazy
from keel.cli.output import console, print_json, safe, say
from keel.errors import InvalidInput

if TYPE_CHECKING:
    from keel.app import check as checks
    from keel.app.check import ProjectCheck
else:
    checks = lazy("keel.app.check")


JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def check(ctx: typer.Context, json: JsonFlag = False) -> None:
    """Check keel.yaml and its contract file: 'ok', or one line per problem (exit code 2)."""
    found = checks.check_project(project_dir(ctx))
    if json:
        print_json(found.to_dict())
    elif found.ok:
        console.print(_summary(found), soft_wrap=True)
    else:
        for problem in found.problems:
            say("[red]error:[/] {}", problem.line(), err=True)
    if not found.ok:
        raise typer.Exit(EXIT_CODES[InvalidInput])


def _summary(found: ProjectCheck) -> str:
    files = " and ".join(safe(f) for f in found.files)
    count = found.contract_columns
    columns = "no contract" if count is None else f"a contract of {count} columns"
    return f"ok: {files} (project {safe(found.project)}; {columns})"
