"""``keel monitor run|report`` and ``keel incidents list|show|ack|resolve``.

This module composes monitoring: it reads the prediction and outcome logs, builds the reference
from the serving model's frozen benchmark rows, and hands both to the monitoring service.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import polars as pl
import typer

from keel.cli.context import open_project
from keel.cli.data import JsonFlag
from keel.cli.output import console, field_list, print_json, table
from keel.data.contract import ColumnType
from keel.errors import Conflict
from keel.identity.roles import Role
from keel.monitoring.incidents import IncidentStatus
from keel.types import utcnow
from keel.wiring import Keel

if TYPE_CHECKING:
    from keel.monitoring.monitor import Reference
    from keel.monitoring.service import MonitorService, RunOutcome

monitor_app = typer.Typer(
    help="Watch the served model: drift, quality, performance, SLOs.", no_args_is_help=True
)
incidents_app = typer.Typer(help="Incidents the monitor opened.", no_args_is_help=True)


def monitor_service(keel: Keel) -> MonitorService:
    from keel.monitoring.monitor import parse_monitoring  # noqa: PLC0415
    from keel.monitoring.service import MonitorService  # noqa: PLC0415
    from keel.store.webhook import Webhook  # noqa: PLC0415

    spec = parse_monitoring(keel.project.monitoring.model_dump())
    notify = spec.notify
    webhook = (
        Webhook(notify.webhook, timeout_seconds=notify.timeout_seconds, retries=notify.retries)
        if notify.webhook
        else None
    )
    return MonitorService(keel.project.name, keel.unit, keel.reader, utcnow, webhook)


def reference(keel: Keel) -> Reference:
    """The champion's frozen benchmark rows with its scores and the labels."""
    from keel.monitoring.monitor import SCORE, Reference  # noqa: PLC0415

    registry = keel.registry()
    head, _ = registry.status()
    if head is None or head.state.champion is None:
        raise Conflict(
            "no champion is released: there is nothing to monitor",
            hint="promote a model first: keel release promote VERSION",
        )
    model = registry.model(head.state.champion)
    benchmark = registry.policy.benchmark or next(iter(model.benchmarks), None)
    with keel.reader() as unit:
        frozen = unit.benchmarks.get(keel.project.name, benchmark) if benchmark else None
    if frozen is None:
        raise Conflict(f"{model.label} has no frozen benchmark set to use as the reference")
    bundle = registry.bundle(model.version)
    frame = keel.rows.read(frozen.digest)
    target = registry.target
    frame = frame.filter(pl.col(target.column).is_not_null())
    features = tuple(name for name in bundle.signature if name in frame.columns)
    kinds = _kinds(keel, features)
    scored = _typed(frame.select(features), kinds).with_columns(
        pl.Series(SCORE, bundle.score(frame), dtype=pl.Float64)
    )
    return Reference(
        model=model.label,
        frame=scored,
        labels=target.labels(frame[target.column]),
        features=features,
        kinds=kinds,
        threshold=registry.metric_params.threshold,
    )


def _kinds(keel: Keel, features: tuple[str, ...]) -> dict[str, Any]:
    specs = keel.data_schema().specs
    return {
        name: "categorical"
        if specs[name].type in (ColumnType.CATEGORY, ColumnType.STRING, ColumnType.BOOL)
        else "numeric"
        for name in features
    }


def _typed(frame: pl.DataFrame, kinds: dict[str, Any]) -> pl.DataFrame:
    return frame.with_columns(
        pl.col(name).cast(pl.String) if kind == "categorical" else pl.col(name).cast(pl.Float64)
        for name, kind in kinds.items()
    )


def logged(keel: Keel, ref: Reference, since: datetime | None) -> pl.DataFrame:
    """Served (not shadow) predictions after ``since``, inputs as columns, labels joined."""
    from keel.monitoring.monitor import SCORE  # noqa: PLC0415
    from keel.store.tables.outcome_log import join_outcomes  # noqa: PLC0415

    predictions, outcomes = keel.prediction_log(), keel.outcome_log()
    try:
        lazy = predictions.scan().filter(pl.col("route") != "shadow")
        if since is not None:  # a database may hand back another name for UTC
            lazy = lazy.filter(pl.col("time") > since.astimezone(UTC))
        joined = join_outcomes(lazy, outcomes.scan()).collect()
    finally:
        predictions.close()
        outcomes.close()
    struct = pl.Struct(
        {n: pl.String if k == "categorical" else pl.Float64 for n, k in ref.kinds.items()}
    )
    decoded = joined.with_columns(pl.col("inputs").str.json_decode(struct).alias("_inputs"))
    inputs = decoded["_inputs"].struct.unnest()
    rest = decoded.select(
        "time",
        "prediction_id",
        "model",
        pl.col("score").alias(SCORE),
        "label",
        "latency_ms",
        "fallback",
        "ood",
        "decision",
    )
    return pl.concat([inputs, rest], how="horizontal").filter(pl.col(SCORE).is_not_null())


