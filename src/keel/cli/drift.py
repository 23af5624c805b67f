"""``keel drift REF CUR``: compare any two tables column by column, with or without a project
(``keel.app.drift`` does the work; this face parses the options and renders the result)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from keel.cli.context import options
from keel.cli.lazy import lazy
from keel.cli.output import print_json, say, table
from keel.errors import InvalidInput

if TYPE_CHECKING:
    from keel import config
    from keel.app import drift as drift_app
    from keel.app.drift import DriftComparison
    from keel.monitoring import thresholds
else:
    drift_app = lazy("keel.app.drift")
    config = lazy("keel.config")
    thresholds = lazy("keel.monitoring.thresholds")


JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def drift(
    ctx: typer.Context,
    reference: Annotated[Path, typer.Argument(help="The reference table (.parquet or .csv).")],
    current: Annotated[Path, typer.Argument(help="The table to compare (same columns).")],
    columns: Annotated[
        str | None, typer.Option(help="Comma-separated columns to compare (default: all shared).")
    ] = None,
    threshold: Annotated[
        str, typer.Option(help="'calibrated' on the reference, or the conventional 'fixed' ones.")
    ] = "calibrated",
    false_alarm_rate: Annotated[
        float, typer.Option(help="Calibrated: share of stationary chunks a column may flag.")
    ] = 0.01,
    multivariate: Annotated[
        bool, typer.Option(help="Also run the domain classifier and PCA reconstruction.")
    ] = False,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write a self-contained HTML report here.")
    ] = None,
    json: JsonFlag = False,
) -> None:
    """Which columns of CUR drifted from REF: every statistic against its threshold."""
    if threshold not in thresholds.METHODS:
        raise InvalidInput(
            f"--threshold must be one of {', '.join(thresholds.METHODS)}; got {threshold!r}",
            path="threshold",
        )
    request = drift_app.DriftRequest(
        reference=reference,
        current=current,
        project=_project_folder(ctx),
        columns=None if not columns else tuple(n.strip() for n in columns.split(",") if n.strip()),
        threshold=threshold,
        false_alarm_rate=false_alarm_rate,
        multivariate=multivariate,
        report=report,
    )
    found = drift_app.compare_tables(request)
    if json:
        print_json(found.to_dict())
        return
    _show(found)


def _project_folder(ctx: typer.Context) -> Path | None:
    """The project named by --project or KEEL_PROJECT, else the nearest one, else None."""
    given = options(ctx).project or (Path(p) if (p := os.environ.get("KEEL_PROJECT")) else None)
    return given.resolve() if given is not None else config.find_project_dir(Path.cwd())


def _show(comparison: DriftComparison) -> None:
    found, extra, report = comparison.drift, comparison.multivariate, comparison.report
    names = list(dict.fromkeys(s for c in found.columns.values() for s in c.statistics))
    rows: list[list[Any]] = []
    for name, column in found.columns.items():
        cells = []
        for statistic in names:
            result = column.statistics.get(statistic)
            cells.append(
                ""
                if result is None
                else f"{result.value:.4g} / {result.threshold:.4g}"
                + (" !" if result.drifted else "")
            )
        rows.append(
            [
                name,
                column.kind,
                f"{column.missing_rate:.1%}",
                *cells,
                "DRIFT" if column.drifted else "ok",
            ]
        )
    table(
        f"{found.current_rows:,} rows against {found.reference_rows:,} (value / threshold)",
        ["column", "kind", "missing", *names, ""],
        rows,
        styles=lambda row: "red" if row[-1] == "DRIFT" else None,
    )
    for check in extra:
        state = "[red]DRIFT[/]" if check.drifted else "ok"
        say("{}: {:.4g} (threshold {:.4g}) " + state, check.method, check.value, check.threshold)
    drifted = found.drifted_columns
    say(
        "{} of {} columns drifted{}",
        len(drifted),
        len(found.columns),
        f": {', '.join(drifted)}" if drifted else "",
    )
    for name, why in found.skipped.items():
        say("[dim]not compared: {} ({})[/]", name, why)
    if report is not None:
        say("report written to {}", report)
