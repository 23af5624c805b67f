"""``keel review sync|list|show|claim|resolve|release|stats``: parse, call the review plane
(``keel.app.review``), render."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from keel.cli.context import open_project
from keel.cli.data import JsonFlag
from keel.cli.lazy import lazy
from keel.cli.output import console, field_list, print_json, say, table
from keel.decisions.states import ItemState, Reason

if TYPE_CHECKING:
    from keel.app import review as use
    from keel.decisions.queue import SyncOutcome
    from keel.decisions.review import ReviewItem
    from keel.decisions.stats import Proportion
else:
    use = lazy("keel.app.review")


review_app = typer.Typer(
    help="The human review queue: cases routed to a person, and what they decided.",
    no_args_is_help=True,
)


@review_app.command("sync")
def sync(
    ctx: typer.Context,
    full: Annotated[
        bool, typer.Option("--full", help="Read the whole prediction log, not just the newest.")
    ] = False,
    every: Annotated[
        float | None,
        typer.Option(min=0.2, help="Keep syncing, every this many seconds (Ctrl-C stops)."),
    ] = None,
    json: JsonFlag = False,
) -> None:
    """Make review items from the predictions logged since the last sync (idempotent); report
    items past their deadline as the review incident."""
    keel = open_project(ctx)
    while True:
        synced = use.sync_review(keel, full=full).outcome
        _show_sync(synced, json)
        if every is None:
            return
        full = False
        time.sleep(every)


def _show_sync(synced: SyncOutcome, json: bool) -> None:
    if json:
        print_json(synced.to_dict())
        return
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(synced.by_reason.items())) or "none"
    late = f"; {synced.overdue} past their deadline → incident #{synced.incident}"
    console.print(
        f"{synced.created} new item(s) from {synced.scanned:,} predictions read"
        f" (candidates: {reasons}){late if synced.overdue else ''}"
    )


@review_app.command("list")
def list_items(
    ctx: typer.Context,
    state: Annotated[ItemState | None, typer.Option(help="Only items in this state.")] = None,
    reason: Annotated[Reason | None, typer.Option(help="Only items of this reason.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many items.")] = 50,
    json: JsonFlag = False,
) -> None:
    """Items, most urgent first (priority, then deadline)."""
    keel = open_project(ctx)
    found = use.list_items(keel, state=state, reason=reason, limit=limit)
    if json:
        print_json([item.to_dict() for item in found])
        return
    table(
        f"review queue of {keel.project.name}",
        ["item", "state", "reason", "priority", "score", "decision", "entity", "due", "holder"],
        [_row(item) for item in found],
    )


def _row(item: ReviewItem) -> tuple[Any, ...]:
    return (
        item.id,
        item.state.value,
        item.reason.value,
        f"{item.priority:.2f}",
        "" if item.score is None else f"{item.score:.3f}",
        item.decision or "",
        item.entity_id,
        f"{item.due_at:%Y-%m-%d %H:%M}",
        item.holder or "",
    )


@review_app.command("show")
def show(ctx: typer.Context, item: int, json: JsonFlag = False) -> None:
    """One item and the reviewers' decisions on it."""
    detail = use.show_item(open_project(ctx), item)
    if json:
        print_json(detail.to_dict())
        return
    field_list([(k, v) for k, v in detail.item.to_dict().items() if v is not None])
    for decision in detail.decisions:
        label = "" if decision.label is None else f" label {decision.label:g}"
        console.print(
            f"  {decision.at:%Y-%m-%d %H:%M:%S}  {escape(decision.reviewer)}:"
            f" {escape(decision.decision)}{label}  {escape(decision.note)}"
        )


@review_app.command("claim")
def claim(
    ctx: typer.Context,
    item: Annotated[int | None, typer.Argument(help="The item (default: the most urgent).")] = None,
    json: JsonFlag = False,
) -> None:
    """Claim an item for the lease decisions.review sets; it returns to the queue after."""
    claimed = use.claim_item(open_project(ctx), item)
    until = f"{claimed.lease_until:%Y-%m-%d %H:%M:%S}" if claimed.lease_until else ""
    _print(
        claimed, json, f"item {claimed.id} claimed by {escape(claimed.holder or '')} until {until}"
    )


@review_app.command("resolve")
def resolve(
    ctx: typer.Context,
    item: int,
    decision: Annotated[str, typer.Option(help="What you decided, e.g. approve or decline.")],
    label: Annotated[
        float | None, typer.Option(help="The outcome you know, as the target's number.")
    ] = None,
    note: Annotated[str, typer.Option(help="Why.")] = "",
    json: JsonFlag = False,
) -> None:
    """Resolve an item you hold; the resolution flows back as an outcome of its prediction."""
    settled = use.resolve_item(open_project(ctx), item, decision=decision, label=label, note=note)
    _print(settled, json, f"item {settled.id} {settled.state.value}")


@review_app.command("release")
def release(ctx: typer.Context, item: int, json: JsonFlag = False) -> None:
    """Hand an item you hold back to the queue."""
    released = use.release_item(open_project(ctx), item)
    _print(released, json, f"item {released.id} back in the queue")


@review_app.command("stats")
def stats(
    ctx: typer.Context,
    confidence: Annotated[
        float, typer.Option(min=0.5, max=0.999, help="Confidence of the intervals.")
    ] = 0.95,
    json: JsonFlag = False,
) -> None:
    """Queue counts, override rates, reviewer agreement, audited accuracy; with intervals."""
    found = use.review_stats(open_project(ctx), confidence=confidence).stats
    if json:
        print_json(found.to_dict())
        return
    shown = ", ".join(f"{k} {v}" for k, v in sorted(found.states.items())) or "empty"
    console.print(f"items: {shown} · overdue {found.overdue}")
    for reason, rate in found.overrides.items():
        console.print(f"override rate {reason}: {_proportion(rate)}")
    for column, rates in found.segment_overrides.items():
        for value, rate in rates.items():
            say("override rate where {} is {}: {}", column, value, _proportion(rate))
    kappa = found.agreement
    if kappa.value is not None:
        console.print(
            f"reviewer agreement (Cohen's kappa): {kappa.value:.2f}"
            f" [{kappa.low:.2f}, {kappa.high:.2f}] on {kappa.items} double-reviewed item(s)"
        )
    console.print(f"audited accuracy of automatic decisions: {_proportion(found.audit_accuracy)}")
    console.print(f"[dim]{found.note}[/]")


def _proportion(rate: Proportion) -> str:
    if rate.value is None or rate.low is None or rate.high is None:
        return "no items yet"
    return (
        f"{rate.value:.1%} [{rate.low:.1%}, {rate.high:.1%}] ({rate.hits}/{rate.n},"
        f" {rate.confidence:.0%} interval)"
    )


def _print(item: ReviewItem, json: bool, text: str) -> None:
    if json:
        print_json(item.to_dict())
    else:
        console.print(text)
