"""``keel train``, ``keel runs``, ``keel reproduce``, ``keel explain`` and ``keel tune``: the faces
of ``keel.app.training``.

The training stack (LightGBM, scikit-learn) is imported inside the use cases that need it, so
that every other ``keel`` command starts in a fraction of the time.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from keel.cli.context import open_project
from keel.cli.data import JsonFlag, parse_version
from keel.cli.lazy import lazy
from keel.cli.output import (
    console,
    field_list,
    interval,
    print_json,
    printable,
    row_progress,
    say,
    table,
)
from keel.errors import InvalidInput

if TYPE_CHECKING:
    from keel.app import training as use
else:
    use = lazy("keel.app.training")

app = typer.Typer(help="List, show and compare training runs.", no_args_is_help=True)


def parse_params(pairs: list[str] | None) -> dict[str, Any]:
    """``name=value`` pairs; values parsed as JSON where they can be (numbers, true, lists)."""
    params: dict[str, Any] = {}
    for pair in pairs or []:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise InvalidInput(f"--param takes name=value; got {pair!r}", path="param")
        try:
            params[name] = orjson.loads(text)
        except orjson.JSONDecodeError:
            params[name] = text
    return params


def train(
    ctx: typer.Context,
    data: Annotated[str | None, typer.Option(help="Dataset version (default: latest).")] = None,
    param: Annotated[
        list[str] | None, typer.Option(help="Override a model parameter: name=value.")
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(min=0, max=2**31 - 1, help="Override model.seed (with --seeds: the first)."),
    ] = None,
    seeds: Annotated[
        int | None,
        typer.Option(
            min=2,
            max=64,
            help="Train this many runs with consecutive seeds; print each metric's spread.",
        ),
    ] = None,
    executor: Annotated[
        str, typer.Option(help="Where --seeds runs train: local, or ray (one task per seed).")
    ] = "local",
    ray_address: Annotated[
        str | None,
        typer.Option(
            envvar="KEEL_RAY_ADDRESS", help="Ray cluster to join (default: start a local one)."
        ),
    ] = None,
    json: JsonFlag = False,
) -> None:
    """Train on a dataset version with keel.yaml's recipe; evaluate on the frozen benchmarks."""
    keel = open_project(ctx)
    version = parse_version(data) if data else None
    params = parse_params(param)
    if seeds is None:
        if executor != "local":
            raise InvalidInput(
                "--executor applies to --seeds: a single run trains in this process",
                path="executor",
                hint="add --seeds N to train N seeds on the cluster",
            )
        with console.status("training", spinner="dots") as status:
            summary = use.train(
                keel, data_version=version, params=params, seed=seed, say=status.update
            )
        show_run(summary, json=json)
        return

    def progress(total: int) -> AbstractContextManager[Callable[[int], None]]:
        return row_progress(f"training {total} seeds", total, quiet=json, unit="runs")

    sweep = use.train_seeds(
        keel,
        seeds=seeds,
        seed=seed,
        data_version=version,
        params=params,
        progress=progress,
        executor=executor,
        ray_address=ray_address,
    )
    show_sweep(sweep, json=json)


def show_sweep(summary: use.SeedSweepSummary, *, json: bool) -> None:
    """Each seed's run, then each metric's mean, standard deviation and range over the seeds."""
    body = summary.to_dict()
    if json:
        print_json(body)
        return
    runs = [(r["run_id"], str(r["seed"]), r["status"]) for r in body["runs"]]
    table(f"seeds {body['group']}", ["run", "seed", "status"], runs, ids=(0,))
    for seed, why in body["failed"].items():
        say("[red]seed {} failed:[/] {}", seed, why)
    rows = [
        (
            s["benchmark"],
            s["metric"],
            f"{s['mean']:.4f}",
            "-" if s["sd"] is None else f"{s['sd']:.4f}",
            f"{s['min']:.4f} .. {s['max']:.4f}",
            str(s["n"]),
        )
        for s in body["spread"]
    ]
    table("spread over the seeds", ["benchmark", "metric", "mean", "sd", "range", "runs"], rows)
    say("{}", f"runs tagged seeds:{body['group']} · keel runs list")
    if body["failed"]:
        raise typer.Exit(1)


def show_run(summary: use.RunSummary, *, json: bool) -> None:
    """The outcome of a run: its benchmark table, slices and where the card is."""
    if json:
        print_json(summary.to_dict())
        return
    run = summary.run
    env = run.environment
    code = (
        f"code {env.code_version[:7]} ({'dirty' if env.code_dirty else 'clean'})"
        if env.code_version
        else "code: not a git checkout"
    )
    say("{}", f"run {run.id} · data v{run.data_version} · {code} · {run.duration_s or 0:.1f} s")
    for name, metrics in run.metrics.get("benchmarks", {}).items():
        rows = [
            (m, f"{e['value']:.4f}", interval(e), e.get("method", ""), f"{e['n']:,}")
            for m, e in metrics.items()
        ]
        table(f"benchmark '{name}'", ["metric", "value", "interval", "method", "rows"], rows)
    say("{}", f"model sha256 {run.model_sha256} · card: keel runs card {run.id}")


@app.command("list")
def list_runs(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, help="How many, newest first.")] = 20,
    json: JsonFlag = False,
) -> None:
    """Training runs, newest first."""
    from keel.app import remote as remote_plane  # noqa: PLC0415

    if (remote := remote_plane.remote_from(os.environ)) is not None:
        project = remote_plane.project_name(remote)
        summaries = remote_plane.list_runs(remote, limit=limit)
    else:
        keel = open_project(ctx)
        project, summaries = keel.project.name, use.list_runs(keel, limit=limit)
    if json:
        print_json([s.to_dict() for s in summaries])
        return
    columns = ["run", "status", "data", "model", "first metric", "time", "model sha256", "parent"]
    table(project, columns, [_listed(s) for s in summaries], ids=(0, 7))


