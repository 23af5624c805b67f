"""``keel demo``: the closed loop on the embedded default, end to end, with a summary."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from keel import __version__
from keel.app.scaffold import scaffold
from keel.audit.chain import verify_chain
from keel.cli.data import ingest_source
from keel.cli.output import console, print_json, table
from keel.config import Settings, load_project
from keel.data.versions import BatchKind
from keel.errors import PolicyViolation
from keel.identity.actor import Actor
from keel.identity.roles import Role
from keel.identity.service import add_user
from keel.simulate import (
    CovariateDrift,
    LabelDelay,
    NewCategory,
    UnitChange,
    simulate_frame,
    withheld_labels,
    write_months,
)
from keel.store.sources import open_source
from keel.store.sql.schema import upgrade
from keel.wiring import Keel, open_keel

if TYPE_CHECKING:
    from keel.registry.service import Registry


@dataclass
class DemoRun:
    """State the demo steps share, and the lines of the final summary."""

    directory: Path
    keel: Keel | None = None
    trained: str = ""
    keys: dict[str, str] = field(default_factory=dict)
    summary: list[tuple[str, str]] = field(default_factory=list)

    @property
    def project(self) -> Keel:
        if self.keel is None:
            raise RuntimeError("the project step has not run")  # a demo ordering defect
        return self.keel


def step_project(run: DemoRun) -> str:
    project_file = scaffold(run.directory, "loan")
    project = load_project(project_file)
    run.keel = open_keel(Settings.resolve(run.directory, project), project=project, check=False)
    before, after = upgrade(run.keel.db)
    with run.keel.unit() as unit:
        unit.audit.append(
            actor="local-admin",
            action="project.init",
            subject=f"project:{project.name}",
            details={"example": "loan", "keel_version": __version__},
        )
    return f"project '{project.name}' · schema {before or 'empty'} → {after}"


def step_users(run: DemoRun) -> str:
    keel = run.project
    actor = keel.actor()
    with keel.unit() as unit:
        for name, role in (("ana", Role.OPERATOR), ("omar", Role.APPROVER)):
            _, run.keys[name] = add_user(unit, actor, name, role)
    return "ana (operator), omar (approver) · keys shown once, hashes stored"


DEMO_MONTHS = (datetime(2024, 3, 1), datetime(2024, 7, 1))
DEMO_INCIDENTS = (
    NewCategory(column="purpose", value="crypto", share=0.01, at=datetime(2024, 5, 1)),
    UnitChange(column="income", factor=0.001, at=datetime(2024, 6, 1)),
    LabelDelay(delay=timedelta(days=45)),
)


def step_simulate(run: DemoRun) -> str:
    start, end = DEMO_MONTHS
    files = write_months(
        run.directory / "data", rows=40_000, seed=7, start=start, end=end, incidents=DEMO_INCIDENTS
    )
    late = withheld_labels(rows=40_000, seed=7, start=start, end=end, incidents=DEMO_INCIDENTS)
    late.write_csv(run.directory / "data" / "late-labels.csv")
    return (
        f"{len(files)} monthly files, 40,000 applications; a new purpose from May, income sent "
        f"in thousands from June; {late.height:,} labels held back"
    )


def step_ingest(run: DemoRun) -> str:
    keel = run.project
    actor = keel.actor().name
    lines = []
    for path in sorted((run.directory / "data").glob("2024-*.parquet")):
        result = ingest_source(keel, open_source(path), actor=actor, source="core-banking")
        batch = result.batch
        outcome = (
            f"v{batch.dataset_version}"
            if batch.dataset_version
            else "rejected: " + ", ".join(r["code"] for r in batch.reasons)
        )
        lines.append(f"{path.stem} {batch.accepted:,}/{batch.rows:,} accepted ({outcome})")
        if batch.quarantined:
            run.summary.append((f"quarantine {path.stem}", f"{batch.quarantined:,} rows"))
    again = ingest_source(
        keel, open_source(run.directory / "data" / "2024-03.parquet"), actor=actor
    )
    lines.append("re-ingest of 2024-03 " + ("skipped" if again.already_ingested else "DUPLICATED"))
    return " · ".join(lines)


def step_labels(run: DemoRun) -> str:
    keel = run.project
    path = run.directory / "data" / "late-labels.csv"
    result = ingest_source(keel, open_source(path), actor=keel.actor().name, kind=BatchKind.LABELS)
    return f"{result.batch.accepted:,} late labels stored as {keel.labels_dataset} v1"


def step_versions(run: DemoRun) -> str:
    keel = run.project
    with keel.reader() as unit:
        versions = unit.datasets.list(keel.dataset)
    for version in versions:
        run.summary.append(
            (f"dataset {version.label}", f"{version.rows:,} rows · sha256 {version.sha256[:12]}…")
        )
    return f"{len(versions)} immutable versions of {keel.dataset}"


def step_train(run: DemoRun) -> str:
    from keel.training.service import TrainRequest  # noqa: PLC0415 - the training stack is heavy

    keel = run.project
    trained = keel.trainer().train(TrainRequest(actor=keel.actor().name))
    holdout = trained.metrics["benchmarks"]["holdout"]
    for metric in ("roc_auc", "log_loss", "ece"):
        estimate = holdout[metric]
        run.summary.append(
            (
                f"holdout {metric}",
                f"{estimate['value']:.3f} [{estimate['low']:.3f}, {estimate['high']:.3f}]",
            )
        )
    run.trained = trained.id
    return (
        f"run {trained.id} on data v{trained.data_version}: roc_auc "
        f"{holdout['roc_auc']['value']:.3f} on {holdout['roc_auc']['n']:,} frozen holdout rows"
    )


def step_reproduce(run: DemoRun) -> str:
    from keel.training.service import Recipe, TrainRequest  # noqa: PLC0415

    keel = run.project
    with keel.reader() as unit:
        original = unit.runs.get(run.trained)
    again = keel.trainer(Recipe.from_dict(original.params)).train(
        TrainRequest(
            actor=keel.actor().name,
            data_version=original.data_version,
            labels_version=original.labels_version,
            seed=original.seed,
            parent=original.id,
        )
    )
    same = again.model_sha256 == original.model_sha256
    run.summary.append(("reproduced", "byte-identical model" if same else "DIFFERENT model"))
    if not same:
        raise RuntimeError(f"run {original.id} did not reproduce")
    checksum = (again.model_sha256 or "")[:12]
    return f"{again.id} retrained {original.id}: model sha256 {checksum}… identical"


OPERATOR = Actor("ana", Role.OPERATOR, "api-key")
APPROVER = Actor("omar", Role.APPROVER, "api-key")


def _registry(keel: Keel) -> Registry:
    """The registry as ``keel gate`` builds it: the latency gate times the serving predictor."""
    from keel.decisions import DecisionPolicy  # noqa: PLC0415
    from keel.serving.probe import predictor_probe  # noqa: PLC0415

    policy = DecisionPolicy.parse(keel.project.decisions.model_dump())
    return keel.registry(latency_probe=predictor_probe(keel.data_schema(), policy))


def step_release(run: DemoRun) -> str:
    registry = _registry(run.project)
    model, _ = registry.register(run.trained, OPERATOR)
    result = registry.gate(model.version, OPERATOR)
    if not result.passed:
        failed = ", ".join(c.name for c in result.failed)
        raise RuntimeError(f"{model.label} failed its gate: {failed}")
    requested = registry.promote(model.version, OPERATOR)
    approved = registry.approve(model.version, APPROVER, note="read the model card")
    if approved.release is None or requested.request is None:
        raise RuntimeError("the approval did not apply the promotion")
    run.summary.append(("champion", f"{model.label} ({approved.release.id})"))
    return (
        f"{model.label} gated ({len(result.checks)} checks passed), requested by ana,"
        f" approved by omar → champion ({approved.release.id})"
    )


def step_challenger(run: DemoRun) -> str:
    from keel.training.service import TrainRequest  # noqa: PLC0415

    keel = run.project
    weak = keel.trainer().train(
        TrainRequest(actor=OPERATOR.name, params={"n_estimators": 5, "num_leaves": 3})
    )
    registry = _registry(keel)
    model, _ = registry.register(weak.id, OPERATOR)
    result = registry.gate(model.version, OPERATOR)
    if result.passed:
        raise RuntimeError(f"the weak challenger {model.label} passed its gate")
    try:
        registry.promote(model.version, OPERATOR)
    except PolicyViolation:
        pass
    else:
        raise RuntimeError(f"{model.label} was promoted past a failed gate")
    failed = "; ".join(f"{c.name}: {c.detail or c.value}" for c in result.failed)
    run.summary.append(("challenger", f"{model.label} blocked by its gate"))
    return f"{model.label} (5 trees) blocked: {failed}"


TRAFFIC = (datetime(2024, 7, 1), datetime(2024, 8, 1))
TRAFFIC_ROWS = 3_000
TRAFFIC_DRIFT = (CovariateDrift(column="income", at=0.4, until=0.6, shift=-1.5),)


def step_serve(run: DemoRun) -> str:
    """Serve the champion on loopback; July's applications arrive over HTTP, labels later."""
    from keel.cli.traffic import LocalServer, send_outcomes, send_traffic  # noqa: PLC0415

    start, end = TRAFFIC
    frame = simulate_frame(
        rows=TRAFFIC_ROWS, seed=11, start=start, end=end, incidents=TRAFFIC_DRIFT
    )
    with LocalServer(run.directory) as server:
        sent = send_traffic(server.url, run.keys["ana"], frame, batch=5)
        labelled = send_outcomes(server.url, run.keys["ana"], frame.head(TRAFFIC_ROWS * 2 // 3))
    decisions = ", ".join(f"{k} {v:,}" for k, v in sorted(sent.decisions.items()))
    run.summary.append(("served", f"{sent.records:,} predictions in {sent.requests:,} requests"))
    return (
        f"{sent.records:,} applications in {sent.requests:,} HTTP requests (p50"
        f" {sent.p50_ms:.1f} ms, p99 {sent.p99_ms:.1f} ms; {decisions}); {labelled:,} outcomes"
        " posted later; every answer in the durable log"
    )


def step_monitor(run: DemoRun) -> str:
    from keel.cli.monitor import monitor_service, run_monitor  # noqa: PLC0415
    from keel.reporting.monitor import render_history  # noqa: PLC0415

    keel = run.project
    outcome = run_monitor(keel)
    if not outcome.opened:
        raise RuntimeError("the scripted income drift opened no incident")
    service = monitor_service(keel)
    report = run.directory / "monitor-report.html"
    report.write_text(
        render_history(keel.project.name, service.chunks(), service.incidents()), encoding="utf-8"
    )
    for incident in outcome.opened:
        run.summary.append(
            (f"incident #{incident.seq}", f"{incident.severity.value}: {incident.title}")
        )
    run.summary.append(("monitor report", str(report)))
    drifted = sorted({n for c in outcome.chunks for n in c.results["drift"]["drifted_columns"]})
    return (
        f"{len(outcome.chunks)} chunks of {outcome.run.rows:,} predictions; drifted: "
        f"{', '.join(drifted) or 'none'}; {len(outcome.opened)} incident(s) opened; report"
        f" {report.name}"
    )


def step_audit(run: DemoRun) -> str:
    with run.project.reader() as unit:
        report = verify_chain(unit.audit.scan(), unit.audit.head())
    if not report.ok:
        raise RuntimeError(f"audit chain broken: {report.reason}")
    run.summary.append(("audit events", str(report.events)))
    return f"{report.events} events, chain verified · head {report.head_hash[:12]}…"


STEPS: list[tuple[str, Callable[[DemoRun], str]]] = [
    ("scaffold the loan project", step_project),
    ("add users", step_users),
    ("simulate four months of applications", step_simulate),
    ("ingest each month against the contract", step_ingest),
    ("ingest the late labels", step_labels),
    ("list the dataset versions", step_versions),
    ("train and evaluate on the frozen holdout", step_train),
    ("reproduce the run", step_reproduce),
    ("register, gate, approve and promote", step_release),
    ("gate a weaker challenger", step_challenger),
    ("serve July's applications over HTTP", step_serve),
    ("monitor the prediction log", step_monitor),
    ("verify the audit trail", step_audit),
]


def demo(
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Folder for the demo project (default: a new temp folder)."),
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Run every step of the closed loop that exists, on a fresh embedded project."""
    folder = (directory or Path(tempfile.mkdtemp(prefix="keel-demo-"))).resolve()
    run = DemoRun(directory=folder)
    results: list[dict[str, Any]] = []
    try:
        with console.status("starting") as spinner:
            for title, step in STEPS:
                spinner.update(title)
                started = time.perf_counter()
                outcome = step(run)
                seconds = time.perf_counter() - started
                results.append({"step": title, "result": outcome, "seconds": round(seconds, 3)})
                if not json:
                    console.print(f"[green]✓[/] {title}: {outcome} [dim]({seconds:.1f} s)[/]")
    finally:
        if run.keel is not None:
            run.keel.close()
    if json:
        print_json({"directory": str(folder), "steps": results, "summary": dict(run.summary)})
        return
    table("Demo summary", ["", ""], [("project folder", str(folder)), *run.summary])
    console.print(
        f"Explore it: cd {folder} && keel data versions && keel models list"
        " && keel release history && keel audit log"
    )
