"""``keel ingest`` and ``keel data``: bring batches in; list, compare and export versions."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from keel.cli.context import open_project
from keel.cli.errors import EXIT_REFUSED_DATA
from keel.cli.lazy import lazy
from keel.cli.output import field_list, print_json, row_progress, say, table

if TYPE_CHECKING:
    from keel.app import data as use
    from keel.data import refs
    from keel.data.ingest import IngestResult
    from keel.data.profile import Profile
else:
    use = lazy("keel.app.data")
    refs = lazy("keel.data.refs")


__all__ = ["JsonFlag", "app", "exit_if_rejected", "ingest", "parse_version", "show_result"]

app = typer.Typer(help="List, compare and export dataset versions.", no_args_is_help=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
CHUNK_ROWS = 500_000
"""The default of ``--chunk-rows``: ``keel.app.data.CHUNK_ROWS``, written here so that building
the command tree does not import the data plane (a test checks that they agree)."""


def parse_version(text: str) -> int:
    """A dataset version as typed on the command line (``v3`` or ``3``)."""
    return refs.parse_version(text)


def ingest(
    ctx: typer.Context,
    file: Annotated[Path | None, typer.Argument(help="A .csv, .parquet or .jsonl file.")] = None,
    source: Annotated[str, typer.Option(help="Name of the producer, kept with the batch.")] = "",
    sql: Annotated[
        str | None, typer.Option(help="Read from this SQLAlchemy URL instead of a file.")
    ] = None,
    query: Annotated[str | None, typer.Option(help="The SQL query, with --sql.")] = None,
    chunk_rows: Annotated[int, typer.Option(min=1, help="Rows validated at a time.")] = CHUNK_ROWS,
    json: JsonFlag = False,
) -> None:
    """Validate a batch against the contract; accepted rows make a new dataset version."""
    keel = open_project(ctx)
    batch = use.BatchFrom(file=file, sql=sql, query=query)
    with row_progress(f"ingesting {batch.name}", None, quiet=json) as progress:
        result = use.ingest(keel, batch, source=source, chunk_rows=chunk_rows, progress=progress)
    show_result(result, json=json)
    exit_if_rejected(result)


def exit_if_rejected(result: IngestResult) -> None:
    """Exit ``EXIT_REFUSED_DATA`` once the report is printed, when the batch was rejected whole."""
    if result.batch.reasons and not result.already_ingested:
        raise typer.Exit(EXIT_REFUSED_DATA)


def show_result(result: IngestResult, *, json: bool) -> None:
    """Print what happened to a batch: counts, reasons and the version it made."""
    if json:
        print_json(result.to_dict())
        return
    batch = result.batch
    if result.already_ingested:
        say(
            "[yellow]already ingested[/] as batch {} (byte-identical file); no new version",
            batch.id,
        )
        return
    reasons = ", ".join(f"{r['column']}: {r['code']} x{r['rows']:,}" for r in batch.row_reasons[:6])
    say(
        "batch {} · {:,} rows · {:,} accepted · {:,} quarantined{}",
        *(batch.id, batch.rows, batch.accepted, batch.quarantined),
        f" ({reasons})" if reasons else "",
    )
    if batch.reasons:
        text = "; ".join(r["message"] for r in batch.reasons)
        say("[red]batch rejected[/]: {}; {:,} rows kept in quarantine", text, batch.rows)
        for hint in {r["hint"] for r in batch.reasons if r.get("hint")}:
            say("[dim]hint:[/] {}", hint)
    if result.version is not None:
        version = result.version
        say(
            "[green]dataset {} {}[/] (sha256 {}…) · {:,} rows · profile stored",
            *(version.dataset, version.label, version.sha256[:12], version.rows),
        )


@app.command("versions")
def versions(ctx: typer.Context, json: JsonFlag = False) -> None:
    """Every version of the project's dataset, oldest first."""
    import os  # noqa: PLC0415

    from keel.app import remote as remote_plane  # noqa: PLC0415

    if (remote := remote_plane.remote_from(os.environ)) is not None:
        dataset, found = remote_plane.project_name(remote), remote_plane.list_versions(remote)
        origins = None if json else tuple(remote_plane.version_origins(remote))
    else:
        keel = open_project(ctx)
        dataset, found = keel.dataset, use.list_versions(keel)
        origins = None if json else use.version_origins(keel)
    if json or origins is None:
        print_json([v.to_dict() for v in found])
        return
    made_by = {origin.version: origin.text for origin in origins}
    rows = [
        (
            v.label,
            f"{v.rows:,}",
            v.sha256[:12],
            ", ".join(sorted({p.batch_id for p in v.parts})[-3:]),
            made_by.get(v.version, v.batch_id),
            v.created_at.isoformat()[:19].replace("T", " "),
        )
        for v in found
    ]
    table(dataset, ["version", "rows", "sha256", "batches (last 3)", "made by", "created"], rows)


@app.command("show")
def show(ctx: typer.Context, version: str, json: JsonFlag = False) -> None:
    """One version: hash, parts, the batches and source files it came from, its profile."""
    detail = use.show_version(open_project(ctx), version)
    if json:
        print_json(detail.to_dict())
        return
    found = detail.version
    field_list(
        [
            ("version", f"{found.dataset} {found.label}"),
            ("sha256", found.sha256),
            ("rows", f"{found.rows:,}"),
            ("parent", f"v{found.parent}" if found.parent else "none"),
            ("columns", ", ".join(found.schema)),
        ]
    )
    table(
        "lineage", ["batch", "source", "file"], [(s.batch, s.source, s.uri) for s in detail.sources]
    )
    table(
        "profile",
        ["column", "kind", "nulls", "min", "median", "max"],
        _profile_rows(detail.profile),
    )


def _profile_rows(profile: Profile) -> list[tuple[Any, ...]]:
    return [
        (
            name,
            column.kind,
            f"{column.null_count / column.count:.1%}" if column.count else "",
            _short(column.min),
            _short(column.median),
            _short(column.max),
        )
        for name, column in profile.columns.items()
    ]


def _short(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)[:19]


@app.command("diff")
def diff(ctx: typer.Context, old: str, new: str, json: JsonFlag = False) -> None:
    """What changed between two versions: rows, batches, schema, per-column statistics."""
    found = use.diff_versions(open_project(ctx), old, new)
    if json:
        print_json(found.to_dict())
        return
    a, b = found.before, found.after
    say(
        "{} → {}: rows {:,} → {:,} ({:+,}); batches added: {}",
        *(a.label, b.label, a.rows, b.rows, found.rows_added),
        ", ".join(found.batches_added) or "none",
    )
    for change in found.schema_changes:
        say("[yellow]schema[/] {}", change)
    rows = [(c.column, c.statistic, _short(c.old), _short(c.new), c.change) for c in found.columns]
    table("column changes", ["column", "statistic", a.label, b.label, "change"], rows)


@app.command("export")
def export(
    ctx: typer.Context,
    version: str,
    out: Annotated[Path, typer.Option("--out", help="A .parquet or .csv file to write.")],
    json: JsonFlag = False,
) -> None:
    """Write every row of a version to one file; the same version always gives the same rows."""
    written = use.export_version(open_project(ctx), version, out)
    if json:
        print_json(written.to_dict())
        return
    say("wrote {:,} rows of {} to {}", written.rows, written.label, out)
