"""``keel audit``: read and verify the hash-chained trail."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated

import typer

from keel.cli.context import open_project
from keel.cli.lazy import lazy
from keel.cli.output import print_json, say, table

if TYPE_CHECKING:
    from keel.app import project as use
    from keel.app import remote as remote_plane
else:
    use = lazy("keel.app.project")
    remote_plane = lazy("keel.app.remote")


app = typer.Typer(help="Read and verify the audit trail.", no_args_is_help=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


@app.command("log")
def log(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, help="How many events, newest first.")] = 50,
    action: Annotated[str | None, typer.Option(help="Only this action, e.g. user.add.")] = None,
    subject: Annotated[str | None, typer.Option(help="Only this subject, e.g. user:ana.")] = None,
    json: JsonFlag = False,
) -> None:
    """Every action so far, newest first."""
    events = use.audit_log(open_project(ctx), limit=limit, action=action, subject=subject)
    if json:
        print_json([event.to_dict() for event in events])
        return
    rows = [
        (e.seq, e.at[:19].replace("T", " "), e.actor, e.action, e.subject, e.details_json)
        for e in events
    ]
    table(None, ["#", "time (UTC)", "actor", "action", "subject", "details"], rows)


@app.command("verify")
def verify(ctx: typer.Context, json: JsonFlag = False) -> None:
    """Check the hash chain; exit 1 naming the first edited, removed or reordered event."""
    if (remote := remote_plane.remote_from(os.environ)) is not None:
        report = remote_plane.verify_audit(remote)
    else:
        report = use.verify_audit(open_project(ctx))
    if json:
        print_json(report.to_dict())
    elif report.ok:
        say("[green]ok[/]: {} events, head {}…", report.events, report.head_hash[:12])
    else:
        say("[red]broken[/] at event {}: {}", report.first_bad_seq, report.reason)
    if not report.ok:
        raise typer.Exit(1)
