"""``keel drift REF CUR``: compare any two tables column by column, with or without a project.

Inside a project the contract types the columns (a category coded as integers stays a
category, text from a CSV is parsed as the contract says) and the entity id and timestamp are
left out; outside one, types come from the files.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer

from keel.cli.context import options
from keel.cli.output import console, print_json, table
from keel.config import ProjectFile, find_project_dir, load_project
from keel.data.casting import parse_column
from keel.data.contract import NUMERIC_TYPES, ColumnType, Contract
from keel.errors import InvalidInput
from keel.monitoring import DriftDetector, DriftReport, ThresholdPolicy
from keel.monitoring.reference import Kind
from keel.monitoring.report import render_drift_report
from keel.monitoring.results import MultivariateResult
from keel.monitoring.thresholds import METHODS
from keel.wiring import load_contract

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
READERS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}


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
    if threshold not in METHODS:
        raise InvalidInput(
            f"--threshold must be one of {', '.join(METHODS)}; got {threshold!r}", path="threshold"
        )
    project = _project(ctx)
    contract = None if project is None else load_contract(*project)
    ref = read_table(reference, contract)
    cur = read_table(current, contract)
    chosen, skipped = _columns(ref, cur, columns, None if project is None else project[0])
    policy = ThresholdPolicy(method=threshold, false_alarm_rate=false_alarm_rate)
    detector = DriftDetector(thresholds=policy, columns=chosen)
    found = detector.fit(ref, kinds=_kinds(contract, chosen)).check(cur)
    found = replace(found, skipped={**found.skipped, **skipped})
    extra = _multivariate(ref, cur, list(found.columns)) if multivariate else []
    if report is not None:
        page = render_drift_report(
            found,
            title=f"Drift: {current.name} against {reference.name}",
            reference_name=reference.name,
            current_name=current.name,
            multivariate=extra,
        )
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(page, encoding="utf-8")
    if json:
        body = found.to_dict()
        body |= {"reference": str(reference), "current": str(current)}
        body["project"] = None if project is None else project[0].name
        body["multivariate"] = [result.to_dict() for result in extra]
        body["report"] = None if report is None else str(report)
        print_json(body)
        return
    _show(found, extra, report)


def _project(ctx: typer.Context) -> tuple[ProjectFile, Path] | None:
    """The project named by --project or KEEL_PROJECT, else the nearest one, else None."""
    given = options(ctx).project or (Path(p) if (p := os.environ.get("KEEL_PROJECT")) else None)
    folder = given.resolve() if given is not None else find_project_dir(Path.cwd())
    if folder is None:
        return None
    return load_project(folder / "keel.yaml"), folder


def read_table(path: Path, contract: Contract | None) -> pl.DataFrame:
    """A Parquet or CSV file; typed by ``contract`` when given, else by the file."""
    kind = READERS.get(path.suffix.lower())
    if not path.is_file() or kind is None:
        raise InvalidInput(f"{path}: expected an existing .parquet or .csv file", path="file")
    text = kind == "csv" and contract is not None
    try:
        if kind == "parquet":
            frame = pl.read_parquet(path)
        else:
            frame = pl.read_csv(path, infer_schema=not text, infer_schema_length=10_000)
    except (pl.exceptions.PolarsError, OSError) as exc:
        detail = str(exc).strip().splitlines()[0][:200]
        raise InvalidInput(f"cannot read {path.name}: {detail}", path="file") from exc
    return frame if contract is None else _typed(frame, contract, from_text=text)


def _typed(frame: pl.DataFrame, contract: Contract, *, from_text: bool) -> pl.DataFrame:
    """Columns the contract declares, converted to its types (a value that does not convert
    becomes missing, which drift and quality then show); categories stay open text."""
    exprs = []
    for name in frame.columns:
        spec = contract.columns.get(name)
        if spec is None:
            exprs.append(pl.col(name))
            continue
        if spec.type is ColumnType.CATEGORY:
            spec = spec.model_copy(update={"values": None})
        parsed = parse_column(name, frame.schema[name], spec, from_text=from_text)
        exprs.append(parsed.value.alias(name))
    return frame.select(exprs)


def _columns(
    ref: pl.DataFrame, cur: pl.DataFrame, given: str | None, project: ProjectFile | None
) -> tuple[list[str], dict[str, str]]:
    """The columns to compare, and why any other column is not compared."""
    skipped: dict[str, str] = {}
    if given:
        chosen = [name.strip() for name in given.split(",") if name.strip()]
        for name in chosen:
            if name not in ref.columns or name not in cur.columns:
                side = "reference" if name not in ref.columns else "current"
                raise InvalidInput(f"--columns: the {side} file has no column {name!r}", path=name)
        return chosen, skipped
    roles = {} if project is None else {project.entity: "the entity id"}
    if project is not None and project.timestamp:
        roles[project.timestamp] = "the event timestamp"
    chosen = []
    for name in ref.columns:
        if name not in cur.columns:
            skipped[name] = "only in the reference"
        elif name in roles:
            skipped[name] = roles[name]
        else:
            chosen.append(name)
    skipped.update({n: "only in the current file" for n in cur.columns if n not in ref.columns})
    if not chosen:
        raise InvalidInput(
            "the two files share no column to compare",
            path="columns",
            hint="compare tables with the same columns, or name them with --columns",
        )
    return chosen, skipped


def _kinds(contract: Contract | None, chosen: list[str]) -> Mapping[str, Kind] | None:
    """Numeric or categorical per the contract (integers coded as categories stay categories)."""
    if contract is None:
        return None
    kinds: dict[str, Kind] = {}
    for name in chosen:
        spec = contract.columns.get(name)
        if spec is not None and spec.type is not ColumnType.DATETIME:
            kinds[name] = "numeric" if spec.type in NUMERIC_TYPES else "categorical"
    return kinds


def _multivariate(
    ref: pl.DataFrame, cur: pl.DataFrame, names: list[str]
) -> list[MultivariateResult]:
    """The domain classifier and PCA reconstruction (LightGBM loads only when asked for)."""
    from keel.monitoring.multivariate import (  # noqa: PLC0415
        DomainClassifier,
        PCAReconstruction,
    )

    return [
        DomainClassifier(columns=names).fit(ref).check(cur),
        PCAReconstruction(columns=names).fit(ref).check(cur),
    ]


def _show(found: DriftReport, extra: list[MultivariateResult], report: Path | None) -> None:
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
        console.print(
            f"{check.method}: {check.value:.4g} (threshold {check.threshold:.4g}) {state}"
        )
    drifted = found.drifted_columns
    console.print(
        f"{len(drifted)} of {len(found.columns)} columns drifted"
        + (f": {', '.join(drifted)}" if drifted else "")
    )
    for name, why in found.skipped.items():
        console.print(f"[dim]not compared: {name} ({why})[/]")
    if report is not None:
        console.print(f"report written to {report}")
