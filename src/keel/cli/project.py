"""``keel init`` and ``keel status``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from keel import __version__
from keel.cli.context import open_project
from keel.cli.output import console, field_list, print_json
from keel.cli.scaffold import EXAMPLES, scaffold
from keel.config import Settings, load_project
from keel.errors import PermissionDenied
from keel.simulate import write_simulation
from keel.store.sql.schema import check_schema, current_revision, head_revision, upgrade
from keel.wiring import open_keel

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def init(
    directory: Annotated[Path, typer.Argument(help="Folder to create the project in.")],
    example: Annotated[
        str, typer.Option(help=f"Example to start from: {', '.join(EXAMPLES)}.")
    ] = "loan",
    json: JsonFlag = False,
) -> None:
    """Create a project from an example, with its database migrated and ready."""
    project_file = scaffold(directory, example)
    if example == "loan":
        write_simulation(
            directory / "data" / "sample.csv",
            rows=5_000,
            seed=1,
            start=datetime(2024, 1, 1),
            end=datetime(2024, 2, 1),
        )
    project = load_project(project_file)
    settings = Settings.resolve(directory.resolve(), project)
    keel = open_keel(settings, project=project, check=False)
    try:
        upgrade(keel.db)
        actor = keel.actor()
        with keel.unit() as unit:
            unit.audit.append(
                actor=actor.name,
                action="project.init",
                subject=f"project:{project.name}",
                details={"example": example, "keel_version": __version__},
            )
    finally:
        keel.close()
    if json:
        print_json({"project": project.name, "directory": str(directory), "example": example})
        return
    console.print(f"[green]Created[/] project [bold]{project.name}[/] in {directory}")
    console.print(f"Next: cd {directory} && keel status")
    if example == "loan":
        console.print("Then: keel ingest data/sample.csv && keel data versions")


def status(ctx: typer.Context, json: JsonFlag = False) -> None:
    """Show the project, its store, its database and the audit head."""
    keel = open_project(ctx, check=False)
    revision, expected = current_revision(keel.db), head_revision()
    info: dict[str, Any] = {
        "project": keel.project.name,
        "directory": str(keel.settings.project_dir),
        "keel_version": __version__,
        "database": keel.db.display_url,
        "schema": {"current": revision, "expected": expected, "ok": revision == expected},
        "store": keel.blobs.url,
    }
    if revision == expected:
        check_schema(keel.db)
        with keel.reader() as unit:
            head = unit.audit.head()
        info["audit"] = {"events": head.seq, "head": head.hash}
        try:
            info["actor"] = keel.actor().to_dict()
        except PermissionDenied as denied:
            info["actor"] = {"name": None, "problem": denied.message}
    if json:
        print_json(info)
        return
    _print_status(info)


def _print_status(info: dict[str, Any]) -> None:
    schema = info["schema"]
    schema_text = (
        f"[green]{schema['current']} (current)[/]"
        if schema["ok"]
        else f"[red]{schema['current'] or 'none'}, expected {schema['expected']}[/]"
        " · run 'keel db upgrade'"
    )
    pairs = [
        ("project", info["project"]),
        ("directory", info["directory"]),
        ("keel", info["keel_version"]),
        ("database", info["database"]),
        ("schema", schema_text),
        ("store", info["store"]),
    ]
    if "audit" in info:
        audit = info["audit"]
        pairs.append(("audit", f"{audit['events']} events · head {audit['head'][:12]}…"))
        actor = info["actor"]
        acting = f"{actor['name']} ({actor['role']})" if actor["name"] else actor["problem"]
        pairs.append(("acting as", acting))
    field_list(pairs)
