"""``keel db``: schema migrations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from keel.cli.context import open_project
from keel.cli.lazy import lazy
from keel.cli.output import print_json, say

if TYPE_CHECKING:
    from keel.app import project as use
else:
    use = lazy("keel.app.project")


app = typer.Typer(help="Create or migrate the metadata database.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_command(
    ctx: typer.Context,
    json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Migrate the database to this Keel's schema; safe to run again."""
    done = use.upgrade_database(open_project(ctx, check=False))
    if json:
        print_json(done.to_dict())
        return
    if done.before == done.after:
        say("{}", f"Database already at revision {done.after}: {done.database}")
    else:
        was = done.before or "empty"
        say("[green]Migrated[/] {}: {} → {}", done.database, was, done.after)
