"""``keel labels ingest``: targets that arrive after the features, keyed by entity id."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from keel.cli.context import open_project
from keel.cli.data import JsonFlag, show_result
from keel.cli.lazy import lazy
from keel.cli.output import print_json, row_progress, say

if TYPE_CHECKING:
    from keel.app import data as use
else:
    use = lazy("keel.app.data")


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
    with row_progress(f"ingesting labels {file.name}", None, quiet=json) as progress:
        found = use.ingest_labels(keel, file, source=source, progress=progress)
    if json:
        print_json(found.to_dict())
        return
    show_result(found.result, json=False)
    report = found.labels
    say(
        "{}",
        f"label coverage {report.coverage:.1%} of {report.feature_rows:,} feature rows · "
        f"{report.orphan_labels:,} labels without features · "
        f"{report.conflicts:,} entities with conflicting labels",
    )
    shift = report.rate_shift
    if shift:
        say(
            "{}",
            f"positive rate {shift.reference_rate:.3f} → {shift.current_rate:.3f} "
            f"(p = {shift.p_value:.3g})",
        )
