"""``keel db``: schema migrations."""

from __future__ import annotations

from typing import Annotated

import typer

from keel.cli.context import open_project
from keel.cli.output import console, print_json
from keel.identity.roles import Role
from keel.store.sql.schema import current_revision, upgrade

app = typer.Typer(help="Create or migrate the metadata database.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_command(
    ctx: typer.Context,
    json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Migrate the database to this Keel's schema; safe to run again."""
    keel = open_project(ctx, check=False)
    if current_revision(keel.db) is not None:  # an empty database has no users to ask yet
        keel.acting(Role.ADMIN, action="migrating the database")
    before, after = upgrade(keel.db)
    actor = keel.actor()
    if before != after:
        with keel.unit() as unit:
            unit.audit.append(
                actor=actor.name,
                action="db.upgrade",
                subject="database",
                details={"from": before, "to": after},
            )
    if json:
        print_json({"database": keel.db.display_url, "from": before, "to": after})
        return
    if before == after:
        console.print(f"Database already at revision {after}: {keel.db.display_url}")
    else:
        console.print(f"[green]Migrated[/] {keel.db.display_url}: {before or 'empty'} → {after}")
