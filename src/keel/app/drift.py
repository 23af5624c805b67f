"""Comparing any two tables column by column (``keel drift``), with or without a project.

Inside a project the contract types the columns (a category coded as integers stays a
category, text from a CSV is parsed as the contract says) and the entity id and timestamp are
left out; outside one, types come from the files (a CSV's ISO dates and times are read as
timestamps). Timestamps and identifiers (unique, monotonic whole numbers, which every later
table would show as drift) are not compared unless named with ``columns``. Only ``keel.yaml``
(and the contract file it names) is read: the comparison needs no database, so it is an
offline operation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from keel.app.result import Result
from keel.app.use_case import offline
from keel.data.casting import parse_column
from keel.data.contract import NUMERIC_TYPES, ColumnType, Contract
from keel.errors import InvalidInput
from keel.monitoring import DriftDetector, DriftReport, ThresholdPolicy
from keel.monitoring.reference import Kind
from keel.monitoring.results import MultivariateResult
from keel.monitoring.standalone import find_identifiers, is_timestamp
from keel.monitoring.thresholds import Method

if TYPE_CHECKING:
    from keel.config import ProjectFile

READERS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}


@dataclass(frozen=True)
class DriftRequest:
    """Two tables to compare and how; ``project`` is the folder whose contract types them."""

    reference: Path
    current: Path
    project: Path | None = None
    columns: tuple[str, ...] | None = None  # None: every column the two files share
    threshold: Method = "calibrated"
    false_alarm_rate: float = 0.01
    multivariate: bool = False  # also the domain classifier and PCA reconstruction
    report: Path | None = None  # write a self-contained HTML report here


@dataclass(frozen=True)
class DriftComparison(Result):
    """The drift of every compared column, the multivariate checks asked for, and the files."""

    drift: DriftReport
    multivariate: list[MultivariateResult]
    reference: Path
    current: Path
    project: str | None
    report: Path | None

    def to_dict(self) -> dict[str, Any]:
        """The drift report's own JSON, with the files, project and multivariate checks."""
        body = self.drift.to_dict()
        body |= {"reference": str(self.reference), "current": str(self.current)}
        body["project"] = self.project
        body["multivariate"] = [result.to_dict() for result in self.multivariate]
        body["report"] = None if self.report is None else str(self.report)
        return body


@offline(action="comparing two tables")
def compare_tables(request: DriftRequest) -> DriftComparison:
    """Which columns of the current table drifted from the reference: every statistic against
    its threshold; with ``request.report``, the HTML report is written too."""
    project, contract = _project(request.project)
    ref = _read_table(request.reference, contract)
    cur = _read_table(request.current, contract)
    chosen, skipped = _columns(ref, cur, request.columns, project)
    policy = ThresholdPolicy(method=request.threshold, false_alarm_rate=request.false_alarm_rate)
    detector = DriftDetector(thresholds=policy, columns=chosen)
    found = detector.fit(ref, kinds=_kinds(contract, chosen)).check(cur)
    found = replace(found, skipped={**found.skipped, **skipped})
    extra = _multivariate(ref, cur, list(found.columns)) if request.multivariate else []
    if request.report is not None:
        _write_report(request.report, request, found, extra)
    return DriftComparison(
        drift=found,
        multivariate=extra,
        reference=request.reference,
        current=request.current,
        project=None if project is None else project.name,
        report=request.report,
    )


def _project(folder: Path | None) -> tuple[ProjectFile | None, Contract | None]:
    """The project file in ``folder`` and its contract, or neither outside a project."""
    if folder is None:
        return None, None
    # keel.yaml's typed models are imported only where there is a project to read
    from keel.config import PROJECT_FILE, load_contract, load_project  # noqa: PLC0415

    project = load_project(folder / PROJECT_FILE)
    return project, load_contract(project, folder)


def _read_table(path: Path, contract: Contract | None) -> pl.DataFrame:
    """A Parquet or CSV file; typed by ``contract`` when given, else by the file."""
    kind = READERS.get(path.suffix.lower())
    if not path.is_file() or kind is None:
        raise InvalidInput(f"{path}: expected an existing .parquet or .csv file", path="file")
    text = kind == "csv" and contract is not None
    try:
        if kind == "parquet":
            frame = pl.read_parquet(path)
        else:
            frame = pl.read_csv(
                path, infer_schema=not text, infer_schema_length=10_000, try_parse_dates=not text
            )
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
    ref: pl.DataFrame,
    cur: pl.DataFrame,
    given: tuple[str, ...] | None,
    project: ProjectFile | None,
) -> tuple[list[str], dict[str, str]]:
    """The columns to compare, and why any other column is not compared."""
    if given is not None:
        for name in given:
            if name not in ref.columns or name not in cur.columns:
                side = "reference" if name not in ref.columns else "current"
                raise InvalidInput(f"--columns: the {side} file has no column {name!r}", path=name)
        return list(given), {}
    roles = _roles(project)
    skipped: dict[str, str] = {}
    chosen = []
    for name in ref.columns:
        if name not in cur.columns:
            skipped[name] = "only in the reference"
        elif name in roles:
            skipped[name] = roles[name]
        elif is_timestamp(ref.schema[name]):
            skipped[name] = "a timestamp"
        else:
            chosen.append(name)
    for name in find_identifiers(ref, chosen):
        chosen.remove(name)
        skipped[name] = "an identifier (unique, monotonic whole numbers); --columns to compare it"
    skipped.update({n: "only in the current file" for n in cur.columns if n not in ref.columns})
    if not chosen:
        raise InvalidInput(
            "the two files share no column to compare",
            path="columns",
            hint="compare tables with the same columns, or name them with --columns",
        )
    return chosen, skipped


def _roles(project: ProjectFile | None) -> dict[str, str]:
    """Columns a project gives a role that is not a feature: they are not compared."""
    if project is None:
        return {}
    roles = {project.entity: "the entity id"}
    if project.timestamp:
        roles[project.timestamp] = "the event timestamp"
    return roles


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


def _write_report(
    out: Path, request: DriftRequest, found: DriftReport, extra: list[MultivariateResult]
) -> None:
    """The self-contained HTML report, at ``out`` (its folder made if missing)."""
    from keel.reporting.drift import render_drift_report  # noqa: PLC0415 - for --report only

    page = render_drift_report(
        found,
        title=f"Drift: {request.current.name} against {request.reference.name}",
        reference_name=request.reference.name,
        current_name=request.current.name,
        multivariate=extra,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
