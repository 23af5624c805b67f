"""``keel init`` and ``keel status``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from keel.app.scaffold import EXAMPLES
from keel.cli.context import open_project
from keel.cli.lazy import lazy
from keel.cli.output import field_list, markup, print_json, say

if TYPE_CHECKING:
    from keel.app import project as use
else:
    use = lazy("keel.app.project")


JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def init(
    directory: Annotated[Path, typer.Argument(help="Folder to create the project in.")],
    example: Annotated[
        str, typer.Option(help=f"Example to start from: {', '.join(EXAMPLES)}.")
    ] = "loan",
    json: JsonFlag = False,
) -> None:
    """Create a project from an example, with its database migrated and ready."""
    created = use.init(directory, example)
    if json:
        print_json(created.to_dict())
        return
    say("[green]Created[/] project [bold]{}[/] in {}", created.project, directory)
    say("Next: cd {} && keel status", directory)
    if example == "loan":
        say("{}", "Then: keel ingest data/sample.csv && keel data versions")


def status(ctx: typer.Context, json: JsonFlag = False) -> None:
    """Show the project, its store, its database and the audit head."""
    from keel.app import remote as remote_plane  # noqa: PLC0415

    if (remote := remote_plane.remote_from(os.environ)) is not None:
        found = remote_plane.status(remote)
    else:
        found = use.status(open_project(ctx, check=False))
    if json:
        print_json(found.to_dict())
        return
    _print_status(found)


def _print_status(found: use.Status) -> None:
    schema = found.schema
    schema_text = (
        markup("[green]{} (current)[/]", schema.current)
        if schema.ok
        else markup(
            "[red]{}, expected {}[/] · run 'keel db upgrade'",
            schema.current or "none",
            schema.expected,
        )
    )
    pairs = [
        ("project", found.project),
        ("directory", found.directory),
        ("keel", found.keel_version),
        ("database", found.database),
        ("schema", schema_text),
        ("store", found.store),
    ]
    if found.audit is not None and found.actor is not None:
        pairs.append(("audit", f"{found.audit.events} events · head {found.audit.head[:12]}…"))
        actor = found.actor
        acting = f"{actor.name} ({actor.role})" if actor.name else str(actor.problem)
        pairs.append(("acting as", acting))
    field_list(pairs)
