"""``keel decisions tune|replay``: parse, call the decisions plane (``keel.app.decisions``),
render."""

from __future__ import annotations

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
    from keel.decisions.replay import Difference
else:
    use = lazy("keel.app.decisions")


decisions_app = typer.Typer(
    help="Decision policies priced by decisions.costs: tune thresholds, replay the log.",
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
def kpis(ctx: typer.Context, json: JsonFlag = False) -> None:
    """Decision KPIs per monitoring chunk: shares, review rate, expected and realized cost,
    override rate."""
    keel = open_project(ctx)
    found = use.decision_kpis(keel)
    if json:
        print_json([chunk.to_dict() for chunk in found])
        return
    table(
        f"decision KPIs of {keel.project.name}",
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
