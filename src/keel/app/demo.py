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
    action: int = 0
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


AUTOMATION = """
automation:                     # the agent (keel agent plan|tick|run): what it may do alone
  triggers:
    - {when: incident, category: drift, do: retrain}
  actions: {retrain: auto, shadow: auto, canary: auto, promote: needs_approval, rollback: auto}
  budgets: {retrains_per_day: 2, canaries_per_week: 3}
  cooldown_minutes: 0           # the demo's second drift may start a retrain at once
  canary:
    steps: [10, 25, 50]         # percent of applicants, sticky by application id
    min_requests: 100           # per step: fewer canary requests hold, never pass
    false_rollback_rate: 0.01
    metrics:
      - {name: error_rate, margin: 0.02}
      - {name: fallback_rate, margin: 0.02}
      - {name: latency_p99, margin: 5.0, critical: false}
      - {name: score_shift, margin: 0.05, critical: false}
"""
"""The demo's agent policy, added to the loan example's keel.yaml."""
DEMO_LATENCY_GATE = "{latency_p99_ms: 250}"
"""The demo's latency gate is the service's time budget per request (250 ms): the example's
5 ms, timed on a busy laptop that also trains and serves, would refuse a model for the
machine's load rather than for the model."""


DECISIONS_REVIEW = "  review:                       # keel review"
DEMO_CONSTRAINTS = "  constraints: {max_review_rate: 0.2}   # people review at most a fifth\n"
"""The limit the demo's tuning keeps to and its policy gate checks."""


def _step_project(run: DemoRun) -> str:
    scaffold(run.directory, "loan")
    config = run.directory / "keel.yaml"
    text = config.read_text().replace("{latency_p99_ms: 5}", DEMO_LATENCY_GATE)
    text = text.replace(DECISIONS_REVIEW, DEMO_CONSTRAINTS + DECISIONS_REVIEW)
    config.write_text(text + AUTOMATION)
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


def _step_policy(run: DemoRun) -> str:
    """Tune the thresholds on the champion's frozen benchmark set; ana registers and gates the
    tuned policy and asks for its release; omar, a second person, approves it, and the serving
    replicas decide with it from their next request."""
    from keel.app import decisions, policies  # noqa: PLC0415

    ana, omar = run.as_user("ana"), run.as_user("omar")
    file = run.directory / "policy-tuned.yaml"
    decisions.tune_thresholds(ana, page=run.directory / "decisions-tune.html", policy_file=file)
    version = policies.register_policy(ana, file, note="tuned on the frozen holdout").policy.version
    gate = policies.gate_policy(ana, version)
    before, after = gate.live_shares or {}, gate.shares
    review = ana.project.decisions.review.action
    shares = f"{review} {before.get(review, 0):.1%} → {after.get(review, 0):.1%}"
    cost = gate.cost_per_record
    priced = (
        "" if cost is None else f", cost per record {cost['live']:,.0f} → {cost['candidate']:,.0f}"
    )
    if not gate.passed:
        failed = "; ".join(c.detail for c in gate.failed)
        run.summary.append(("decision policy", f"p{version} failed its gate: {failed}"))
        return f"policy p{version} tuned and gated: failed ({failed}); keel.yaml still decides"
    policies.release_policy(ana, version, reason="least cost on the frozen holdout")
    done = policies.approve_policy(omar, version, note="read the trade-off page")
    if done.release is None:
        raise RuntimeError(f"the approved policy p{version} was not released")
    run.summary.append(
        ("decision policy", f"p{version} in force (ana asked, omar approved): {shares}{priced}")
    )
    return (
        f"p{version} gated on the holdout ({gate.rows:,} rows: {shares}{priced}); ana asked,"
        f" omar approved → {done.release.id}"
    )


def _step_policy_kpis(run: DemoRun) -> str:
    """What each decision policy decided of the served applications, priced alike."""
    from keel.app import decisions  # noqa: PLC0415

    ana = run.as_user("ana")
    review = ana.project.decisions.review.action
    rows = []
    for found in decisions.policy_kpis(ana):
        kpis = found.kpis
        cost = "" if kpis.expected_cost is None else f", expected cost {kpis.expected_cost:,.0f}"
        line = f"{kpis.rows:,} predictions, {review} {kpis.review_rate:.1%}{cost}"
        name = "keel.yaml" if found.digest == ana.project.decisions.digest() else found.policy
        run.summary.append((f"served under {name}", line))
        rows.append(f"{name}: {line}")
    return "; ".join(rows) or "no served predictions"


