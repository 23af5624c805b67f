"""``keel train``, ``keel runs``, ``keel reproduce``, ``keel explain`` and ``keel tune``.

The training stack (LightGBM, scikit-learn) is imported inside the commands that use it, so that
every other ``keel`` command starts in a fraction of the time.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Any

import orjson
import polars as pl
import typer

from keel.cli.context import open_project
from keel.cli.data import JsonFlag, parse_version
from keel.cli.output import console, field_list, interval, print_json, row_progress, table
from keel.data.ingest import head, iter_version
from keel.errors import InvalidInput
from keel.identity.roles import Role
from keel.training.runs import Run
from keel.wiring import Keel

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
    seed: Annotated[int | None, typer.Option(help="Override model.seed.")] = None,
    json: JsonFlag = False,
) -> None:
    """Train on a dataset version with keel.yaml's recipe; evaluate on the frozen benchmarks."""
    from keel.training.service import TrainRequest  # noqa: PLC0415 - see the module docstring

    keel = open_project(ctx)
    actor = keel.acting(Role.OPERATOR, action="training")
    request = TrainRequest(
        actor=actor.name,
        data_version=parse_version(data) if data else None,
        params=parse_params(param),
        seed=seed,
    )
    with console.status("training", spinner="dots") as status:
        run = keel.trainer().train(request, say=status.update)
    show_run(run, json=json, store=keel)


def show_run(run: Run, *, json: bool, store: Keel) -> None:
    """The outcome of a run: its benchmark table, slices and where the card is."""
    if json:
        print_json(run_summary(run))
        return
    env = run.environment
    console.print(
        f"run {run.id} · data v{run.data_version} · code {(env.code_version or 'none')[:7]}"
        f" ({'dirty' if env.code_dirty else 'clean'}) · {run.duration_s or 0:.1f} s"
    )
    for name, metrics in run.metrics.get("benchmarks", {}).items():
        rows = [
            (m, f"{e['value']:.4f}", interval(e), e.get("method", ""), f"{e['n']:,}")
            for m, e in metrics.items()
        ]
        table(f"benchmark '{name}'", ["metric", "value", "interval", "method", "rows"], rows)
    console.print(f"model sha256 {run.model_sha256} · card: keel runs card {run.id}")


def run_summary(run: Run) -> dict[str, Any]:
    """The run as JSON, with flat ``metrics`` (first benchmark) and ``benchmarks`` values."""
    body = run.to_dict()
    benchmarks = {
        name: {m: e["value"] for m, e in metrics.items()}
        for name, metrics in run.metrics.get("benchmarks", {}).items()
    }
    body["benchmarks"] = benchmarks
    body["details"] = body.pop("metrics")
    body["metrics"] = next(iter(benchmarks.values()), {})
    return body


@app.command("list")
def list_runs(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, help="How many, newest first.")] = 20,
    json: JsonFlag = False,
) -> None:
    """Training runs, newest first."""
    keel = open_project(ctx)
    keel.acting(Role.VIEWER, action="listing runs")
    with keel.reader() as unit:
        runs = unit.runs.list(keel.project.name, limit=limit)
    if json:
        print_json([run_summary(r) for r in runs])
        return
    rows = []
    for run in runs:
        metrics = run_summary(run)["metrics"]
        first = next(iter(metrics.items()), ("", None))
        rows.append(
            (
                run.id,
                run.status.value,
                f"v{run.data_version}",
                run.params.get("model", {}).get("kind", ""),
                f"{first[0]} {first[1]:.4f}" if first[1] is not None else "",
                f"{run.duration_s:.1f} s" if run.duration_s else "",
                (run.model_sha256 or "")[:12],
                run.parent or "",
            )
        )
    columns = ["run", "status", "data", "model", "first metric", "time", "model sha256", "parent"]
    table(keel.project.name, columns, rows)


@app.command("show")
def show(ctx: typer.Context, run_id: str, json: JsonFlag = False) -> None:
    """One run: inputs, environment, metrics, artifacts, logs."""
    keel = open_project(ctx)
    keel.acting(Role.VIEWER, action="reading a run")
    with keel.reader() as unit:
        run = unit.runs.get(run_id)
    if json:
        print_json(run_summary(run))
        return
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
    show_run(run, json=False, store=keel)
    if run.logs:
        console.print(run.logs)


