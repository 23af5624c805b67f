"""``keel gc``: list (and with --yes delete) blobs that no record references."""

from __future__ import annotations

from typing import Annotated

import typer

from keel.cli.context import open_project
from keel.cli.output import print_json, say, table


def gc(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", help="Delete what is listed (audited).")] = False,
    min_age_hours: Annotated[
        float,
        typer.Option(
            "--min-age-hours",
            min=0.0,
            help="Leave blobs younger than this alone: a running command may commit them.",
        ),
    ] = 1.0,
    json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """List the stored parts and artifacts no version, batch, run, model or log references
    (left by interrupted ingests or runs), with their sizes; a dry run unless --yes."""
    from datetime import timedelta  # noqa: PLC0415 - commands import what they use

    from keel.app.storage import collect_garbage  # noqa: PLC0415

    found = collect_garbage(open_project(ctx), delete=yes, min_age=timedelta(hours=min_age_hours))
    if json:
        print_json(found.to_dict() | {"size_bytes": found.size_bytes})
        return
    if found.garbage:
        rows = [(item.digest, f"{item.size_bytes:,}") for item in found.garbage]
        table("unreferenced blobs", ["sha256", "bytes"], rows)
    verb = "deleted" if yes else "would delete"
    say(
        "{} {} blobs, {} bytes ({} referenced kept, {} younger than {} h left alone)",
        verb,
        len(found.garbage),
        f"{found.size_bytes:,}",
        found.kept,
        found.young,
        f"{min_age_hours:g}",
    )
    if found.garbage and not yes:
        say("{}", "run 'keel gc --yes' to delete them")