def run_monitor(keel: Keel, *, flush: bool = False) -> RunOutcome:
    """One monitor run over the predictions logged since the last one."""
    from keel.monitoring.monitor import ChunkChecker, parse_monitoring, split_chunks  # noqa: PLC0415

    service = monitor_service(keel)
    spec = parse_monitoring(keel.project.monitoring.model_dump())
    ref = reference(keel)
    previous = service.watermark()
    frame = logged(keel, ref, previous)
    chunks = split_chunks(frame, spec.chunk, now=utcnow(), flush=flush)
    checker = ChunkChecker(spec, ref)
    return service.run(chunks, checker, keel.actor(), previous=previous)


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
    keel.acting(Role.OPERATOR, action="running the monitor")
    with console.status("monitoring", spinner="dots"):
        outcome = run_monitor(keel, flush=flush)
    if json:
        print_json(outcome.to_dict())
        return
    show_run(outcome)


def show_run(outcome: RunOutcome) -> None:
    if not outcome.chunks:
        console.print("no complete chunk since the last run · --flush checks a partial one")
    for chunk in outcome.chunks:
        console.print(f"chunk {chunk.label}  rows {chunk.rows:,}")
        for line in chunk_lines(chunk.results):
            console.print("  " + line)
    for incident in outcome.opened:
        console.print(f"[red]incident #{incident.seq} opened[/]: {incident.title}")
    for incident in outcome.extended:
        console.print(f"incident #{incident.seq} extended: {incident.breaches} breaches so far")
    for sent in outcome.notified:
        verdict = "delivered" if sent["delivered"] else f"FAILED ({sent['error']})"
        console.print(f"webhook {sent['to']}: {verdict} after {sent['attempts']} attempt(s)")


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
    from keel.monitoring.history import render_history  # noqa: PLC0415

    keel = open_project(ctx)
    keel.acting(Role.VIEWER, action="reading monitor results")
    service = monitor_service(keel)
    chunks = service.chunks()
    incidents = service.incidents()
    out.write_text(render_history(keel.project.name, chunks, incidents), encoding="utf-8")
    if json:
        print_json({"out": str(out), "chunks": len(chunks), "incidents": len(incidents)})
    else:
        console.print(f"report of {len(chunks)} chunks and {len(incidents)} incidents → {out}")


@incidents_app.command("list")
def list_incidents(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help="open, acked or resolved.")] = None,
    json: JsonFlag = False,
) -> None:
    """Incidents, newest first."""
    keel = open_project(ctx)
    keel.acting(Role.VIEWER, action="listing incidents")
    wanted = IncidentStatus(status) if status else None
    found = monitor_service(keel).incidents(wanted)
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
        keel.project.name,
        ["incident", "status", "severity", "category", "breaches", "title", "opened"],
        rows,
    )


@incidents_app.command("show")
def show(ctx: typer.Context, incident: int, json: JsonFlag = False) -> None:
    """One incident and its timeline: breaches, notifications, acks, resolution."""
    keel = open_project(ctx)
    keel.acting(Role.VIEWER, action="reading an incident")
    found, events = monitor_service(keel).incident(incident)
    if json:
        print_json({**found.to_dict(), "events": [e.to_dict() for e in events]})
        return
    field_list([(k, v) for k, v in found.to_dict().items() if v is not None])
    for event in events:
        detail = (
            event.details.get("note")
            or ", ".join(b["message"] for b in event.details.get("breaches", [])[:5])
            or ("delivered" if event.details.get("delivered") else event.details.get("error", ""))
        )
        console.print(
            f"  {event.at:%Y-%m-%d %H:%M:%S}  {event.kind:<13} {event.actor:<14} {detail}"
        )


@incidents_app.command("ack")
def ack(
    ctx: typer.Context,
    incident: int,
    note: Annotated[str | None, typer.Option(help="What you are doing about it.")] = None,
    json: JsonFlag = False,
) -> None:
    """Acknowledge an open incident: someone is on it."""
    keel = open_project(ctx)
    found = monitor_service(keel).ack(incident, keel.actor(), note)
    _print(found.to_dict(), json, f"incident #{found.seq} acknowledged")


@incidents_app.command("resolve")
def resolve(
    ctx: typer.Context,
    incident: int,
    note: Annotated[str, typer.Option(help="What was done (required).")],
    json: JsonFlag = False,
) -> None:
    """Resolve an incident with a note; the next breach opens a new one."""
    keel = open_project(ctx)
    found = monitor_service(keel).resolve(incident, keel.actor(), note)
    _print(found.to_dict(), json, f"incident #{found.seq} resolved")


def _print(body: dict[str, Any], json: bool, text: str) -> None:
    if json:
        print_json(body)
    else:
        console.print(text)
