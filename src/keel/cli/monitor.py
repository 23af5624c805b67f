"""``keel monitor run|report`` and ``keel incidents list|show|ack|resolve``: parse, call the
monitoring plane (``keel.app.monitoring``), render."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from keel.cli.context import open_project
from keel.cli.data import JsonFlag
from keel.cli.lazy import lazy
from keel.cli.monitor_file import monitor_file
from keel.cli.output import console, field_list, print_json, say, table
from keel.monitoring.incidents import IncidentStatus

if TYPE_CHECKING:
    from keel.app import monitoring as use
    from keel.app import remote as remote_plane
else:
    use = lazy("keel.app.monitoring")
    remote_plane = lazy("keel.app.remote")


if TYPE_CHECKING:
    from keel.monitoring.service import RunOutcome

monitor_app = typer.Typer(
    help="Watch the served model: drift, quality, performance, SLOs.", no_args_is_help=True
)
incidents_app = typer.Typer(help="Incidents the monitor opened.", no_args_is_help=True)
monitor_app.command("file")(monitor_file)


@monitor_app.command("run")
def run(
    ctx: typer.Context,
    flush: Annotated[
        bool, typer.Option("--flush", help="Also check the last, incomplete chunk.")
    ] = False,
    json: JsonFlag = False,
) -> None:
    """Check the predictions logged since the last run, chunk by chunk; open incidents."""
    keel = open_project(ctx)
    with console.status("monitoring", spinner="dots"):
        outcome = use.run_monitor(keel, flush=flush)
    if json:
        print_json(outcome.to_dict())
        return
    show_run(outcome)


def show_run(outcome: RunOutcome) -> None:
    if not outcome.chunks:
        console.print("no complete chunk since the last run · --flush checks a partial one")
    for chunk in outcome.chunks:
        say("chunk {}  rows {:,}", chunk.label, chunk.rows)
        for line in chunk_lines(chunk.results):
            say("  {}", line)
    for incident in outcome.opened:
        say("[red]incident #{} opened[/]: {}", incident.seq, incident.title)
    for incident in outcome.extended:
        say("incident #{} extended: {} breaches so far", incident.seq, incident.breaches)
    for sent in outcome.notified:
        verdict = "delivered" if sent["delivered"] else f"FAILED ({sent['error']})"
        say("webhook {}: {} after {} attempt(s)", sent["to"], verdict, sent["attempts"])


def chunk_lines(results: dict[str, Any]) -> list[str]:
    """The few lines a person reads per chunk: alerts first, then the performance numbers."""
    lines = []
    drift = results.get("drift", {})
    drifted = drift.get("drifted_columns", [])
    for name in drifted:
        stats = drift["columns"][name]["statistics"]
        shown = " · ".join(
            f"{s} {v['value']:.3g} ({v['threshold']:.3g})" for s, v in stats.items() if v["drifted"]
        )
        lines.append(f"drift   {name}  {shown}  ALERT")
    if not drifted:
        lines.append(f"drift   {len(drift.get('columns', {}))} columns ok")
    for method, found in results.get("multivariate", {}).items():
        verdict = "ALERT" if found["drifted"] else "ok"
        lines.append(
            f"multivariate {method} {found['value']:.3g} ({found['threshold']:.3g}) {verdict}"
        )
    for name, codes in results.get("quality", {}).get("alerts", {}).items():
        lines.append(f"quality {name} {', '.join(codes)}  ALERT")
    for name, metric in results.get("estimated", {}).get("metrics", {}).items():
        verdict = "ALERT" if metric["alert"] else "ok"
        lines.append(
            f"performance estimated {name} {metric['value']:.3f} [{metric['low']:.3f},"
            f" {metric['high']:.3f}] (reference {metric['reference']:.3f}) {verdict}"
        )
    realized = results.get("realized", {})
    for name, metric in realized.get("metrics", {}).items():
        lines.append(
            f"realized {name} {metric['value']:.3f} on {realized['labelled']:,} labelled rows"
        )
    slo = results.get("slo", {})
    if slo.get("p99_ms") is not None:
        lines.append(
            f"slo     p99 {slo['p99_ms']:.1f} ms · fallback {slo['fallback_rate']:.1%}"
            f" · ood {slo['ood_rate']:.1%} · defer {slo['defer_rate']:.1%}"
        )
    return lines


@monitor_app.command("report")
def report(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="HTML file to write.")] = Path("monitor-report.html"),
    json: JsonFlag = False,
) -> None:
    """A self-contained HTML report: drifted features, statistics and performance over time."""
    written = use.write_report(open_project(ctx), out)
    if json:
        print_json(written.to_dict())
    else:
        say("report of {} chunks and {} incidents → {}", written.chunks, written.incidents, out)


@incidents_app.command("list")
def list_incidents(
    ctx: typer.Context,
    status: Annotated[
        IncidentStatus | None, typer.Option(help="Only incidents in this state.")
    ] = None,
    json: JsonFlag = False,
) -> None:
    """Incidents, newest first."""
    if (remote := remote_plane.remote_from(os.environ)) is not None:
        listed = remote_plane.list_incidents(remote, status)
        project, found = listed.project, listed.incidents
    else:
        keel = open_project(ctx)
        project, found = keel.project.name, use.list_incidents(keel, status)
    if json:
        print_json([i.to_dict() for i in found])
        return
    rows = [
        (
            f"#{i.seq}",
            i.status.value,
            i.severity.value,
            i.category,
            i.breaches,
            i.title,
            f"{i.opened_at:%Y-%m-%d %H:%M}",
        )
        for i in found
    ]
    table(
        project,
        ["incident", "status", "severity", "category", "breaches", "title", "opened"],
        rows,
    )


@incidents_app.command("show")
def show(ctx: typer.Context, incident: int, json: JsonFlag = False) -> None:
    """One incident and its timeline: breaches, notifications, acks, resolution."""
    timeline = use.show_incident(open_project(ctx), incident)
    if json:
        print_json(timeline.to_dict())
        return
    field_list([(k, v) for k, v in timeline.incident.to_dict().items() if v is not None])
    for event in timeline.events:
        detail = (
            event.details.get("note")
            or ", ".join(b["message"] for b in event.details.get("breaches", [])[:5])
            or ("delivered" if event.details.get("delivered") else event.details.get("error", ""))
        )
        say("  {:%Y-%m-%d %H:%M:%S}  {:<13} {:<14} {}", event.at, event.kind, event.actor, detail)


@incidents_app.command("ack")
def ack(
    ctx: typer.Context,
    incident: int,
    note: Annotated[str | None, typer.Option(help="What you are doing about it.")] = None,
    json: JsonFlag = False,
) -> None:
    """Acknowledge an open incident: someone is on it."""
    if (remote := remote_plane.remote_from(os.environ)) is not None:
        found = remote_plane.ack_incident(remote, incident, note)
    else:
        found = use.ack_incident(open_project(ctx), incident, note)
    _print(found.to_dict(), json, f"incident #{found.seq} acknowledged")


@incidents_app.command("resolve")
def resolve(
    ctx: typer.Context,
    incident: int,
    note: Annotated[str, typer.Option(help="What was done (required).")],
    json: JsonFlag = False,
) -> None:
    """Resolve an incident with a note; the next breach opens a new one."""
    if (remote := remote_plane.remote_from(os.environ)) is not None:
        found = remote_plane.resolve_incident(remote, incident, note)
    else:
        found = use.resolve_incident(open_project(ctx), incident, note)
    _print(found.to_dict(), json, f"incident #{found.seq} resolved")


def _print(body: dict[str, Any], json: bool, text: str) -> None:
    if json:
        print_json(body)
    else:
        say("{}", text)