AGENT_TRAFFIC = (datetime(2024, 8, 1), datetime(2024, 9, 1))
AGENT_ROWS = 6_000
AGENT_DRIFT = (CovariateDrift(column="income", at=0.02, until=0.12, shift=-1.5),)
"""August's applications drift early, so the next monitor run finds it in what was served."""
"""August's applications at most; the canary usually decides on fewer."""
AGENT_ROUND = 400
"""Applications sent between two passes of the agent."""
FOLLOW_SECONDS = 1.2
"""Long enough for the service to follow a release change (it polls the history each second)."""
BAD_FALLBACK = 0.12
"""The share of its requests the deliberately worse candidate cannot answer."""


def _action(keel: Keel, seq: int | None = None) -> Any:
    """An action of the agent's journal (its newest, by default)."""
    from keel.app import agent  # noqa: PLC0415

    if seq is None:
        return agent.history(keel, limit=1)[0]
    return agent.explain(keel, seq).action


def _step_agent_retrain(run: DemoRun) -> str:
    """The drift incident fires the policy's trigger: one pass of the agent retrains on the
    latest versions with the recorded recipe, registers, gates (re-scoring the stored model
    itself), shadows and starts the canary, which holds: no canary traffic yet."""
    from keel.app import agent  # noqa: PLC0415

    ana = run.as_user("ana")
    events = agent.tick(ana).events
    action = _action(ana)
    if action.done(f"canary:{CANARY_STEPS[0]:g}") is None:
        gate = action.done("gate")
        checks = gate.details.get("rescored") if gate is not None else None
        raise RuntimeError(
            f"the agent did not start a canary: {'; '.join(events)} ({action.outcome}, {checks})"
        )
    run.action = action.seq
    version = int(action.done("register").details["version"])
    trained = action.done("train").details["run"]
    gate = action.done("gate").details
    rescored = ", ".join(
        f"{r['metric']} {r['rescored']:.3f} = recorded" if r["agrees"] else f"{r['metric']} differs"
        for r in gate["rescored"]
    )
    run.summary.append(("agent", f"{action.id}: {action.rule}"))
    return (
        f"{action.id}, on drift incident #{action.evidence.get('incident')}: trained {trained},"
        f" registered v{version}, gate passed (the agent re-scored the stored model: {rescored}),"
        f" shadow, canary on {CANARY_STEPS[0]:g} % of applicants: holds, no canary traffic yet"
    )


CANARY_STEPS = (10.0, 25.0, 50.0)


def _step_agent_canary(run: DemoRun) -> str:
    """August's applications arrive over HTTP; after each few hundred the agent looks at the
    canary beside the champion on the same period: each step passes, the next share starts,
    and after the last the agent asks for the promotion (a person approves it)."""
    from keel.app import agent  # noqa: PLC0415
    from keel.app.traffic import LocalServer, send_traffic  # noqa: PLC0415
    from keel.automation.journal import ActionStatus  # noqa: PLC0415

    ana, key = run.as_user("ana"), run.keys["ana"]
    start, end = AGENT_TRAFFIC
    frame = simulate_frame(rows=AGENT_ROWS, seed=13, start=start, end=end, incidents=AGENT_DRIFT)
    sent = 0
    with LocalServer(run.directory, api_key=key) as server:
        for first in range(0, frame.height, AGENT_ROUND):
            time.sleep(FOLLOW_SECONDS)  # the service picks the new canary share up
            sent += send_traffic(server.url, key, frame.slice(first, AGENT_ROUND), batch=10).records
            agent.tick(ana)
            if _action(ana, run.action).status is not ActionStatus.RUNNING:
                break
    action = _action(ana, run.action)
    if action.status is not ActionStatus.DONE:
        raise RuntimeError(f"{action.id} did not pass its canary: {action.outcome}")
    passed = []
    for share in CANARY_STEPS:
        verdict = action.done(f"passed:canary:{share:g}").details
        n = verdict["metrics"][0]["n_canary"]
        passed.append(f"{share:g} % passed at {n} canary requests")
    errors = next(m for m in verdict["metrics"] if m["metric"] == "error_rate")
    low, high = errors["interval"]
    run.summary.append(("canary", " · ".join(passed)))
    return (
        f"{sent:,} applications, the agent looking after every {AGENT_ROUND}: "
        + ", ".join(passed)
        + f" (error rate, canary minus champion: {errors['estimate']:+.3f}, 99% sequence"
        f" [{low:+.3f}, {high:+.3f}], margin {errors['fail_above']:g}); the agent asked for the"
        " promotion: it may not approve it"
    )


def _step_agent_approve(run: DemoRun) -> str:
    """A second person approves the promotion the agent asked for; the drift incident the
    retrain answered is resolved."""
    ana, omar = run.as_user("ana"), run.as_user("omar")
    action = _action(ana, run.action)
    version = int(action.done("register").details["version"])
    approved = registry.approve(omar, version, note=f"canary passed ({action.id})")
    if approved.release is None:
        raise RuntimeError(f"omar's approval of v{version} did not apply the promotion")
    incident = int(action.evidence["incident"])
    monitoring.resolve_incident(ana, incident, note=f"answered by v{version} ({action.id})")
    run.summary.append(("champion now", f"v{version} ({approved.release.id}), approved by omar"))
    return (
        f"omar approved v{version}, the agent's request → champion ({approved.release.id});"
        f" ana resolved drift incident #{incident}"
    )


