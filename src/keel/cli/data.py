"""``keel ingest`` and ``keel data``: bring batches in; list, compare and export versions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from keel.cli.context import open_project
from keel.cli.output import console, field_list, print_json, row_progress, table
from keel.data.ingest import BatchInput, Chunk, IngestResult, Progress, read_version
from keel.data.profile import Profile
from keel.data.versions import BatchKind, DatasetVersion
from keel.errors import InvalidInput
from keel.identity.roles import Role
from keel.store.sources import Source, SqlSource, open_source
from keel.wiring import Keel

app = typer.Typer(help="List, compare and export dataset versions.", no_args_is_help=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
CHUNK_ROWS = 500_000


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
    actor = keel.acting(Role.OPERATOR, action="ingesting data")
    reader = _reader(file, sql, query)
    with row_progress(f"ingesting {Path(reader.uri).name}", None, quiet=json) as progress:
        result = ingest_source(
            keel, reader, actor=actor.name, source=source, chunk_rows=chunk_rows, progress=progress
        )
    show_result(result, json=json)


def ingest_source(
    keel: Keel,
    reader: Source | SqlSource,
    *,
    actor: str,
    source: str = "",
    kind: BatchKind = BatchKind.FEATURES,
    chunk_rows: int = CHUNK_ROWS,
    progress: Progress | None = None,
) -> IngestResult:
    """Ingest everything ``reader`` yields as one batch of features (or labels)."""
    labels = kind is BatchKind.LABELS
    request = BatchInput(
        dataset=keel.labels_dataset if labels else keel.dataset,
        source=source or reader.format,
        uri=reader.uri,
        file_sha256=reader.file_sha256,
        from_text=reader.from_text,
        actor=actor,
        kind=kind,
    )
    chunks = (Chunk(frame, reader.from_text) for frame in reader.chunks(chunk_rows))
    ingestor = keel.labels_ingestor() if labels else keel.ingestor()
    return ingestor.ingest(request, chunks, progress=progress)


def _reader(file: Path | None, sql: str | None, query: str | None) -> Source | SqlSource:
    if (file is None) == (sql is None):
        raise InvalidInput("give either a FILE or --sql URL --query TEXT", path="file")
    if sql is not None:
        if not query:
            raise InvalidInput("--sql needs --query", path="query")
        return SqlSource(sql, query)
    assert file is not None
    return open_source(file)


def show_result(result: IngestResult, *, json: bool) -> None:
    """Print what happened to a batch: counts, reasons and the version it made."""
    if json:
        print_json(result.to_dict())
        return
    batch = result.batch
    if result.already_ingested:
        console.print(
            f"[yellow]already ingested[/] as batch {batch.id} (byte-identical file); no new version"
        )
        return
    reasons = ", ".join(f"{r['column']}: {r['code']} x{r['rows']:,}" for r in batch.row_reasons[:6])
    console.print(
        f"batch {batch.id} · {batch.rows:,} rows · {batch.accepted:,} accepted · "
        f"{batch.quarantined:,} quarantined" + (f" ({reasons})" if reasons else "")
    )
    if batch.reasons:
        text = "; ".join(r["message"] for r in batch.reasons)
        console.print(f"[red]batch rejected[/]: {text}; {batch.rows:,} rows kept in quarantine")
        for hint in {r["hint"] for r in batch.reasons if r.get("hint")}:
            console.print(f"[dim]hint:[/] {hint}")
    if result.version is not None:
        version = result.version
        console.print(
            f"[green]dataset {version.dataset} {version.label}[/] "
            f"(sha256 {version.sha256[:12]}…) · {version.rows:,} rows · profile stored"
        )


def parse_version(text: str) -> int:
    """'v7' or '7' -> 7."""
    digits = text[1:] if text.lower().startswith("v") else text
    if not digits.isdigit() or int(digits) < 1:
        raise InvalidInput(f"a version is written v1, v2, …; got {text!r}", path="version")
    return int(digits)


def _version(keel: Keel, text: str) -> DatasetVersion:
    with keel.reader() as unit:
        return unit.datasets.get(keel.dataset, parse_version(text))


@app.command("versions")
def versions(ctx: typer.Context, json: JsonFlag = False) -> None:
    """Every version of the project's dataset, oldest first."""
    keel = open_project(ctx)
    keel.acting(Role.VIEWER, action="listing dataset versions")
    with keel.reader() as unit:
        found = unit.datasets.list(keel.dataset)
    if json:
        print_json([v.to_dict() for v in found])
        return
    rows = [
        (
            v.label,
            f"{v.rows:,}",
            v.sha256[:12],
            ", ".join(sorted({p.batch_id for p in v.parts})[-3:]),
            v.batch_id,
            v.created_at.isoformat()[:19].replace("T", " "),
        )
        for v in found
    ]
    table(
        keel.dataset, ["version", "rows", "sha256", "batches (last 3)", "made by", "created"], rows
    )


