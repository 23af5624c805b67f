"""The monitoring plane: run the monitor over the prediction log, write its report, and list,
show, acknowledge and resolve the incidents it opens.

A run checks the served predictions logged since the previous run (their outcomes joined)
chunk by chunk against a reference rebuilt from the champion's frozen benchmark rows, so a
promotion moves the reference with it. ``MonitorService`` records the results and incidents and
calls the webhook ``keel.yaml`` names; this module assembles its inputs.

The statistics load only when a run needs them: listing incidents stays as quick as the CLI.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from keel.app.result import Result
from keel.app.use_case import use_case
from keel.data.contract import ColumnType
from keel.errors import ConfigError, Conflict
from keel.identity.actor import Actor
from keel.identity.roles import Role
from keel.monitoring.incidents import Incident, IncidentEvent, IncidentStatus
from keel.types import utcnow
from keel.wiring import Keel

if TYPE_CHECKING:
    from keel.decisions.kpi_limits import DecisionKpiCheck
    from keel.monitoring.monitor import Chunk, Reference
    from keel.monitoring.reference import Kind
    from keel.monitoring.service import MonitorService, RunOutcome
    from keel.monitoring.spec import MonitorSpec

CATEGORICAL = (ColumnType.CATEGORY, ColumnType.STRING, ColumnType.BOOL)


@use_case(Role.OPERATOR, action="running the monitor", writes=True)
def run_monitor(keel: Keel, actor: Actor, *, flush: bool = False) -> RunOutcome:
    """One monitor run over the predictions logged since the last one; ``flush`` also checks
    the last, incomplete chunk."""
    from keel.monitoring.monitor import ChunkChecker, split_chunks  # noqa: PLC0415

    spec = _spec(keel)
    service = _monitor_service(keel, spec)
    reference = _reference(keel)
    previous = service.watermark()
    now = utcnow()
    checker = ChunkChecker(spec, reference, extra=_decision_checks(keel))
    chunks = _chunks(keel, reference, previous, lambda frame, last, before: split_chunks(
        frame, spec.chunk, now=now, flush=flush and last, rows_before=before
    ))  # fmt: skip
    return service.run(chunks, checker, actor, previous=previous)


WINDOW_ROWS = 200_000
"""Predictions a monitor run reads at once: its memory stays bounded at any backlog."""


def _chunks(
    keel: Keel,
    reference: Reference,
    since: datetime | None,
    split: Callable[[pl.DataFrame, bool, int], list[Chunk]],
    window_rows: int = WINDOW_ROWS,
) -> Iterator[Chunk]:
    """The chunks of the predictions logged after ``since``, read window by window.

    The windows are cut on the time column alone (equal times never split) and the rows a
    window leaves after its last whole chunk are carried into the next, so the chunks are the
    ones a single read would make. ``split`` is told whether the window is the last (where a
    flush applies) and how many rows earlier chunks held (for the chunks' labels).
    """
    bounds = _window_bounds(keel, since, window_rows)
    carry: pl.DataFrame | None = None
    chunked = 0  # rows in the chunks made so far
    for i, (low, high) in enumerate(itertools.pairwise([*bounds, None])):
        frame = _logged(keel, reference, since, low=low, high=high)
        if carry is not None:
            frame = pl.concat([carry, frame], how="vertical_relaxed")
        frame = frame.sort("time", "prediction_id")  # the order split_chunks cuts in
        found = split(frame, i == len(bounds) - 1, chunked)
        yield from found
        done = sum(chunk.frame.height for chunk in found)
        chunked += done
        carry = frame.slice(done)
        del frame, found


def _window_bounds(keel: Keel, since: datetime | None, window_rows: int) -> list[datetime | None]:
    """The first time of each window (None alone when nothing is new: one empty window)."""
    predictions = keel.prediction_log()
    try:
        times = _served(predictions.scan(), since).select("time").collect().get_column("time")
    finally:
        predictions.close()
    starts = times.sort().gather_every(window_rows).unique(maintain_order=True).to_list()
    return starts or [None]


def _served(lazy: pl.LazyFrame, since: datetime | None) -> pl.LazyFrame:
    """Served (not shadow) predictions logged after ``since``."""
    lazy = lazy.filter(pl.col("route") != "shadow")
    if since is not None:  # a database may hand back another name for UTC
        lazy = lazy.filter(pl.col("time") > since.astimezone(UTC))
    return lazy


def _decision_checks(keel: Keel) -> list[DecisionKpiCheck]:
    """The decision KPIs of each chunk (and their limits), when the policy decides."""
    from keel.app.decisions import _overridden_decisions  # noqa: PLC0415
    from keel.decisions.kpi_limits import DecisionKpiCheck  # noqa: PLC0415

    policy, section = keel.decision_policy(), keel.project.decisions
    if not policy.decides:
        return []
    return [
        DecisionKpiCheck(
            costs=policy.costs,
            review_action=section.review.action,
            overridden=_overridden_decisions(keel),
            limits=section.kpi_limits,
        )
    ]


@dataclass(frozen=True)
class MonitorReport(Result):
    """The HTML report written by ``write_report`` and what it covers."""

    out: Path
    chunks: int
    incidents: int


@use_case(Role.VIEWER, action="reading monitor results")
def write_report(keel: Keel, actor: Actor, out: Path) -> MonitorReport:
    """A self-contained HTML file of every chunk and incident so far (the project is only read)."""
    from keel.reporting.monitor import render_history  # noqa: PLC0415

    service = _monitor_service(keel)
    chunks, incidents = service.chunks(), service.incidents()
    out.write_text(render_history(keel.project.name, chunks, incidents), encoding="utf-8")
    return MonitorReport(out=out, chunks=len(chunks), incidents=len(incidents))


@use_case(Role.VIEWER, action="listing incidents")
def list_incidents(
    keel: Keel, actor: Actor, status: IncidentStatus | None = None
) -> list[Incident]:
    """Incidents newest first, optionally only those in ``status``."""
    return _monitor_service(keel).incidents(status)


@dataclass(frozen=True)
class IncidentTimeline(Result):
    """One incident and its events: breaches, notifications, acks, resolution."""

    incident: Incident
    events: list[IncidentEvent]

    def to_dict(self) -> dict[str, Any]:
        return {**self.incident.to_dict(), "events": [e.to_dict() for e in self.events]}


@use_case(Role.VIEWER, action="reading an incident")
def show_incident(keel: Keel, actor: Actor, seq: int) -> IncidentTimeline:
    """Incident ``seq`` with its timeline."""
    incident, events = _monitor_service(keel).incident(seq)
    return IncidentTimeline(incident=incident, events=events)


@use_case(Role.OPERATOR, action="acknowledging an incident", writes=True)
def ack_incident(keel: Keel, actor: Actor, seq: int, note: str | None = None) -> Incident:
    """Acknowledge an open incident: someone is on it."""
    return _monitor_service(keel).ack(seq, actor, note)


@use_case(Role.OPERATOR, action="resolving an incident", writes=True)
def resolve_incident(keel: Keel, actor: Actor, seq: int, note: str) -> Incident:
    """Resolve an incident with a note; the next breach of its category opens a new one."""
    return _monitor_service(keel).resolve(seq, actor, note)


@dataclass(frozen=True)
class Notice(Result):
    """A notice sent on the monitor's webhook: where to (no credentials) and what came of it."""

    to: str
    delivered: bool
    attempts: int
    status: int | None
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "to": self.to,
            "delivered": self.delivered,
            "attempts": self.attempts,
            "status": self.status,
            "error": self.error,
        }


