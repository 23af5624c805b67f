"""``keel labels ingest``: targets that arrive after the features, keyed by entity id."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer

from keel.cli.context import open_project
from keel.cli.data import JsonFlag, ingest_source, show_result
from keel.cli.output import console, print_json, row_progress
from keel.data.ingest import read_version
from keel.data.labels import find_conflicts, label_coverage, label_rate_shift
from keel.data.versions import BatchKind
from keel.identity.roles import Role
from keel.store.sources import open_source
from keel.wiring import Keel

app = typer.Typer(help="Labels that arrive later than the features.", no_args_is_help=True)


@app.command("ingest")
def ingest(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A file with the entity id and target columns.")],
    source: Annotated[str, typer.Option(help="Name of the producer.")] = "",
    json: JsonFlag = False,
) -> None:
    """Validate and store a label batch; report coverage, conflicts and label-rate shift."""
    keel = open_project(ctx)
    actor = keel.acting(Role.OPERATOR, action="ingesting labels")
    reader = open_source(file)
    before = _labels(keel)
    with row_progress(f"ingesting labels {file.name}", None, quiet=json) as progress:
        result = ingest_source(
            keel, reader, actor=actor.name, source=source, kind=BatchKind.LABELS, progress=progress
        )
    report = _report(keel, before, file, reader)
    if json:
        print_json({**result.to_dict(), "labels": report})
        return
    show_result(result, json=False)
    console.print(
        f"label coverage {report['coverage']:.1%} of {report['feature_rows']:,} feature rows · "
        f"{report['orphan_labels']:,} labels without features · "
        f"{report['conflicts']:,} entities with conflicting labels"
    )
    shift = report.get("rate_shift")
    if shift:
        console.print(
            f"positive rate {shift['reference_rate']:.3f} → {shift['current_rate']:.3f} "
            f"(p = {shift['p_value']:.3g})"
        )


def _labels(keel: Keel) -> pl.DataFrame | None:
    with keel.reader() as unit:
        version = unit.datasets.latest(keel.labels_dataset)
    if version is None:
        return None
    return read_version(keel.rows, version)


def _report(keel: Keel, before: pl.DataFrame | None, file: Path, reader: Any) -> dict[str, Any]:
    """Coverage of the latest features, conflicts between this file and stored labels, shift."""
    entity, target = keel.project.entity, keel.project.target.column
    incoming = pl.concat(list(reader.chunks(500_000)), how="vertical_relaxed")
    incoming = incoming.select(pl.col(entity).cast(pl.String), pl.col(target).cast(pl.String))
    stored = (
        before.select(pl.col(entity).cast(pl.String), pl.col(target).cast(pl.String))
        if before is not None
        else incoming.clear()
    )
    conflicts = find_conflicts(pl.concat([stored, incoming]), entity=entity, target=target)
    labels = _labels(keel)
    with keel.reader() as unit:
        features = unit.datasets.latest(keel.dataset)
    rows = (
        read_version(keel.rows, features)
        if features is not None
        else pl.DataFrame(schema={entity: pl.String, target: pl.String})
    )
    rows = rows.with_columns(pl.col(entity).cast(pl.String))
    labelled_inline = (
        rows.filter(pl.col(target).is_not_null()).select(entity)
        if target in rows.columns
        else rows.clear().select(entity)
    )
    kept = labels if labels is not None else incoming.clear()  # what was stored, not what came
    stored_ids = kept.select(pl.col(entity).cast(pl.String))
    coverage = label_coverage(
        rows.select(entity), pl.concat([labelled_inline, stored_ids]), entity=entity
    )
    report: dict[str, Any] = {
        "feature_rows": coverage.rows,
        "coverage": coverage.fraction,
        "orphan_labels": coverage.orphan_labels,
        "conflicts": conflicts.height,
    }
    if before is not None and before.height:
        positive = str(keel.project.target.positive)
        shift = label_rate_shift(stored[target], incoming[target], positive=positive)
        report["rate_shift"] = {
            "reference_rate": shift.reference_rate,
            "current_rate": shift.current_rate,
            "p_value": shift.p_value,
        }
    return report
