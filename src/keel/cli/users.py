"""``keel users``: people and services that act on the project."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from keel.cli.context import open_project
from keel.cli.lazy import lazy
from keel.cli.output import print_json, say, table
from keel.identity.roles import Role

if TYPE_CHECKING:
    from keel.app import project as use
else:
    use = lazy("keel.app.project")


app = typer.Typer(help="Add, list and revoke users and their API keys.", no_args_is_help=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
ROLES = ", ".join(role.value for role in Role)


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="User name: a-z, 0-9, '_', '.', '-'.")],
    role: Annotated[str, typer.Option(help=f"One of: {ROLES}.")],
    json: JsonFlag = False,
) -> None:
    """Create a user and print its API key, once; only its hash is stored."""
    user = use.add_user_with_key(open_project(ctx), name, Role.parse(role))
    if json:
        print_json(user.to_dict())
        return
    say("[green]Added[/] {} ({}). API key, shown only now:", user.name, user.role.value)
    say("{}", user.api_key)


@app.command("list")
def list_users(ctx: typer.Context, json: JsonFlag = False) -> None:
    """Every user with role and status."""
    users = use.list_users(open_project(ctx))
    if json:
        print_json([user.to_dict() for user in users])
        return
    rows = [
        (
            u.name,
            u.role.value,
            "active" if u.active else "revoked",
            f"{u.created_at:%Y-%m-%d %H:%M}",
        )
        for u in users
    ]
    table(None, ["name", "role", "status", "created"], rows)


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="User whose key stops working.")],
    json: JsonFlag = False,
) -> None:
    """Revoke a user's key; the name stays reserved."""
    user = use.revoke(open_project(ctx), name)
    if json:
        print_json(user.to_dict())
        return
    say("[yellow]Revoked[/] {}", user.name)