@app.command("show")
def show(ctx: typer.Context, version: str, json: JsonFlag = False) -> None:
    """One version: hash, parts, the batches and source files it came from, its profile."""
    keel = open_project(ctx)
    keel.acting(Role.VIEWER, action="reading a dataset version")
    found = _version(keel, version)
    with keel.reader() as unit:
        sources = [unit.batches.get(b) for b in sorted({p.batch_id for p in found.parts})]
    profile = _profile(keel, found)
    if json:
        body = found.to_dict()
        body["sources"] = [{"batch": b.id, "uri": b.uri, "source": b.source} for b in sources]
        body["profile"] = profile.to_dict()
        print_json(body)
        return
    field_list(
        [
            ("version", f"{found.dataset} {found.label}"),
            ("sha256", found.sha256),
            ("rows", f"{found.rows:,}"),
            ("parent", f"v{found.parent}" if found.parent else "none"),
            ("columns", ", ".join(found.schema)),
        ]
    )
    table("lineage", ["batch", "source", "file"], [(b.id, b.source, b.uri) for b in sources])
    table("profile", ["column", "kind", "nulls", "min", "median", "max"], _profile_rows(profile))


def _profile(keel: Keel, version: DatasetVersion) -> Profile:
    return Profile.from_dict(orjson.loads(keel.rows.get_json(version.profile_digest)))


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
    keel = open_project(ctx)
    keel.acting(Role.VIEWER, action="comparing dataset versions")
    a, b = _version(keel, old), _version(keel, new)
    body = version_diff(a, b, _profile(keel, a), _profile(keel, b))
    if json:
        print_json(body)
        return
    console.print(
        f"{a.label} → {b.label}: rows {a.rows:,} → {b.rows:,} ({body['rows_added']:+,}); "
        f"batches added: {', '.join(body['batches_added']) or 'none'}"
    )
    for change in body["schema_changes"]:
        console.print(f"[yellow]schema[/] {change}")
    rows = [
        (c["column"], c["statistic"], _short(c["old"]), _short(c["new"]), c["change"])
        for c in body["columns"]
    ]
    table("column changes", ["column", "statistic", a.label, b.label, "change"], rows)


def version_diff(a: DatasetVersion, b: DatasetVersion, pa: Profile, pb: Profile) -> dict[str, Any]:
    """A JSON-ready comparison of two versions and their profiles."""
    batches_a = {p.batch_id for p in a.parts}
    schema_changes = [f"added column {n} ({t})" for n, t in b.schema.items() if n not in a.schema]
    schema_changes += [f"removed column {n}" for n in a.schema if n not in b.schema]
    schema_changes += [
        f"column {n}: {a.schema[n]} → {t}" for n, t in b.schema.items() if a.schema.get(n, t) != t
    ]
    return {
        "old": a.version,
        "new": b.version,
        "rows_added": b.rows - a.rows,
        "batches_added": sorted({p.batch_id for p in b.parts} - batches_a),
        "schema_changes": schema_changes,
        "columns": _column_changes(pa, pb),
    }


def _column_changes(pa: Profile, pb: Profile) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    for name, new in pb.columns.items():
        old = pa.columns.get(name)
        if old is None:
            continue
        pairs = {
            "null rate": (old.null_count / max(old.count, 1), new.null_count / max(new.count, 1)),
            "mean": (old.mean, new.mean),
            "median": (old.median, new.median),
        }
        for statistic, (x, y) in pairs.items():
            if x is None or y is None or x == y:
                continue
            relative = f"{(y - x) / abs(x):+.1%}" if x else f"{y - x:+.4g}"
            changes.append(
                {"column": name, "statistic": statistic, "old": x, "new": y, "change": relative}
            )
    return changes


@app.command("export")
def export(
    ctx: typer.Context,
    version: str,
    out: Annotated[Path, typer.Option("--out", help="A .parquet or .csv file to write.")],
    json: JsonFlag = False,
) -> None:
    """Write every row of a version to one file; the same version always gives the same rows."""
    keel = open_project(ctx)
    keel.acting(Role.VIEWER, action="exporting a dataset version")
    found = _version(keel, version)
    if out.suffix not in (".parquet", ".csv"):
        raise InvalidInput(f"--out must end in .parquet or .csv; got {out.name!r}", path="out")
    frame = read_version(keel.rows, found)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".csv":
        frame.write_csv(out)
    else:
        frame.write_parquet(out)
    if json:
        print_json({"version": found.version, "rows": frame.height, "out": str(out)})
        return
    console.print(f"wrote {frame.height:,} rows of {found.label} to {out}")
