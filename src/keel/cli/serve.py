"""``keel score``: batch scoring with the serving model, streamed in chunks with a progress bar."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from keel.cli.context import open_project
from keel.cli.data import JsonFlag, parse_version
from keel.cli.output import console, print_json, row_progress
from keel.data.ingest import iter_version
from keel.decisions import DecisionPolicy
from keel.errors import Conflict, InvalidInput
from keel.identity.roles import Role
from keel.registry.versions import parse_version_ref
from keel.store.sources import open_source

if TYPE_CHECKING:
    from keel.registry.service import Registry


def score(
    ctx: typer.Context,
    file: Annotated[
        Path | None, typer.Argument(help="CSV, Parquet or JSONL file to score.")
    ] = None,
    out: Annotated[Path, typer.Option(help="Parquet file for scores and decisions.")] = Path(
        "scored.parquet"
    ),
    data: Annotated[
        str | None, typer.Option(help="Score a dataset version instead of a file, e.g. v3.")
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Model version (default: the current champion).")
    ] = None,
    rejects: Annotated[
        Path | None,
        typer.Option(help="Parquet file for rows failing the contract (default: OUT.rejected)."),
    ] = None,
    chunk_rows: Annotated[int, typer.Option(min=1_000, help="Rows per chunk.")] = 200_000,
    json: JsonFlag = False,
) -> None:
    """Score a file or a dataset version with the champion (or --model), writing Parquet."""
    from keel.serving.batch import BatchScorer  # noqa: PLC0415 - the model stack is heavy

    if (file is None) == (data is None):
        raise InvalidInput("give a FILE or --data VERSION (one of them)", path="file")
    keel = open_project(ctx)
    keel.acting(Role.VIEWER, action="scoring")
    registry = keel.registry()
    version = parse_version_ref(model, keel.project.name) if model else _champion(registry)
    bundle = registry.bundle(version)
    scorer = BatchScorer(
        bundle=bundle,
        model=f"{keel.project.name}/v{version}",
        schema=keel.data_schema(),
        policy=DecisionPolicy.parse(keel.project.decisions.model_dump()),
    )
    rejects = rejects or out.with_name(out.stem + ".rejected.parquet")
    if data is not None:
        with keel.reader() as unit:
            dataset = unit.datasets.get(keel.dataset, parse_version(data))
        chunks, total, checked, from_text = (
            iter_version(keel.rows, dataset),
            dataset.rows,
            True,
            False,
        )
    else:
        assert file is not None
        source = open_source(file)
        chunks, total, checked, from_text = source.chunks(chunk_rows), None, False, source.from_text
    with row_progress("scoring", total, quiet=json) as progress:
        summary = scorer.run(
            chunks,
            out=out,
            rejects=rejects,
            checked=checked,
            from_text=from_text,
            progress=progress,
        )
    body = {
        **summary.to_dict(),
        "model": scorer.model,
        "out": str(out),
        "rejects": str(rejects) if summary.rejected else None,
    }
    if json:
        print_json(body)
        return
    decisions = ", ".join(f"{k} {v:,}" for k, v in sorted(summary.decisions.items()))
    console.print(
        f"scored {summary.scored:,} of {summary.rows_in:,} rows with {scorer.model}"
        f" in {summary.seconds:.1f} s → {out}" + (f" · {decisions}" if decisions else "")
    )
    if summary.rejected:
        console.print(f"{summary.rejected:,} rows failed the contract → {rejects} (with reasons)")


def _champion(registry: Registry) -> int:
    head, _ = registry.status()
    if head is None or head.state.champion is None:
        raise Conflict("no champion is released", hint="pass --model VERSION, or promote one first")
    return int(head.state.champion)
