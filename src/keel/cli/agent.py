"""``keel agent tick|run|plan|status|history|explain|pause|resume|approve``: parse, call the
automation plane (``keel.app.agent``), render. Every text from the journal is escaped."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from keel.cli.context import open_project
from keel.cli.data import JsonFlag
from keel.cli.lazy import lazy
from keel.cli.output import console, field_list, print_json, table
from keel.errors import InvalidInput

if TYPE_CHECKING:
    from keel.app import agent as use
else:
    use = lazy("keel.app.agent")


app = typer.Typer(
    help="The agent: retrain, canary, roll back, pause, review, notify, as keel.yaml allows.",
    no_args_is_help=True,
)

ActionRef = Annotated[str, typer.Argument(help="The action: act-0003, or 3.")]


def _action_number(text: str) -> int:
    digits = text.strip().removeprefix("act-")
    if not digits.isdigit() or int(digits) < 1:
        raise InvalidInput(
            f"an action is named act-NNNN or by its number; got {text!r}",
            path="action",
            hint="'keel agent history' lists them",
        )
    return int(digits)


def _show_pass(result: use.PassResult, json: bool) -> None:
    if json:
        print_json(result.to_dict())
        return
    for line in result.events:
        console.print(escape(line))
    if not result.events:
        console.print("nothing to do")


@app.command("tick")
def tick(ctx: typer.Context, json: JsonFlag = False) -> None:
    """One pass: the next step of the action in flight, then what the triggers ask for."""
    _show_pass(use.tick(open_project(ctx)), json)


@app.command("run")
def run(
    ctx: typer.Context,
    interval: Annotated[float, typer.Option(help="Seconds between passes.", min=0.0)] = 30.0,
    passes: Annotated[
        int | None, typer.Option(help="Stop after this many passes (default: never).", min=1)
    ] = None,
    json: JsonFlag = False,
) -> None:
    """The reconcile loop: a pass every --interval seconds, as the one leading agent."""
    made = use.run(
        open_project(ctx),
        interval_seconds=interval,
        passes=passes,
        on_pass=lambda result: _show_pass(result, json),
    )
    if not json:
        console.print(f"{made} passes")


@app.command("plan")
def plan(ctx: typer.Context, json: JsonFlag = False) -> None:
    """What a pass would do now and why; changes nothing."""
    found = use.plan(open_project(ctx))
    if json:
        print_json(found.to_dict())
        return
    if found.paused:
        console.print("[yellow]paused[/]: a pass would do nothing")
    for decision in found.decisions:
        body = decision.to_dict()
        console.print(
            f"{escape(body['action'])} ({escape(body['mode'])})  {escape(decision.rule)}"
            f"  key {escape(decision.key)}"
        )
    for action, step in found.next_steps.items():
        console.print(f"{escape(action)}: next {escape(step)}")
    if not found.decisions and not found.next_steps:
        console.print("nothing to do")


@app.command("status")
def status(ctx: typer.Context, json: JsonFlag = False) -> None:
    """Paused or not, who leads, the cooldown, the budgets spent, the actions in flight."""
    found = use.status(open_project(ctx))
    if json:
        print_json(found.to_dict())
        return
    controls = found.controls
    lease = controls.lease
    pairs: list[tuple[str, Any]] = [
        ("paused", f"yes, by {controls.paused_by}" if controls.paused else "no"),
        ("leader", f"{lease.holder} until {lease.expires_at:%H:%M:%S}" if lease else "none"),
        ("cooldown", controls.cooldown_until or "none"),
        ("dry run", "yes" if found.dry_run else "no"),
        *((f"budget {kind}", used) for kind, used in found.spent.items()),
        ("in flight", ", ".join(a.id for a in found.open) or "none"),
    ]
    field_list((name, value) for name, value in pairs)


@app.command("history")
def history(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="How many actions.", min=1)] = 20,
    json: JsonFlag = False,
) -> None:
    """The agent's actions, newest first."""
    keel = open_project(ctx)
    found = use.history(keel, limit=limit)
    if json:
        print_json([a.to_dict() for a in found])
        return
    rows = [
        (
            a.id,
            a.kind,
            a.mode,
            a.status.value,
            a.last.name if a.last else "",
            a.rule,
            f"{a.created_at:%Y-%m-%d %H:%M}",
        )
        for a in found
    ]
    table(keel.project.name, ["action", "kind", "mode", "status", "last step", "rule", "at"], rows)


@app.command("explain")
def explain(ctx: typer.Context, action: ActionRef, json: JsonFlag = False) -> None:
    """Why the agent took an action: the rule, the evidence, each step and verdict, the end."""
    found = use.explain(open_project(ctx), _action_number(action))
    if json:
        print_json(found.to_dict())
        return
    act = found.action
    field_list(
        (name, value)
        for name, value in [
            ("action", f"{act.id} {act.kind} ({act.mode})"),
            ("status", act.status.value),
            ("rule", act.rule),
            ("evidence", act.evidence),
            ("outcome", act.outcome or "-"),
        ]
    )
    for event in found.events:
        console.print(
            f"  {escape(event.at[:19])}  {escape(event.action):<14} {_said(event.details)}"
        )


def _said(details: Mapping[str, Any]) -> str:
    """One line per audit event: a step, a verdict with its metrics, a decision."""
    if "verdict" in details:
        metrics = " · ".join(
            f"{m['metric']} {m['estimate']} [{m['interval'][0]}, {m['interval'][1]}]"
            f" n={m['n_canary']} {m['verdict']}"
            for m in details.get("metrics", [])
        )
        return escape(
            f"{details.get('step')} {details['verdict']}: {details['reason']} · {metrics}"
        )
    if "name" in details and "state" in details:
        extra = {k: v for k, v in details.items() if k not in _COMMON}
        return escape(f"{details['name']} {details['state']} {extra or ''}")
    shown = {k: v for k, v in details.items() if k not in ("action", "kind", "rule")}
    return escape(str(shown))


_COMMON = {"action", "kind", "rule", "name", "state", "at"}


@app.command("pause")
def pause(
    ctx: typer.Context,
    reason: Annotated[str | None, typer.Option(help="Why (kept in the audit trail).")] = None,
    json: JsonFlag = False,
) -> None:
    """The kill switch: nothing new starts; an action in flight stops before its next step."""
    controls = use.pause(open_project(ctx), reason=reason)
    if json:
        print_json(controls.to_dict())
    else:
        console.print("agent paused: it starts nothing until 'keel agent resume'")


@app.command("resume")
def resume(ctx: typer.Context, json: JsonFlag = False) -> None:
    """Undo pause: the next pass goes on where the agent stopped."""
    controls = use.resume(open_project(ctx))
    if json:
        print_json(controls.to_dict())
    else:
        console.print("agent resumed")


@app.command("approve")
def approve(
    ctx: typer.Context,
    action: ActionRef,
    note: Annotated[str, typer.Option(help="Why you approve.")] = "",
    json: JsonFlag = False,
) -> None:
    """Approve what an action waits for (its start, a shadow, a canary or a promotion)."""
    found = use.approve(open_project(ctx), _action_number(action), note=note)
    if json:
        print_json(found.to_dict())
    else:
        console.print(f"{found.id} approved: the next pass goes on")