@app.command("card")
def card(
    ctx: typer.Context,
    run_id: str,
    out: Annotated[Path | None, typer.Option(help="Write the HTML card here.")] = None,
) -> None:
    """Print a run's model card (Markdown), or write its HTML version with --out."""
    keel = open_project(ctx)
    keel.acting(Role.VIEWER, action="reading a model card")
    with keel.reader() as unit:
        run = unit.runs.get(run_id)
    if "card.md" not in run.artifacts:
        raise InvalidInput(f"run {run_id} has no card ({run.status.value})", path="run")
    if out is None:
        typer.echo(keel.blobs.get(run.artifacts["card.md"]).decode())
        return
    out.write_bytes(keel.blobs.get(run.artifacts["card.html"]))
    console.print(f"wrote {out}")


@app.command("compare")
def compare(ctx: typer.Context, first: str, second: str, json: JsonFlag = False) -> None:
    """Metric differences between two runs on the same benchmark sets, with both intervals."""
    keel = open_project(ctx)
    keel.acting(Role.VIEWER, action="comparing runs")
    with keel.reader() as unit:
        a, b = unit.runs.get(first), unit.runs.get(second)
    rows: list[dict[str, Any]] = []
    bench_a, bench_b = a.metrics.get("benchmarks", {}), b.metrics.get("benchmarks", {})
    for name in bench_a.keys() & bench_b.keys():
        for metric in bench_a[name].keys() & bench_b[name].keys():
            x, y = bench_a[name][metric], bench_b[name][metric]
            rows.append(
                {
                    "benchmark": name,
                    "metric": metric,
                    "a": x,
                    "b": y,
                    "delta": y["value"] - x["value"],
                }
            )
    rows.sort(key=lambda r: (r["benchmark"], r["metric"]))
    params = _param_changes(a, b)
    if json:
        print_json({"a": a.id, "b": b.id, "metrics": rows, "params": params})
        return
    for change in params:
        console.print(f"[yellow]param[/] {change['name']}: {change['a']} → {change['b']}")
    table(
        f"{a.id} → {b.id}",
        ["benchmark", "metric", a.id, b.id, "Δ"],
        [
            (
                r["benchmark"],
                r["metric"],
                _interval(r["a"]),
                _interval(r["b"]),
                f"{r['delta']:+.4f}",
            )
            for r in rows
        ],
    )


def _interval(estimate: dict[str, Any]) -> str:
    return f"{estimate['value']:.4f} {interval(estimate)}"


def _param_changes(a: Run, b: Run) -> list[dict[str, Any]]:
    pa, pb = a.params.get("model", {}), b.params.get("model", {})
    flat_a = {**{k: v for k, v in pa.items() if k != "params"}, **pa.get("params", {})}
    flat_b = {**{k: v for k, v in pb.items() if k != "params"}, **pb.get("params", {})}
    names = sorted(flat_a.keys() | flat_b.keys())
    return [
        {"name": n, "a": flat_a.get(n), "b": flat_b.get(n)}
        for n in names
        if flat_a.get(n) != flat_b.get(n)
    ]


def reproduce(ctx: typer.Context, run_id: str, json: JsonFlag = False) -> None:
    """Train again from a run's recorded data, recipe and seed; compare the model checksums."""
    from keel.training.service import Recipe, TrainRequest  # noqa: PLC0415

    keel = open_project(ctx)
    actor = keel.acting(Role.OPERATOR, action="reproducing a run")
    with keel.reader() as unit:
        original = unit.runs.get(run_id)
    if original.model_sha256 is None:
        raise InvalidInput(f"run {run_id} has no model to reproduce ({original.status.value})")
    recipe = Recipe.from_dict(original.params)
    request = TrainRequest(
        actor=actor.name,
        data_version=original.data_version,
        labels_version=original.labels_version,
        seed=original.seed,
        parent=original.id,
        tags=("reproduction",),
    )
    with console.status("reproducing", spinner="dots") as status:
        again = keel.trainer(recipe).train(request, say=status.update)
    identical = again.model_sha256 == original.model_sha256
    differences = _environment_changes(original, again)
    with keel.unit() as unit:
        unit.audit.append(
            actor=actor.name,
            action="training.reproduce",
            subject=f"run:{original.id}",
            details={"reproduction": again.id, "identical": identical, "differences": differences},
        )
    body = {
        "run_id": original.id,
        "reproduction": again.id,
        "identical": identical,
        "original_sha256": original.model_sha256,
        "reproduced_sha256": again.model_sha256,
        "differences": differences,
    }
    if json:
        print_json(body)
    elif identical:
        console.print(f"[green]identical[/]: {again.id} reproduced {original.id} byte for byte")
    else:
        console.print(f"[red]different[/]: {original.model_sha256} vs {again.model_sha256}")
        for line in differences or [
            "same data, recipe and environment: training is not deterministic"
        ]:
            console.print(f"  {line}")
    if not identical:
        raise typer.Exit(1)


