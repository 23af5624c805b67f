"""``keel users``: people and services that act on the project."""

from __future__ import annotations

from typing import Annotated

import typer

from keel.cli.context import open_project
from keel.cli.output import console, print_json, table
from keel.identity.roles import Role
from keel.identity.service import add_user, revoke_user

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
    keel = open_project(ctx)
    actor = keel.actor()
    with keel.unit() as unit:
        user, key = add_user(unit, actor, name, Role.parse(role))
    if json:
        print_json({"name": user.name, "role": user.role.value, "api_key": key})
        return
    console.print(f"[green]Added[/] {user.name} ({user.role.value}). API key, shown only now:")
    console.print(key, markup=False)


@app.command("list")
def list_users(ctx: typer.Context, json: JsonFlag = False) -> None:
    """Every user with role and status."""
    keel = open_project(ctx)
    keel.acting(Role.VIEWER, action="listing users")
    with keel.reader() as unit:
        users = unit.users.all()
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
    keel = open_project(ctx)
    actor = keel.actor()
    with keel.unit() as unit:
        user = revoke_user(unit, actor, name)
    if json:
        print_json(user.to_dict())
        return
    console.print(f"[yellow]Revoked[/] {user.name}")