def _listed(summary: use.RunSummary) -> tuple[str, ...]:
    run = summary.run
    first = next(iter(summary.metrics.items()), ("", None))
    return (
        run.id,
        run.status.value,
        f"v{run.data_version}",
        run.params.get("model", {}).get("kind", ""),
        f"{first[0]} {first[1]:.4f}" if first[1] is not None else "",
        f"{run.duration_s:.1f} s" if run.duration_s else "",
        (run.model_sha256 or "")[:12],
        run.parent or "",
    )


@app.command("show")
def show(ctx: typer.Context, run_id: str, json: JsonFlag = False) -> None:
    """One run: inputs, environment, metrics, artifacts, logs."""
    summary = use.show_run(open_project(ctx), run_id)
    if json:
        print_json(summary.to_dict())
        return
    run = summary.run
    field_list(
        [
            ("run", f"{run.id} ({run.status.value})"),
            ("data", f"v{run.data_version}, labels {run.labels_version or 'in data'}"),
            ("seed", run.seed),
            ("model", orjson.dumps(run.params.get("model", {})).decode()),
            ("environment", orjson.dumps(run.environment.to_dict()).decode()),
            ("artifacts", ", ".join(f"{k} {v[:12]}" for k, v in run.artifacts.items())),
            ("error", run.error or ""),
        ]
    )
    show_run(summary, json=False)
    if run.logs:
        say("{}", run.logs)


@app.command("card")
def card(
    ctx: typer.Context,
    run_id: str,
    out: Annotated[Path | None, typer.Option(help="Write the HTML card here.")] = None,
) -> None:
    """Print a run's model card (Markdown), or write its HTML version with --out."""
    keel = open_project(ctx)
    if out is None:
        typer.echo(printable(use.card(keel, run_id).text))
        return
    out.write_bytes(use.card(keel, run_id, form="html").content)
    say("{}", f"wrote {out}")


@app.command("compare")
def compare(ctx: typer.Context, first: str, second: str, json: JsonFlag = False) -> None:
    """Metric differences between two runs on the same benchmark sets, with both intervals."""
    found = use.compare(open_project(ctx), first, second)
    if json:
        print_json(found.to_dict())
        return
    for change in found.params:
        say("[yellow]param[/] {}: {} → {}", change.name, change.a, change.b)
    table(
        f"{found.a} → {found.b}",
        ["benchmark", "metric", found.a, found.b, "Δ"],
        [
            (m.benchmark, m.metric, _interval(m.a), _interval(m.b), f"{m.delta:+.4f}")
            for m in found.metrics
        ],
    )


def _interval(estimate: dict[str, Any]) -> str:
    return f"{estimate['value']:.4f} {interval(estimate)}"


def reproduce(ctx: typer.Context, run_id: str, json: JsonFlag = False) -> None:
    """Train again from a run's recorded data, recipe and seed; compare the model checksums."""
    keel = open_project(ctx)
    with console.status("reproducing", spinner="dots") as status:
        found = use.reproduce(keel, run_id, say=status.update)
    if json:
        print_json(found.to_dict())
    elif found.identical:
        say("[green]identical[/]: {} reproduced {} byte for byte", found.reproduction, found.run_id)
    else:
        say("[red]different[/]: {} vs {}", found.original_sha256, found.reproduced_sha256)
        for line in found.differences or (
            "same data, recipe and environment: training is not deterministic",
        ):
            say("{}", f"  {line}")
    if not found.identical:
        raise typer.Exit(1)


def explain(
    ctx: typer.Context,
    run_id: str,
    rows: Annotated[int, typer.Option(min=1, help="How many rows to explain.")] = 5,
    file: Annotated[Path | None, typer.Option(help="Explain rows of this file instead.")] = None,
    top: Annotated[int, typer.Option(min=1, help="Contributions shown per row.")] = 5,
    json: JsonFlag = False,
) -> None:
    """Per-row feature contributions (TreeSHAP for LightGBM, coefficient x value for linear)."""
    found = use.explain(open_project(ctx), run_id, rows=rows, file=file, top=top)
    if json:
        print_json(found.to_dict())
        return
    for row in found.rows:
        parts = ", ".join(f"{c} {v:+.3f}" for c, v in row.contributions)
        say("{}", f"{row.id}: score {row.score:.3f} · {parts}")


def tune(
    ctx: typer.Context,
    trials: Annotated[
        int | None, typer.Option(min=1, help="Trials (default: model.search).")
    ] = None,
    executor: Annotated[
        str, typer.Option(help="Where trials train: local, or ray (tasks on a Ray cluster).")
    ] = "local",
    ray_address: Annotated[
        str | None,
        typer.Option(
            envvar="KEEL_RAY_ADDRESS", help="Ray cluster to join (default: start a local one)."
        ),
    ] = None,
    json: JsonFlag = False,
) -> None:
    """Search model.search.space with Optuna; every trial is a run, the best is tagged 'best'."""

    def progress(total: int) -> AbstractContextManager[Callable[[int], None]]:
        return row_progress(f"tuning ({total} trials)", total, quiet=json, unit="trials")

    study = use.tune(
        open_project(ctx),
        trials=trials,
        progress=progress,
        executor=executor,
        ray_address=ray_address,
    )
    if json:
        print_json(study.to_dict())
        return
    rows = [(t.run_id, orjson.dumps(t.params).decode(), f"{t.value:.4f}") for t in study.trials]
    table(f"study {study.study} on '{study.benchmark}'", ["run", "params", study.metric], rows)
    say("{}", f"best: {study.best}")
