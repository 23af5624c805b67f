"""``keel serve``, ``keel score``, ``keel predictions export`` and ``keel lineage``: parse, call
the use case of ``keel.app.serving`` or ``keel.app.queries``, render.

``keel.app.serving`` assembles the whole data plane (FastAPI, the model stack), so each command
imports it when it runs: every other ``keel`` command starts without paying for it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from keel.cli.context import open_project
from keel.cli.errors import EXIT_REFUSED_DATA
from keel.cli.lazy import lazy
from keel.cli.output import print_json, row_progress, say
from keel.serving import settings as serve_settings
from keel.serving.settings import ServeSettings

if TYPE_CHECKING:
    from keel.app import queries
else:
    queries = lazy("keel.app.queries")


JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


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
    executor: Annotated[
        str, typer.Option(help="Where chunks are scored: local, or ray (tasks on a Ray cluster).")
    ] = "local",
    ray_address: Annotated[
        str | None,
        typer.Option(
            envvar="KEEL_RAY_ADDRESS",
            help="Ray cluster to join (default: start a local one).",
        ),
    ] = None,
    json: JsonFlag = False,
) -> None:
    """Score a file or a dataset version with the champion (or --model), writing Parquet."""
    from keel.app import serving as use  # noqa: PLC0415 - see the module docstring

    request = use.ScoreRequest(
        out=out,
        file=file,
        data=data,
        model=model,
        rejects=rejects,
        chunk_rows=chunk_rows,
        executor=executor,
        ray_address=ray_address,
    )
    scored = use.score(
        open_project(ctx), request, lambda total: row_progress("scoring", total, quiet=json)
    )
    if json:
        print_json(scored.to_dict())
    else:
        _print_scored(scored, out)
    if scored.summary.scored == 0:
        raise typer.Exit(EXIT_REFUSED_DATA)


def _print_scored(scored: Any, out: Path) -> None:
    summary = scored.summary
    decisions = ", ".join(f"{k} {v:,}" for k, v in sorted(summary.decisions.items()))
    say(
        "{}",
        f"scored {summary.scored:,} of {summary.rows_in:,} rows with {scored.model}"
        f" in {summary.seconds:.1f} s → {out}" + (f" · {decisions}" if decisions else ""),
    )
    if summary.rejected:
        say(
            "{}", f"{summary.rejected:,} rows failed the contract → {scored.rejects} (with reasons)"
        )


def _with_settings(command: Callable[..., None]) -> Callable[..., None]:
    """``command(ctx, settings)`` as a Typer command with one option per field of
    ``ServeSettings``: flag, type, default, bounds and help all come from its declaration."""
    options = [
        inspect.Parameter(
            found.name,
            inspect.Parameter.KEYWORD_ONLY,
            default=found.default,
            annotation=Annotated[type(found.default), _typer_option(found)],
        )
        for found in serve_settings.fields()
    ]
    context = inspect.Parameter(
        "ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context
    )

    def run(ctx: typer.Context, **values: Any) -> None:
        command(ctx, ServeSettings(**values))

    run.__signature__ = inspect.Signature([context, *options])  # type: ignore[attr-defined]
    run.__annotations__ = {"ctx": typer.Context} | {p.name: p.annotation for p in options}
    run.__name__, run.__doc__ = command.__name__, command.__doc__
    return run


def _typer_option(found: Any) -> Any:
    setting = serve_settings.setting_of(found)
    return typer.Option(setting.flag, help=setting.doc, min=setting.min, max=setting.max)


@_with_settings
def serve(ctx: typer.Context, settings: ServeSettings) -> None:
    """Serve predictions over HTTP; each worker follows the release and logs every answer."""
    from keel.app import serving as use  # noqa: PLC0415 - see the module docstring

    keel = open_project(ctx)
    service = use.serve(keel, settings)
    keel.close()
    say("{}", f"serving {service.project} on {service.url} ({settings.workers} worker(s))")
    service.run()


predictions_app = typer.Typer(help="The durable prediction log.", no_args_is_help=True)


@predictions_app.command("export")
def export_predictions(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="Parquet file to write.")] = Path("predictions.parquet"),
    json: JsonFlag = False,
) -> None:
    """Every logged prediction, one row each (request_id, prediction_id, model, inputs, …)."""
    from keel.app import serving as use  # noqa: PLC0415 - see the module docstring

    exported = use.export_predictions(open_project(ctx), out)
    if json:
        print_json(exported.to_dict())
    else:
        say("{}", f"{exported.rows:,} predictions → {out}")


def _later(trace: queries.Lineage) -> None:
    """What happened after the answer: the review item and the outcomes reported."""
    item = trace.review
    if item is not None:
        settled = f" → {item.resolution}" if item.resolution else ""
        say(
            "  ├ review item {} · {} · {}{}",
            item.id,
            item.reason.value,
            item.state.value,
            settled,
        )
    for outcome in trace.outcomes:
        label = "" if outcome.label is None else f" label {outcome.label:g}"
        decided = f" decision {outcome.decision}" if outcome.decision else ""
        say("  ├ outcome {}{}{} · source {}", outcome.time, label, decided, outcome.source or "?")


def lineage(ctx: typer.Context, prediction_id: str, json: JsonFlag = False) -> None:
    """Trace a prediction: model version → run → dataset version → source batches."""
    trace = queries.lineage(open_project(ctx), prediction_id)
    if json:
        print_json(trace.to_dict())
        return
    prediction = trace.prediction
    say(
        "{}",
        f"prediction {prediction.prediction_id} · request {prediction.request_id} ·"
        f" {prediction.time} · entity {prediction.entity_id} · score"
        f" {prediction.score} · decision {prediction.decision}"
        + (f" · policy {prediction.policy}" if prediction.policy else "")
        + (f" ({trace.policy_version})" if trace.policy_version else ""),
    )
    _later(trace)
    model, version = trace.model, trace.dataset_version
    if model is None or version is None:
        say("{}", f"  answered by no model ({prediction.fallback})")
        return
    say("{}", f"  └ model {model.model} · sha256 {model.model_sha256[:12]}…")
    say("{}", f"    └ run {model.run_id} · data v{model.data_version}")
    say("{}", f"      └ dataset {version.label} · sha256 {version.sha256[:12]}…")
    for batch in trace.batches:
        say("{}", f"        └ batch {batch.id} · {batch.source} · {batch.uri}")