def _step_agent_rollback(run: DemoRun) -> str:
    """The next drift opens a new incident and the agent retrains again; this candidate is
    deliberately worse (the simulator makes it fail some of its requests, which the champion
    then answers, as the service does): the canary analysis fails it and the agent rolls it
    back on its own, through the same code path as a person's rollback, and opens an incident."""
    from keel.app import agent  # noqa: PLC0415
    from keel.automation.journal import ActionStatus  # noqa: PLC0415

    ana = run.as_user("ana")
    drift = [i for i in monitoring.run_monitor(ana).opened if i.category == "drift"]
    if not drift:
        raise RuntimeError("August's drift opened no new incident")
    agent.tick(ana)
    action = _action(ana)
    if action.seq == run.action or action.done(f"canary:{CANARY_STEPS[0]:g}") is None:
        raise RuntimeError(f"the agent did not retrain on incident #{drift[0].seq}")
    version = int(action.done("register").details["version"])
    _log_failing_canary(ana, version)
    agent.tick(ana)
    action = _action(ana, action.seq)
    head = registry.release_status(ana).release
    if action.status is not ActionStatus.FAILED or head is None or head.state.canary is not None:
        raise RuntimeError(f"{action.id} was not rolled back: {action.status.value}")
    verdict = action.done("rolled_back")
    failed = [
        e.details for e in agent.explain(ana, action.seq).events if e.action == "agent.canary"
    ][-1]
    fallback = next(m for m in failed["metrics"] if m["metric"] == "fallback_rate")
    low, high = fallback["interval"]
    run.summary.append(
        ("rolled back", f"v{version} ({action.id}), incident #{action.outcome['incident']}")
    )
    budget = agent.status(ana).spent["retrain"]
    return (
        f"drift incident #{drift[0].seq} → {action.id} retrained → v{version}, gate passed,"
        f" canary on {CANARY_STEPS[0]:g} %; the candidate fell back on"
        f" {fallback['estimate']:+.1%} more requests than the champion (99% sequence"
        f" [{low:+.3f}, {high:+.3f}] above the {fallback['fail_above']:g} margin after"
        f" {fallback['n_canary']} canary requests) → the agent stopped"
        f" {' and '.join(verdict.details['stopped']) if verdict else 'the canary'} on its own,"
        f" v{head.state.champion} still champion, incident #{action.outcome['incident']};"
        f" retrains today {budget}"
    )


def _log_failing_canary(keel: Keel, version: int) -> None:
    """What the service logs while a candidate that fails ``BAD_FALLBACK`` of its requests
    serves beside the champion: each failure answered by the champion, marked as a fallback."""
    import secrets  # noqa: PLC0415

    import numpy as np  # noqa: PLC0415

    from keel.predictions import PredictionRecord  # noqa: PLC0415
    from keel.types import utcnow  # noqa: PLC0415

    rng = np.random.default_rng(version)
    head = registry.release_status(keel).release
    champion = f"{keel.project.name}/v{head.state.champion if head else 0}"
    candidate = f"{keel.project.name}/v{version}"
    records = []
    for i in range(3_000):
        route = "canary" if i % 10 == 0 else "champion"
        failed = route == "canary" and rng.random() < BAD_FALLBACK
        score = float(rng.beta(2.0, 11.0))
        records.append(
            PredictionRecord(
                request_id=secrets.token_hex(8),
                prediction_id=secrets.token_hex(8),
                time=utcnow(),
                model=candidate if route == "canary" and not failed else champion,
                entity_id=f"a-{9_000_000 + i}",
                inputs={},
                score=score,
                decision="approve" if score < 0.15 else "review",
                fallback=f"{candidate} failed: simulated → champion" if failed else None,
                latency_ms=float(3.0 * np.exp(0.35 * rng.standard_normal())),
                route=route,
                policy=keel.project.decisions.digest(),
            )
        )
    log = keel.prediction_log()
    try:
        log.append(records)
    finally:
        log.close()


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
    ("tune the decision policy; a second person approves its release", _step_policy),
    ("the agent answers the drift incident", _step_agent_retrain),
    ("the canary serves August's applications, step by step", _step_agent_canary),
    ("a second person approves the agent's promotion", _step_agent_approve),
    ("a worse candidate: the canary analysis rolls it back", _step_agent_rollback),
    ("decision KPIs of each policy that decided", _step_policy_kpis),
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