def _environment_changes(a: Run, b: Run) -> list[str]:
    ea, eb = a.environment.to_dict(), b.environment.to_dict()
    return [f"{key}: {ea[key]} → {eb[key]}" for key in ea if ea[key] != eb[key]]


def explain(
    ctx: typer.Context,
    run_id: str,
    rows: Annotated[int, typer.Option(min=1, help="How many rows to explain.")] = 5,
    file: Annotated[Path | None, typer.Option(help="Explain rows of this file instead.")] = None,
    top: Annotated[int, typer.Option(min=1, help="Contributions shown per row.")] = 5,
    json: JsonFlag = False,
) -> None:
    """Per-row feature contributions (TreeSHAP for LightGBM, coefficient x value for linear)."""
    from keel.models.bundle import load_bundle  # noqa: PLC0415

    keel = open_project(ctx)
    keel.acting(Role.VIEWER, action="explaining predictions")
    with keel.reader() as unit:
        run = unit.runs.get(run_id)
        version = unit.datasets.get(keel.dataset, run.data_version)
    if run.model_sha256 is None:
        raise InvalidInput(f"run {run_id} has no model ({run.status.value})", path="run")
    bundle = load_bundle(keel.blobs, run.model_sha256)
    frame = _rows_to_explain(keel, version, file, rows)
    scores = bundle.score(frame)
    explained = bundle.explain(frame)
    entity = keel.project.entity
    items: list[dict[str, Any]] = [
        {
            "id": frame[entity][i] if entity in frame.columns else i,
            "score": float(scores[i]),
            "bias": float(explained.bias[i]),
            "contributions": explained.top(i, top),
        }
        for i in range(frame.height)
    ]
    if json:
        print_json({"run_id": run.id, "rows": items})
        return
    for item in items:
        parts = ", ".join(f"{c} {v:+.3f}" for c, v in item["contributions"])
        console.print(f"{item['id']}: score {item['score']:.3f} · {parts}")


def _rows_to_explain(keel: Keel, version: Any, file: Path | None, rows: int) -> pl.DataFrame:
    if file is None:
        return head(iter_version(keel.rows, version), rows)
    return keel.read_checked(file, rows=rows)


def tune(
    ctx: typer.Context,
    trials: Annotated[
        int | None, typer.Option(min=1, help="Trials (default: model.search).")
    ] = None,
    json: JsonFlag = False,
) -> None:
    """Search model.search.space with Optuna; every trial is a run, the best is tagged 'best'."""
    from keel.training.tuning import tune as tune_study  # noqa: PLC0415

    keel = open_project(ctx)
    actor = keel.acting(Role.OPERATOR, action="tuning")
    trainer = keel.trainer()
    search = trainer.recipe.model.search
    study = f"s-{secrets.token_hex(4)}"
    total = trials or search.trials
    trained: list[str] = []
    with row_progress(f"tuning ({total} trials)", total, quiet=json, unit="trials") as progress:

        def advance(run: Run) -> None:
            trained.append(run.id)
            progress(len(trained))

        result = tune_study(
            trainer,
            search,
            actor=actor.name,
            study=study,
            trials=total,
            on_trial=advance,
        )
    body: dict[str, Any] = {
        "study": result.study,
        "metric": result.metric,
        "benchmark": result.benchmark,
        "best": result.best.id if result.best else None,
        "trials": [
            {
                "run_id": r.id,
                "params": r.params["model"]["params"],
                result.metric: r.metrics["benchmarks"][result.benchmark][result.metric]["value"],
            }
            for r in result.trials
        ],
    }
    if json:
        print_json(body)
        return
    rows = [
        (t["run_id"], orjson.dumps(t["params"]).decode(), f"{t[result.metric]:.4f}")
        for t in body["trials"]
    ]
    table(f"study {study} on '{result.benchmark}'", ["run", "params", result.metric], rows)
    console.print(f"best: {body['best']}")
