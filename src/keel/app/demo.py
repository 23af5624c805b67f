"""The closed loop on the embedded default, end to end: each step is a call of the use cases a
person would make from the command line, as the user a person would be (ana operates, omar
approves), so the demo shows the product's own rules at work, not a shortcut around them."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from keel import __version__
from keel.app import data, monitoring, project, registry, training
from keel.app.result import Result
from keel.app.scaffold import scaffold
from keel.app.session import open_project
from keel.app.use_case import offline
from keel.errors import PolicyViolation
from keel.identity.roles import Role
from keel.simulate import (
    CovariateDrift,
    LabelDelay,
    NewCategory,
    UnitChange,
    simulate_frame,
    withheld_labels,
    write_months,
)
from keel.store.sql.schema import upgrade
from keel.wiring import Keel

DEMO_MONTHS = (datetime(2024, 3, 1), datetime(2024, 7, 1))
DEMO_INCIDENTS = (
    NewCategory(column="purpose", value="crypto", share=0.01, at=datetime(2024, 5, 1)),
    UnitChange(column="income", factor=0.001, at=datetime(2024, 6, 1)),
    LabelDelay(delay=timedelta(days=45)),
)
TRAFFIC = (datetime(2024, 7, 1), datetime(2024, 8, 1))
TRAFFIC_ROWS = 3_000
TRAFFIC_DRIFT = (CovariateDrift(column="income", at=0.4, until=0.6, shift=-1.5),)
USERS = (("ada", Role.ADMIN), ("ana", Role.OPERATOR), ("omar", Role.APPROVER))


@dataclass
class DemoRun:
    """State the steps share: the project opened as the local admin and as each user."""

    directory: Path
    opened: dict[str | None, Keel] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    trained: str = ""
    summary: list[tuple[str, str]] = field(default_factory=list)

    def as_user(self, name: str | None = None) -> Keel:
        """The project acting as ``name`` (with that user's key), or as the local admin."""
        if name not in self.opened:
            key = self.keys[name] if name is not None else None
            self.opened[name] = open_project(self.directory, api_key=key)
        return self.opened[name]

    def close(self) -> None:
        for keel in self.opened.values():
            keel.close()


def _step_project(run: DemoRun) -> str:
    scaffold(run.directory, "loan")
    keel = open_project(run.directory, check=False)
    run.opened[None] = keel
    before, after = upgrade(keel.db)
    with keel.unit() as unit:
        unit.audit.append(
            actor="local-admin",
            action="project.init",
            subject=f"project:{keel.project.name}",
            details={"example": "loan", "keel_version": __version__},
        )
    return f"project '{keel.project.name}' · schema {before or 'empty'} → {after}"


def _step_users(run: DemoRun) -> str:
    for name, role in USERS:  # the first, an admin, adds the others: a key is needed from then on
        admin = run.as_user(USERS[0][0] if run.keys else None)
        run.keys[name] = project.add_user_with_key(admin, name, role).api_key
        _keep_key(run.directory, name, run.keys[name])
    run.summary.append(("keys", f"{DEMO_KEYS}/<user>, readable only by you"))
    return "ada (admin), ana (operator), omar (approver) · keys shown once, hashes stored"


DEMO_KEYS = ".keel/demo-keys"
"""Where the demo leaves its users' keys, one file each (mode 600), never in its output."""


def _keep_key(directory: Path, name: str, key: str) -> None:
    folder = directory / DEMO_KEYS
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / name
    path.touch(mode=0o600)
    path.write_text(key + "\n")


def _step_simulate(run: DemoRun) -> str:
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


def _step_ingest(run: DemoRun) -> str:
    keel, lines = run.as_user("ana"), []
    for path in sorted((run.directory / "data").glob("2024-*.parquet")):
        batch = data.ingest(keel, data.BatchFrom(file=path), source="core-banking").batch
        outcome = (
            f"v{batch.dataset_version}"
            if batch.dataset_version
            else "rejected: " + ", ".join(r["code"] for r in batch.reasons)
        )
        lines.append(f"{path.stem} {batch.accepted:,}/{batch.rows:,} accepted ({outcome})")
        if batch.quarantined:
            run.summary.append((f"quarantine {path.stem}", f"{batch.quarantined:,} rows"))
    again = data.ingest(keel, data.BatchFrom(file=run.directory / "data" / "2024-03.parquet"))
    lines.append("re-ingest of 2024-03 " + ("skipped" if again.already_ingested else "DUPLICATED"))
    return " · ".join(lines)


def _step_labels(run: DemoRun) -> str:
    keel = run.as_user("ana")
    stored = data.ingest_labels(keel, run.directory / "data" / "late-labels.csv")
    return f"{stored.result.batch.accepted:,} late labels stored as {keel.labels_dataset} v1"


def _step_versions(run: DemoRun) -> str:
    keel = run.as_user("ana")
    versions = data.list_versions(keel)
    for version in versions:
        run.summary.append(
            (f"dataset {version.label}", f"{version.rows:,} rows · sha256 {version.sha256[:12]}…")
        )
    return f"{len(versions)} immutable versions of {keel.dataset}"


def _step_train(run: DemoRun) -> str:
    trained = training.train(run.as_user("ana")).run
    holdout = trained.metrics["benchmarks"]["holdout"]
    for metric in ("roc_auc", "log_loss", "ece"):
        estimate = holdout[metric]
        shown = f"{estimate['value']:.3f} [{estimate['low']:.3f}, {estimate['high']:.3f}]"
        run.summary.append((f"holdout {metric}", shown))
    run.trained = trained.id
    return (
        f"run {trained.id} on data v{trained.data_version}: roc_auc "
        f"{holdout['roc_auc']['value']:.3f} on {holdout['roc_auc']['n']:,} frozen holdout rows"
    )


def _step_reproduce(run: DemoRun) -> str:
    again = training.reproduce(run.as_user("ana"), run.trained)
    run.summary.append(("reproduced", "byte-identical model" if again.identical else "DIFFERENT"))
    if not again.identical:
        raise RuntimeError(f"run {again.run_id} did not reproduce")
    checksum = (again.reproduced_sha256 or "")[:12]
    return f"{again.reproduction} retrained {again.run_id}: model sha256 {checksum}… identical"


def _step_release(run: DemoRun) -> str:
    ana, omar = run.as_user("ana"), run.as_user("omar")
    model = registry.register(ana, run.trained).model
    result = registry.gate(ana, model.version)
    if not result.passed:
        failed = ", ".join(c.name for c in result.failed)
        raise RuntimeError(f"{model.label} failed its gate: {failed}")
    requested = registry.promote(ana, model.version)
    approved = registry.approve(omar, model.version, note="read the model card")
    if approved.release is None or requested.request is None:
        raise RuntimeError("the approval did not apply the promotion")
    run.summary.append(("champion", f"{model.label} ({approved.release.id})"))
    return (
        f"{model.label} gated ({len(result.checks)} checks passed), requested by ana,"
        f" approved by omar → champion ({approved.release.id})"
    )


def _step_challenger(run: DemoRun) -> str:
    ana = run.as_user("ana")
    weak = training.train(ana, params={"n_estimators": 5, "num_leaves": 3}).run
    model = registry.register(ana, weak.id).model
    result = registry.gate(ana, model.version)
    if result.passed:
        raise RuntimeError(f"the weak challenger {model.label} passed its gate")
    try:
        registry.promote(ana, model.version)
    except PolicyViolation:
        pass
    else:
        raise RuntimeError(f"{model.label} was promoted past a failed gate")
    failed = "; ".join(f"{c.name}: {c.detail or c.value}" for c in result.failed)
    run.summary.append(("challenger", f"{model.label} blocked by its gate"))
    return f"{model.label} (5 trees) blocked: {failed}"


def _step_serve(run: DemoRun) -> str:
    """Serve the champion on loopback; July's applications arrive over HTTP, labels later."""
    from keel.app.traffic import LocalServer, send_outcomes, send_traffic  # noqa: PLC0415

    start, end = TRAFFIC
    frame = simulate_frame(
        rows=TRAFFIC_ROWS, seed=11, start=start, end=end, incidents=TRAFFIC_DRIFT
    )
    with LocalServer(run.directory, api_key=run.keys["ana"]) as server:
        sent = send_traffic(server.url, run.keys["ana"], frame, batch=5)
        labelled = send_outcomes(server.url, run.keys["ana"], frame.head(TRAFFIC_ROWS * 2 // 3))
    decisions = ", ".join(f"{k} {v:,}" for k, v in sorted(sent.decisions.items()))
    run.summary.append(("served", f"{sent.records:,} predictions in {sent.requests:,} requests"))
    return (
        f"{sent.records:,} applications in {sent.requests:,} HTTP requests (p50"
        f" {sent.p50_ms:.1f} ms, p99 {sent.p99_ms:.1f} ms; {decisions}); {labelled:,} outcomes"
        " posted later; every answer in the durable log"
    )


def _step_monitor(run: DemoRun) -> str:
    ana = run.as_user("ana")
    outcome = monitoring.run_monitor(ana)
    if not outcome.opened:
        raise RuntimeError("the scripted income drift opened no incident")
    report = monitoring.write_report(ana, run.directory / "monitor-report.html").out
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


REVIEWERS = (("rita", Role.REVIEWER), ("raul", Role.REVIEWER))
WORKED = 12
"""How many of the most urgent items the scripted reviewer settles."""


def _step_review(run: DemoRun) -> str:
    """Reviewers work the queue: sync, claim, resolve (with overrides and a label), audit the
    automatic decisions, two reviewers disagree on a large loan; the next day's sync finds the
    deadlines missed."""
    from keel.app import review  # noqa: PLC0415

    for name, role in REVIEWERS:
        run.keys[name] = project.add_user_with_key(run.as_user("ada"), name, role).api_key
    rita, raul = run.as_user("rita"), run.as_user("raul")
    synced = review.sync_review(rita).outcome
    before = review.review_stats(rita).stats
    settled = _review_urgent(rita) + _review_audits(rita)
    escalated = _review_twice(rita, raul)
    late = _next_day_sync(rita)
    after = review.review_stats(rita).stats
    _review_summary(run, before, after, escalated)
    made = ", ".join(f"{k} {v}" for k, v in sorted(synced.by_reason.items()))
    return (
        f"{synced.created} items from {synced.scanned:,} logged predictions ({made}); rita"
        f" resolved {settled}; {'one item escalated' if escalated else 'no large loan to double-'}"
        f"{'' if escalated else 'review'}; the next day's sync found {late.overdue} items past"
        f" their deadline → incident #{late.incident}"
    )


def _review_urgent(keel: Keel) -> int:
    """The most urgent items: decline from 0.3 up, approve below, label the clearest ones."""
    from keel.app import review  # noqa: PLC0415

    for _ in range(WORKED):
        item = review.claim_item(keel)
        score = item.score if item.score is not None else 0.5
        decision = "decline" if score >= 0.3 else "approve"
        label = 1.0 if score >= 0.45 else None
        review.resolve_item(keel, item.id, decision=decision, label=label, note="scripted")
    return WORKED


def _review_audits(keel: Keel) -> int:
    """The audit sample: uphold the automatic decision unless the score is close to the line."""
    from keel.app import review  # noqa: PLC0415
    from keel.decisions.review import Reason  # noqa: PLC0415

    audits = review.list_items(keel, reason=Reason.AUDIT, limit=WORKED)
    for item in audits:
        review.claim_item(keel, item.id)
        close = item.score is not None and 0.09 <= item.score < 0.15
        decision = "review" if close else item.decision or "approve"
        review.resolve_item(keel, item.id, decision=decision, note="audit")
    return len(audits)


def _review_twice(first: Keel, second: Keel) -> bool:
    """A large loan needs two reviewers; they disagree, so it escalates to an approver."""
    from keel.app import review  # noqa: PLC0415
    from keel.decisions.review import ItemState  # noqa: PLC0415

    double = [
        i
        for i in review.list_items(first, state=ItemState.OPEN, limit=10_000)
        if i.reviews_needed == 2 and i.reviews_done == 0
    ]
    if not double:
        return False
    item = double[0].id
    review.claim_item(first, item)
    review.resolve_item(first, item, decision="approve", note="income covers it")
    review.claim_item(second, item)
    found = review.resolve_item(second, item, decision="decline", note="debt too high")
    return found.state is ItemState.ESCALATED


def _next_day_sync(keel: Keel) -> Any:
    """The sync a day later (the queue with its clock moved on): the deadlines missed open the
    review incident."""
    from keel.app.review import _scan  # noqa: PLC0415
    from keel.decisions.queue import ReviewQueue  # noqa: PLC0415
    from keel.types import utcnow  # noqa: PLC0415

    spec = keel.project.decisions.review
    queue = ReviewQueue(
        keel.project.name, spec, keel.unit, keel.reader, lambda: utcnow() + timedelta(days=1)
    )
    return queue.sync(lambda since: _scan(keel, since), keel.actor())


def _review_summary(run: DemoRun, before: Any, after: Any, escalated: bool) -> None:
    def rate(found: Any) -> str:
        if found.value is None:
            return "no items yet"
        return f"{found.value:.0%} [{found.low:.0%}, {found.high:.0%}] of {found.n}"

    open_before = before.states.get("open", 0)
    states = ", ".join(f"{n} {state}" for state, n in sorted(after.states.items()))
    run.summary.append(("review queue", f"{open_before} open → {states}"))
    for reason, found in after.overrides.items():
        run.summary.append((f"override rate {reason}", rate(found)))
    run.summary.append(("audited accuracy", rate(after.audit_accuracy)))
    if escalated:
        run.summary.append(("escalated", "1 large loan: the two reviewers disagreed"))


def _step_audit(run: DemoRun) -> str:
    report = project.verify_audit(run.as_user("ada"))
    if not report.ok:
        raise RuntimeError(f"audit chain broken: {report.reason}")
    run.summary.append(("audit events", str(report.events)))
    run.summary.append(("dashboard", _dashboard_command(run.directory)))
    return f"{report.events} events, chain verified · head {report.head_hash[:12]}…"


STEPS: list[tuple[str, Callable[[DemoRun], str]]] = [
    ("scaffold the loan project", _step_project),
    ("add users", _step_users),
    ("simulate four months of applications", _step_simulate),
    ("ingest each month against the contract", _step_ingest),
    ("ingest the late labels", _step_labels),
    ("list the dataset versions", _step_versions),
    ("train and evaluate on the frozen holdout", _step_train),
    ("reproduce the run", _step_reproduce),
    ("register, gate, approve and promote", _step_release),
    ("gate a weaker challenger", _step_challenger),
    ("serve July's applications over HTTP", _step_serve),
    ("monitor the prediction log", _step_monitor),
    ("reviewers work the queue", _step_review),
    ("verify the audit trail", _step_audit),
]


def _dashboard_command(directory: Path) -> str:
    """The command that opens the demo project's dashboard (``keel server``); log in with a
    key from ``.keel/demo-keys`` (adding a user needs an admin's key once a project has users)."""
    return f"cd {directory} && keel server"


@dataclass(frozen=True)
class DemoStep(Result):
    step: str
    result: str
    seconds: float


@dataclass(frozen=True)
class DemoSummary(Result):
    """Every step with what it did, and the lines of the final summary."""

    directory: Path
    steps: tuple[DemoStep, ...]
    summary: tuple[tuple[str, str], ...]

    def to_dict(self) -> dict[str, Any]:
        steps = [step.to_dict() for step in self.steps]
        return {"directory": str(self.directory), "steps": steps, "summary": dict(self.summary)}


@offline(action="running the demo", writes=True)
def run_demo(
    directory: Path,
    *,
    starting: Callable[[str], None] = lambda _title: None,
    done: Callable[[DemoStep], None] = lambda _step: None,
) -> DemoSummary:
    """Run every step on a fresh project in ``directory`` (it creates the project, whose local
    admin it is); ``starting`` and ``done`` tell a face about each step as it goes."""
    run, steps = DemoRun(directory=directory), []
    with _closing(run):
        for title, step in STEPS:
            starting(title)
            started = time.perf_counter()
            outcome = step(run)
            finished = DemoStep(title, outcome, round(time.perf_counter() - started, 3))
            steps.append(finished)
            done(finished)
    return DemoSummary(directory, tuple(steps), tuple(run.summary))


@contextmanager
def _closing(run: DemoRun) -> Iterator[None]:
    try:
        yield
    finally:
        run.close()