@use_case(Role.OPERATOR, action="sending a notice", writes=True)
def notify(keel: Keel, actor: Actor, *, subject: str, payload: dict[str, Any]) -> Notice:
    """POST ``payload`` to ``monitoring.notify.webhook`` (its timeout, retries and allowed
    networks), and audit the outcome under ``subject``. A refused or unreachable webhook is an
    undelivered notice, never an exception; only a project without a webhook is refused. The
    receiver's answer is read for its status alone: nothing it says is acted on."""
    from keel.store.webhook import Webhook, shown_url  # noqa: PLC0415

    spec = _spec(keel).notify
    if not spec.webhook:
        raise Conflict(
            "monitoring.notify.webhook is not set: there is nowhere to send a notice",
            hint="name a webhook in keel.yaml (monitoring.notify.webhook)",
        )
    try:
        webhook = Webhook(
            spec.webhook,
            timeout_seconds=spec.timeout_seconds,
            retries=spec.retries,
            allow_networks=tuple(spec.allow_networks),
        )
    except ConfigError as refused:  # a destination the webhook must not reach
        notice = Notice(shown_url(spec.webhook), False, 0, None, refused.message)
    else:
        delivery = webhook.send({"project": keel.project.name, **payload})
        notice = Notice(
            webhook.shown, delivery.delivered, delivery.attempts, delivery.status, delivery.error
        )
    with keel.unit() as unit:
        unit.audit.append(
            actor=actor.name,
            action="monitor.notify" if notice.delivered else "monitor.notify_failed",
            subject=subject,
            details=notice.to_dict(),
        )
    return notice


