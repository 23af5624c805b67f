"""``keel score``: batch scoring with the serving model, streamed in chunks with a progress bar."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from keel.cli.context import open_project
from keel.cli.data import JsonFlag, parse_version
from keel.cli.output import console, print_json, row_progress
from keel.data.ingest import iter_version
from keel.decisions import DecisionPolicy
from keel.errors import Conflict, InvalidInput, NotFound
from keel.identity.roles import Role
from keel.registry.versions import parse_version_ref
from keel.store.sources import open_source
from keel.wiring import Keel

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


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to bind; 0.0.0.0 exposes the service.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
    max_body_bytes: Annotated[int, typer.Option(min=1024, help="Larger bodies get 413.")] = (
        1_048_576
    ),
    timeout: Annotated[float, typer.Option(min=0.1, help="Seconds per request (then 503).")] = 10.0,
    budget_ms: Annotated[
        float, typer.Option(min=0.0, help="A model slower than this falls back (0: no budget).")
    ] = 250.0,
    max_inflight: Annotated[
        int, typer.Option(min=1, help="Requests in flight per worker before 503.")
    ] = 512,
    durability: Annotated[
        str, typer.Option(help="fsync: a power cut loses nothing acknowledged; write: a crash.")
    ] = "fsync",
    poll: Annotated[float, typer.Option(min=0.05, help="Seconds between release checks.")] = 1.0,
) -> None:
    """Serve predictions over HTTP; each worker follows the release and logs every answer."""
    import os  # noqa: PLC0415

    import uvicorn  # noqa: PLC0415 - the web stack loads only for this command

    from keel.serving.app import ServeLimits  # noqa: PLC0415
    from keel.serving.server import OPTIONS_VARIABLE, ServeOptions  # noqa: PLC0415

    if durability not in ("fsync", "write"):
        raise InvalidInput("expected fsync or write", path="durability")
    keel = open_project(ctx)
    keel.acting(Role.OPERATOR, action="serving")
    options = ServeOptions(
        limits=ServeLimits(
            max_body_bytes=max_body_bytes,
            request_timeout_seconds=timeout,
            max_inflight=max_inflight,
        ),
        budget_ms=budget_ms,
        poll_seconds=poll,
        durability=durability,  # type: ignore[arg-type]
    )
    os.environ["KEEL_PROJECT"] = str(keel.settings.project_dir)
    os.environ[OPTIONS_VARIABLE] = options.to_json()
    keel.close()
    console.print(f"serving {keel.project.name} on http://{host}:{port} ({workers} worker(s))")
    uvicorn.run(
        "keel.serving.server:from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=30,
    )


predictions_app = typer.Typer(help="The durable prediction log.", no_args_is_help=True)


@predictions_app.command("export")
def export_predictions(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="Parquet file to write.")] = Path("predictions.parquet"),
    json: JsonFlag = False,
) -> None:
    """Every logged prediction, one row each (request_id, prediction_id, model, inputs, …)."""
    from keel.serving.server import prediction_log  # noqa: PLC0415

    keel = open_project(ctx)
    keel.acting(Role.VIEWER, action="exporting predictions")
    log = prediction_log(keel)
    try:
        log.seal()  # segments no server writes any more become Parquet parts first
        rows = log.export(out)
    finally:
        log.close()
    if json:
        print_json({"rows": rows, "out": str(out)})
    else:
        console.print(f"{rows:,} predictions → {out}")


def lineage(ctx: typer.Context, prediction_id: str, json: JsonFlag = False) -> None:
    """Trace a prediction: model version → run → dataset version → source batches."""
    import polars as pl  # noqa: PLC0415

    from keel.serving.server import prediction_log  # noqa: PLC0415

    keel = open_project(ctx)
    keel.acting(Role.VIEWER, action="reading lineage")
    log = prediction_log(keel)
    try:
        found = log.scan().filter(pl.col("prediction_id") == prediction_id).collect()
    finally:
        log.close()
    if found.is_empty():
        raise NotFound("prediction", prediction_id, hint="'keel predictions export' lists them")
    row = found.row(0, named=True)
    trace = _trace(keel, row)
    if json:
        print_json(trace)
        return
    prediction = trace["prediction"]
    console.print(
        f"prediction {prediction['prediction_id']} · request {prediction['request_id']} ·"
        f" {prediction['time']} · entity {prediction['entity_id']} · score"
        f" {prediction['score']} · decision {prediction['decision']}"
    )
    model = trace.get("model")
    if model is None:
        console.print(f"  answered by no model ({prediction['fallback']})")
        return
    console.print(f"  └ model {model['model']} · sha256 {model['model_sha256'][:12]}…")
    console.print(f"    └ run {model['run_id']} · data v{model['data_version']}")
    version = trace["dataset_version"]
    console.print(f"      └ dataset {version['label']} · sha256 {version['sha256'][:12]}…")
    for batch in trace["batches"]:
        console.print(f"        └ batch {batch['id']} · {batch['source']} · {batch['uri']}")


def _trace(keel: Keel, row: dict[str, Any]) -> dict[str, Any]:
    prediction = {k: (str(v) if k == "time" else v) for k, v in row.items() if k != "inputs"}
    trace: dict[str, Any] = {"prediction": prediction, "inputs": row.get("inputs")}
    label = row.get("model")
    if not label:
        return trace
    number = parse_version_ref(str(label), keel.project.name)
    with keel.reader() as unit:
        model = unit.models.get(keel.project.name, number)
        version = unit.datasets.get(keel.dataset, model.data_version)
        batches = [unit.batches.get(b) for b in sorted({p.batch_id for p in version.parts})]
    trace["model"] = {
        "model": model.label,
        "model_sha256": model.model_sha256,
        "run_id": model.run_id,
        "data_version": model.data_version,
        "labels_version": model.labels_version,
    }
    trace["dataset_version"] = {"label": version.label, "sha256": version.sha256}
    trace["batches"] = [
        {"id": b.id, "source": b.source, "uri": b.uri, "file_sha256": b.file_sha256}
        for b in batches
    ]
    return trace
