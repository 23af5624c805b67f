"""``keel quarantine``: the rows that did not reach a dataset, their reasons, and replay."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from keel.cli.context import open_project
from keel.cli.data import JsonFlag, exit_if_rejected, show_result
from keel.cli.lazy import lazy
from keel.cli.output import print_json, row_progress, say, table

if TYPE_CHECKING:
    from keel.app import data as use
    from keel.data import reasons
else:
    use = lazy("keel.app.data")
    reasons = lazy("keel.data.reasons")


app = typer.Typer(help="Rows held back with their reasons; replay them.", no_args_is_help=True)


@app.command("list")
def list_(
    ctx: typer.Context,
    all_batches: Annotated[
        bool, typer.Option("--all", help="Also batches whose quarantine is empty or replayed.")
    ] = False,
    json: JsonFlag = False,
) -> None:
    """Batches that hold rows in quarantine, newest first."""
    batches = use.list_quarantine(open_project(ctx), all_batches=all_batches)
    if json:
        print_json([b.to_dict() for b in batches])
        return
    rows = [
        (
            b.id,
            b.status.value,
            f"{b.quarantined:,}",
            f"{b.rows:,}",
            "; ".join(r["code"] for r in b.reasons) or "rows only",
            b.replayed_by or "",
            b.uri,
        )
        for b in batches
    ]
    columns = ["batch", "status", "quarantined", "rows", "batch reasons", "replayed by", "source"]
    table("quarantine", columns, rows, ids=(0, 5))


@app.command("show")
def show(
    ctx: typer.Context,
    batch_id: str,
    limit: Annotated[int, typer.Option(min=1, help="Rows to print.")] = 20,
    json: JsonFlag = False,
) -> None:
    """A batch's quarantined rows: raw values and every reason each row failed."""
    found = use.show_quarantine(open_project(ctx), batch_id, limit=limit)
    if json:
        print_json(found.to_dict())
        return
    batch, rows = found.batch, found.rows
    say(
        "batch {} · {} · {:,} of {:,} rows in quarantine · from {}",
        *(batch.id, batch.status.value, batch.quarantined, batch.rows, batch.uri),
    )
    for reason in batch.reasons:
        say("[red]batch[/] {}: {}", reason["code"], reason["message"])
    counts = [(r["column"], r["code"], f"{r['rows']:,}") for r in batch.row_reasons]
    if counts:
        table("row reasons", ["column", "reason", "rows"], counts)
    if rows.height:
        shown = [
            (row[reasons.ROW_COLUMN], _reasons_text(row[reasons.REASONS_COLUMN]))
            for row in rows.select(reasons.ROW_COLUMN, reasons.REASONS_COLUMN).iter_rows(named=True)
        ]
        table(f"first {rows.height} rows", ["row", "reasons (column: code = value)"], shown)


def _reasons_text(reasons: list[dict[str, str]] | None) -> str:
    if not reasons:
        return "(row passed; held by the batch reasons)"
    return "; ".join(f"{r['column']}: {r['code']} = {r['value']!r}" for r in reasons)


@app.command("replay")
def replay(ctx: typer.Context, batch_id: str, json: JsonFlag = False) -> None:
    """Validate a quarantined batch again under the current contract; what passes moves on."""
    keel = open_project(ctx)
    with row_progress(f"replaying {batch_id}", None, quiet=json) as progress:
        result = use.replay(keel, batch_id, progress=progress)
    show_result(result, json=json)
    exit_if_rejected(result)
