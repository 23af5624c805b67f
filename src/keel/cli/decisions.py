"""``keel decisions tune|replay|kpis`` and the released policies' ``register|gate|release|
approve|reject|rollback|policies``: parse, call the decisions plane (``keel.app.decisions``,
``keel.app.policies``), render."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from keel.cli.context import open_project
from keel.cli.data import JsonFlag
from keel.cli.lazy import lazy
from keel.cli.output import console, print_json, table

if TYPE_CHECKING:
    from keel.app import decisions as use
    from keel.app import policies
    from keel.app.policies import PolicyRelease as PolicyReleaseResult
    from keel.decisions.kpis import ChunkKpis
    from keel.decisions.replay import Difference
else:
    use = lazy("keel.app.decisions")
    policies = lazy("keel.app.policies")


decisions_app = typer.Typer(
    help="Decision policies: tune, replay, and release them through gate and approval.",
    no_args_is_help=True,
)


@decisions_app.command("tune")
def tune(
    ctx: typer.Context,
    max_review_share: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Largest share of records the middle action takes"
            " [default: decisions.constraints.max_review_rate, else 1].",
        ),
    ] = None,
    min_low_share: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Smallest share the low action (approve) takes"
            " [default: decisions.constraints.min_approval_rate, else 0].",
        ),
    ] = None,
    max_error_rate: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Tune a review band keeping automatic decisions wrong at most this often"
            " [default: decisions.risk_control.max_error_rate].",
        ),
    ] = None,
    risk_confidence: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=1.0,
            help="With --max-error-rate: the probability the guarantee holds"
            " [default: decisions.risk_control.confidence, else 0.9].",
        ),
    ] = None,
    out: Annotated[Path, typer.Option(help="HTML page of the trade-off.")] = Path(
        "decisions-tune.html"
    ),
    write_policy: Annotated[
        Path | None, typer.Option(help="Write the tuned decisions section to this file.")
    ] = None,
    json: JsonFlag = False,
) -> None:
    """Thresholds of least cost on the champion's frozen benchmark set, with the cost's interval."""
    report = use.tune_thresholds(
        open_project(ctx),
        max_middle_share=max_review_share,
        min_low_share=min_low_share,
        max_error_rate=max_error_rate,
        risk_confidence=risk_confidence,
        page=out,
        policy_file=write_policy,
    )
    if json:
        print_json(report.to_dict())
        return
    tuned, cost = report.tuned, report.tuned.cost
    console.print(
        f"{escape(report.model)} on {escape(report.benchmark)} ({tuned.rows:,} rows): cost per"
        f" record {cost.value:,.2f} [{cost.low:,.2f}, {cost.high:,.2f}] ({cost.confidence:.0%})"
    )
    table(
        None,
        ["action", "scores", "share"],
        [(a, band, f"{tuned.shares.get(a, 0):.1%}") for a, band in tuned.thresholds().items()],
    )
    risk, risk_cost = report.risk, report.risk_cost
    if risk is not None and risk_cost is not None:
        console.print(
            f"risk-controlled band: automatic decisions wrong at most {risk.max_error_rate:.1%}"
            f" of the time with {risk.confidence:.0%} confidence ({risk.errors:,} of"
            f" {risk.automatic:,} on the benchmark set); cost per record {risk_cost.value:,.2f}"
            f" [{risk_cost.low:,.2f}, {risk_cost.high:,.2f}]"
        )
        table(
            None,
            ["action", "scores", "share"],
            [(a, band, f"{risk.share(a):.1%}") for a, band in risk.thresholds().items()],
        )
    console.print(f"trade-off → {escape(str(out))}")
    if write_policy:
        console.print(f"policy → {escape(str(write_policy))}")


@decisions_app.command("replay")
def replay(
    ctx: typer.Context,
    policy: Annotated[Path, typer.Option(help="A file holding a decisions section.")],
    since: Annotated[
        datetime | None, typer.Option(help="First prediction time (UTC) to replay.")
    ] = None,
    until: Annotated[datetime | None, typer.Option(help="Replay predictions before this.")] = None,
    json: JsonFlag = False,
) -> None:
    """Decide logged predictions again under POLICY; expected and realized cost differences."""
    report = use.replay_policy(open_project(ctx), policy, since=_utc(since), until=_utc(until))
    if json:
        print_json(report.to_dict())
        return
    found = report.replay
    console.print(
        f"{found.rows:,} predictions replayed ({found.skipped:,} skipped), {found.changed:,}"
        " decided differently"
    )
    for name, difference in (
        ("expected cost", found.expected_cost),
        ("realized cost", found.realized_cost),
    ):
        console.print(_difference(name, difference))


@decisions_app.command("kpis")
def kpis(
    ctx: typer.Context,
    by_policy: Annotated[
        bool, typer.Option("--by-policy", help="One row per decision policy that decided.")
    ] = False,
    json: JsonFlag = False,
) -> None:
    """Decision KPIs per monitoring chunk (or per policy): shares, review rate, expected and
    realized cost, override rate."""
    keel = open_project(ctx)
    if by_policy:
        per_policy = use.policy_kpis(keel)
        if json:
            print_json([row.to_dict() for row in per_policy])
            return
        _kpi_table(f"decision KPIs of {keel.project.name} by policy", [r.kpis for r in per_policy])
        return
    found = use.decision_kpis(keel)
    if json:
        print_json([chunk.to_dict() for chunk in found])
        return
    _kpi_table(f"decision KPIs of {keel.project.name}", found)


def _kpi_table(title: str, found: Sequence[ChunkKpis]) -> None:
    table(
        title,
        [
            "chunk",
            "rows",
            "review",
            "defer",
            "expected cost",
            "realized cost",
            "labelled",
            "override",
        ],
        [
            (
                c.chunk,
                f"{c.rows:,}",
                f"{c.review_rate:.1%}",
                f"{c.defer_rate:.1%}",
                _money(c.expected_cost),
                _money(c.realized_cost),
                f"{c.labelled:,}",
                ""
                if c.override_rate.value is None
                else f"{c.override_rate.value:.0%} of {c.override_rate.n}",
            )
            for c in found
        ],
    )


def _money(value: float | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def _difference(name: str, found: Difference) -> str:
    if found.difference is None or found.low is None or found.high is None:
        return f"{name}: no rows"
    return (
        f"{name} per record: {found.logged:,.2f} → {found.candidate:,.2f}, difference"
        f" {found.difference:+,.2f} [{found.low:+,.2f}, {found.high:+,.2f}] on {found.rows:,} rows"
    )


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


# ---------------------------------------------------------------- released policies

PolicyArg = Annotated[str, typer.Argument(help="A policy version: p2 (or 2).")]


def _policy_number(text: str) -> int:
    """``p2`` or ``2``; anything else is refused naming the argument."""
    from keel.errors import InvalidInput  # noqa: PLC0415

    digits = text.strip().removeprefix("p")
    if not digits.isdigit() or int(digits) < 1:
        raise InvalidInput(
            f"'{text}' is not a policy version", path="POLICY", hint="write p2 (or 2)"
        )
    return int(digits)


@decisions_app.command("register")
def register(
    ctx: typer.Context,
    policy: Annotated[
        Path | None,
        typer.Option(help="A file holding a decisions section [default: keel.yaml's]."),
    ] = None,
    note: Annotated[str, typer.Option(help="What changed and why, for the audit trail.")] = "",
    json: JsonFlag = False,
) -> None:
    """Register a decision policy (keel.yaml's decisions, or --policy FILE) as the next version."""
    found = policies.register_policy(open_project(ctx), policy, note=note)
    if json:
        print_json(found.to_dict())
        return
    label, digest = found.policy.label, found.policy.digest
    if found.created:
        console.print(f"registered policy {label} (digest {digest})")
    else:
        console.print(f"already registered as policy {label} (digest {digest})")
    console.print(f"next: keel decisions gate {label}")


@decisions_app.command("gate")
def gate(ctx: typer.Context, version: PolicyArg, json: JsonFlag = False) -> None:
    """Judge a policy on the champion's frozen benchmark set beside the policy in force."""
    number = _policy_number(version)
    found = policies.gate_policy(open_project(ctx), number)
    if json:
        print_json(found.to_dict())
        return
    verdict = "passed" if found.passed else "FAILED"
    console.print(
        f"policy p{number} {verdict} on v{found.champion}'s {escape(found.benchmark)}"
        f" ({found.rows:,} rows)"
    )
    table(
        None,
        ["check", "result", "value", "limit", "evidence"],
        [
            (
                c.name,
                "pass" if c.passed else "fail",
                "" if c.value is None else f"{c.value:,.4g}",
                "" if c.limit is None else f"{c.limit:,.4g}",
                c.detail,
            )
            for c in found.checks
        ],
    )
    before = found.live_shares or {}
    shares = ", ".join(
        f"{escape(a)} {before.get(a, 0.0):.1%} → {s:.1%}"
        for a, s in sorted({**dict.fromkeys(before, 0.0), **found.shares}.items())
    )
    live = "keel.yaml" if found.live is None else f"p{found.live}"
    console.print(f"decisions on the benchmark set, {live} → p{number}: {shares}")
    if found.cost_per_record is not None:
        cost = found.cost_per_record
        console.print(f"realized cost per record: {cost['live']:,.2f} → {cost['candidate']:,.2f}")


@decisions_app.command("release")
def release(
    ctx: typer.Context,
    version: PolicyArg,
    reason: Annotated[str, typer.Option(help="Why, for the audit trail.")] = "",
    json: JsonFlag = False,
) -> None:
    """Put a gated policy in force, or ask for the approvals release.approvals needs."""
    found = policies.release_policy(open_project(ctx), _policy_number(version), reason=reason)
    _show_release(found, json=json)


@decisions_app.command("approve")
def approve(
    ctx: typer.Context,
    version: PolicyArg,
    note: Annotated[str, typer.Option(help="Why you approve, for the audit trail.")] = "",
    json: JsonFlag = False,
) -> None:
    """Approve a policy's pending release (an approver other than the requester)."""
    found = policies.approve_policy(open_project(ctx), _policy_number(version), note=note)
    _show_release(found, json=json)


@decisions_app.command("reject")
def reject(
    ctx: typer.Context,
    version: PolicyArg,
    note: Annotated[str, typer.Option(help="Why, for the requester and the audit trail.")],
    json: JsonFlag = False,
) -> None:
    """Turn a policy's pending release down, with a note saying why."""
    found = policies.reject_policy(open_project(ctx), _policy_number(version), note=note)
    if json:
        print_json(found.to_dict())
        return
    console.print(f"the release of policy {found.label} was turned down")


@decisions_app.command("rollback")
def rollback(
    ctx: typer.Context,
    reason: Annotated[str, typer.Option(help="Why, for the audit trail.")] = "",
    json: JsonFlag = False,
) -> None:
    """Put back the decision policy in force before the current one, in one step."""
    found = policies.rollback_policy(open_project(ctx), reason=reason)
    if json:
        print_json(found.to_dict())
        return
    console.print(
        f"policy {escape(str(found.details.get('policy')))} is in force again"
        f" · release {found.id} (was {escape(str(found.details.get('from')))})"
    )


@decisions_app.command("policies")
def list_policies(ctx: typer.Context, json: JsonFlag = False) -> None:
    """Registered decision policies, their gates and pending releases; which is in force."""
    keel = open_project(ctx)
    found = policies.list_policies(keel)
    if json:
        print_json(found.to_dict())
        return
    live = "keel.yaml" if found.live is None else f"p{found.live}"
    console.print(f"in force: {live} (digest {found.live_digest})")
    table(
        f"decision policies of {keel.project.name}",
        ["policy", "digest", "gate", "release", "by", "source", "note"],
        [
            (
                p.label + (" ●" if p.version == found.live else ""),
                p.digest,
                "-" if p.gate is None else ("passed" if p.gate.passed else "failed"),
                "" if p.requested_by is None else f"awaiting approval ({p.requested_by})",
                p.created_by,
                p.source,
                p.note,
            )
            for p in found.policies
        ],
    )


def _show_release(found: PolicyReleaseResult, *, json: bool) -> None:
    if json:
        print_json(found.to_dict())
        return
    label = found.policy.label
    if found.release is not None:
        console.print(f"policy {label} is in force · release {found.release.id}")
        return
    console.print(
        f"policy {label} awaits approval: {len(found.approvals)} of {found.needed}"
        f" (asked by {escape(str(found.policy.requested_by))})"
    )
    console.print(f"an approver other than the requester runs: keel decisions approve {label}")