def _spec(keel: Keel) -> MonitorSpec:
    return keel.monitor_spec()


def _monitor_service(keel: Keel, spec: MonitorSpec | None = None) -> MonitorService:
    """The project's monitor, with the webhook of ``monitoring.notify`` if one is set."""
    from keel.monitoring.service import MonitorService  # noqa: PLC0415
    from keel.store.webhook import Webhook  # noqa: PLC0415

    notify = (spec or _spec(keel)).notify
    webhook = (
        Webhook(
            notify.webhook,
            timeout_seconds=notify.timeout_seconds,
            retries=notify.retries,
            allow_networks=tuple(notify.allow_networks),
        )
        if notify.webhook
        else None
    )
    return MonitorService(keel.project.name, keel.unit, keel.reader, utcnow, webhook)


def _reference(keel: Keel) -> Reference:
    """The champion's frozen benchmark rows (labelled ones) with its scores and the labels."""
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
    target = registry.target
    frame = keel.rows.read(frozen.digest).filter(pl.col(target.column).is_not_null())
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


def _kinds(keel: Keel, features: tuple[str, ...]) -> dict[str, Kind]:
    """Categorical or numeric, as the contract declares each feature."""
    specs = keel.data_schema().specs
    return {
        name: "categorical" if specs[name].type in CATEGORICAL else "numeric" for name in features
    }


def _typed(frame: pl.DataFrame, kinds: dict[str, Kind]) -> pl.DataFrame:
    """Categories as text and numbers as floats: the types the logged inputs decode to."""
    return frame.with_columns(
        pl.col(name).cast(pl.String) if kind == "categorical" else pl.col(name).cast(pl.Float64)
        for name, kind in kinds.items()
    )


def _logged(
    keel: Keel,
    reference: Reference,
    since: datetime | None,
    *,
    low: datetime | None = None,
    high: datetime | None = None,
) -> pl.DataFrame:
    """Served (not shadow) predictions after ``since`` (and in ``[low, high)``), inputs as
    columns, labels joined."""
    from keel.monitoring.monitor import SCORE  # noqa: PLC0415
    from keel.store.tables.outcome_log import join_outcomes  # noqa: PLC0415

    predictions, outcomes = keel.prediction_log(), keel.outcome_log()
    try:
        lazy = _served(predictions.scan(), since)
        if low is not None:
            lazy = lazy.filter(pl.col("time") >= low)
        if high is not None:
            lazy = lazy.filter(pl.col("time") < high)
        joined = join_outcomes(lazy, outcomes.scan()).collect()
    finally:
        predictions.close()
        outcomes.close()
    struct = pl.Struct(
        {n: pl.String if k == "categorical" else pl.Float64 for n, k in reference.kinds.items()}
    )
    decoded = joined.with_columns(pl.col("inputs").str.json_decode(struct).alias("_inputs"))
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
    inputs = decoded["_inputs"].struct.unnest()
    return pl.concat([inputs, rest], how="horizontal").filter(pl.col(SCORE).is_not_null())
