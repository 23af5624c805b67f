"""Monitoring end to end on each backend: the prediction log in, chunks checked, incidents out."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import polars as pl
import pytest
import yaml
from tests.contract.conftest import ingest_simulated, open_project
from tests.e2e.chromium import drawn_plots

from keel.app.monitoring import _monitor_service as monitor_service
from keel.app.monitoring import (
    ack_incident,
    list_incidents,
    resolve_incident,
    run_monitor,
    show_incident,
    write_report,
)
from keel.app.scaffold import scaffold
from keel.app.traffic import request_records
from keel.config import load_project
from keel.decisions import DecisionPolicy
from keel.errors import Conflict, InvalidInput, PermissionDenied
from keel.identity.actor import LOCAL_ADMIN, Actor
from keel.identity.roles import Role
from keel.identity.service import add_user
from keel.monitoring.incidents import IncidentStatus
from keel.predictions import OutcomeRecord, PredictionRecord
from keel.registry.policy import ReleasePolicy
from keel.reporting.monitor import render_history
from keel.serving.checks import InvalidRecords
from keel.serving.ids import new_id
from keel.serving.predictor import Predictor
from keel.simulate import (
    ConceptDrift,
    CovariateDrift,
    NewCategory,
    NullSpike,
    UnitChange,
    simulate_frame,
)
from keel.store.sql.schema import upgrade
from keel.training.service import TrainRequest
from keel.wiring import Keel

OPERATOR = Actor("olga", Role.OPERATOR, "api-key")
TRAIN = (datetime(2024, 1, 1), datetime(2024, 4, 1))
LATER = (datetime(2024, 4, 1), datetime(2024, 5, 1))


@pytest.fixture
def keel(tmp_path: Path, database_url: str) -> Iterator[Keel]:
    """The loan project: 8,000 simulated applications, a small champion, 500-row chunks."""
    folder = tmp_path / "proj"
    scaffold(folder, "loan")
    config = yaml.safe_load((folder / "keel.yaml").read_text())
    config["monitoring"]["chunk"] = {"rows": 500}
    (folder / "keel.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    opened = open_project(folder, database_url)
    upgrade(opened.db)
    ingest_simulated(opened, 8000, *TRAIN)
    run = opened.trainer().train(
        TrainRequest(actor="tester", params={"n_estimators": 60, "num_leaves": 15})
    )
    registry = replace(opened.registry(), policy=ReleasePolicy())
    model, _ = registry.register(run.id, OPERATOR)
    registry.gate(model.version, OPERATOR)
    registry.promote(model.version, OPERATOR)
    yield opened
    opened.close()


def serve_offline(keel: Keel, frame: pl.DataFrame, *, labels: bool) -> None:
    """What the service logs for ``frame``'s rows (the real predictor and log, no HTTP)."""
    registry = keel.registry()
    head, _ = registry.status()
    assert head is not None and head.state.champion is not None
    version = head.state.champion
    predictor = Predictor(
        registry.bundle(version),
        schema=keel.data_schema(),
        policy=DecisionPolicy.parse(keel.project.decisions.model_dump()),
        model=f"{keel.project.name}/v{version}",
    )
    records = request_records(frame)
    now = datetime.now(UTC)
    log = keel.prediction_log()
    try:
        for first in range(0, len(records), 100):
            batch = records[first : first + 100]
            found = predictor.predict(batch)
            now = datetime.now(UTC)  # one request: one time
            log.append(
                [
                    PredictionRecord(
                        request_id=new_id(),
                        prediction_id=new_id(),
                        time=now,
                        model=p.model,
                        entity_id=p.entity_id,
                        inputs=record,
                        score=p.score,
                        decision=p.decision,
                        ood=[str(f) for f in p.ood],
                        latency_ms=0.5,
                        route="champion",
                    )
                    for p, record in zip(found, batch, strict=True)
                ]
            )
    finally:
        log.close()
    if labels:
        outcomes = keel.outcome_log()
        try:
            outcomes.append(
                [
                    OutcomeRecord(time=now, entity_id=str(e), label=float(y))
                    for e, y in frame.select("application_id", "defaulted").iter_rows()
                    if y is not None
                ]
            )
        finally:
            outcomes.close()


def traffic(seed: int, *, drift: float = 0.0) -> pl.DataFrame:
    incidents = [CovariateDrift(column="income", shift=drift)] if drift else []
    return simulate_frame(rows=3000, seed=seed, start=LATER[0], end=LATER[1], incidents=incidents)


def test_stationary_traffic_opens_no_incident(keel: Keel) -> None:
    serve_offline(keel, traffic(21), labels=True)
    outcome = run_monitor(keel)
    assert [c.rows for c in outcome.chunks] == [500] * 6
    assert outcome.opened == [] and outcome.extended == [], [
        b for c in outcome.chunks for b in c.breaches
    ]
    for chunk in outcome.chunks:
        estimated = chunk.results["estimated"]["metrics"]["roc_auc"]
        realized = chunk.results["realized"]["metrics"]["roc_auc"]
        assert abs(estimated["value"] - realized["value"]) < 0.08
        assert chunk.results["realized"]["coverage"] == 1.0
    assert run_monitor(keel).chunks == []  # nothing new since the watermark


def test_drift_opens_one_incident_and_repeats_extend_it(keel: Keel) -> None:
    serve_offline(keel, traffic(22, drift=-1.5), labels=False)
    first = run_monitor(keel)
    drift = [i for i in first.opened if i.category == "drift"]
    assert len(drift) == 1 and "income" in drift[0].title
    assert all("income" in c.results["drift"]["drifted_columns"] for c in first.chunks)
    serve_offline(keel, traffic(23, drift=-1.5), labels=False)
    second = run_monitor(keel)
    assert [i.category for i in second.opened if i.category == "drift"] == []
    extended = [i for i in second.extended if i.category == "drift"]
    assert [i.seq for i in extended] == [drift[0].seq]
    assert extended[0].breaches > drift[0].breaches
    service = monitor_service(keel)
    assert len(service.incidents(IncidentStatus.OPEN)) == len(first.opened)
    report = render_history(keel.project.name, service.chunks(), service.incidents())
    assert "income" in report
    assert "http" not in report.replace("http://www.w3.org/2000/svg", "")  # nothing to fetch
    page = keel.settings.project_dir / "report.html"
    page.write_text(report, encoding="utf-8")
    plots = drawn_plots(page, keel.settings.project_dir)
    # performance over time, and per drifted feature: its distributions and its statistic
    assert len(plots) >= 3
    assert all(p["marks"] > 0 and p["width"] > 50 and p["height"] > 50 for p in plots), plots


def test_ack_and_resolve_with_notes_then_a_new_breach_opens_a_new_incident(keel: Keel) -> None:
    serve_offline(keel, traffic(24, drift=-1.5), labels=False)
    opened = next(i for i in run_monitor(keel).opened if i.category == "drift")
    service = monitor_service(keel)
    assert service.ack(opened.seq, OPERATOR, "looking").status is IncidentStatus.ACKED
    with pytest.raises(Conflict):
        service.ack(opened.seq, OPERATOR)
    with pytest.raises(InvalidInput, match="note"):
        service.resolve(opened.seq, OPERATOR, "  ")
    resolved = service.resolve(opened.seq, OPERATOR, "upstream fixed the income feed")
    assert (resolved.status, resolved.resolved_by) == (IncidentStatus.RESOLVED, "olga")
    _, events = service.incident(opened.seq)
    assert [e.kind for e in events] == ["opened", "ack", "resolve"]
    serve_offline(keel, traffic(25, drift=-1.5), labels=False)
    again = next(i for i in run_monitor(keel).opened if i.category == "drift")
    assert again.seq != opened.seq
    with keel.reader() as unit:
        actions = [e.action for e in unit.audit.scan()]
    for action in ("monitor.run", "incident.opened", "incident.ack", "incident.resolve"):
        assert action in actions


def test_the_use_cases_act_as_the_caller_and_return_typed_results(
    sqlite_keel: Keel, tmp_path: Path
) -> None:
    serve_offline(sqlite_keel, traffic(27, drift=-1.5), labels=False)
    opened = next(i for i in run_monitor(sqlite_keel).opened if i.category == "drift")
    assert opened.seq in [i.seq for i in list_incidents(sqlite_keel, IncidentStatus.OPEN)]
    acked = ack_incident(sqlite_keel, opened.seq, "looking")
    assert (acked.status, acked.acked_by) == (IncidentStatus.ACKED, LOCAL_ADMIN)
    resolved = resolve_incident(sqlite_keel, opened.seq, "upstream fixed the income feed")
    assert (resolved.status, resolved.resolved_by) == (IncidentStatus.RESOLVED, LOCAL_ADMIN)
    timeline = show_incident(sqlite_keel, opened.seq)
    assert timeline.incident == resolved
    assert timeline.to_dict() == {
        **resolved.to_dict(),
        "events": [e.to_dict() for e in timeline.events],
    }
    assert [e["kind"] for e in timeline.to_dict()["events"]] == ["opened", "ack", "resolve"]
    out = tmp_path / "monitor-report.html"
    written = write_report(sqlite_keel, out)
    incidents = len(list_incidents(sqlite_keel))
    assert written.to_dict() == {"out": str(out), "chunks": 6, "incidents": incidents}
    assert "income" in out.read_text(encoding="utf-8")


def test_a_viewer_reads_incidents_and_is_refused_the_rest_with_the_same_words(
    sqlite_keel: Keel,
) -> None:
    with sqlite_keel.unit() as unit:
        _, key = add_user(unit, Actor(LOCAL_ADMIN, Role.ADMIN, "local"), "vera", Role.VIEWER)
    viewer = replace(sqlite_keel, settings=replace(sqlite_keel.settings, api_key=key))
    assert list_incidents(viewer) == []
    refused: dict[str, Callable[[], object]] = {
        "running the monitor": lambda: run_monitor(viewer),
        "acknowledging an incident": lambda: ack_incident(viewer, 1),
        "resolving an incident": lambda: resolve_incident(viewer, 1, "note"),
    }
    for action, call in refused.items():
        with pytest.raises(PermissionDenied, match=f"^{action} needs the operator role; vera "):
            call()


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        type(self).received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_an_opened_incident_is_posted_to_the_webhook(keel: Keel) -> None:
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        path = keel.settings.project_dir / "keel.yaml"
        config = yaml.safe_load(path.read_text())
        config["monitoring"]["notify"] = {
            "webhook": f"http://127.0.0.1:{server.server_port}/h",
            "allow_networks": ["127.0.0.1/32"],
        }
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        keel.project = load_project(path)
        serve_offline(keel, traffic(26, drift=-1.5), labels=False)
        outcome = run_monitor(keel)
    finally:
        server.shutdown()
        server.server_close()
    assert outcome.notified and all(n["delivered"] for n in outcome.notified)
    posted = {body["incident"]["incident"] for body in _Hook.received}
    assert posted == {i.seq for i in outcome.opened}
    _, events = monitor_service(keel).incident(outcome.opened[0].seq)
    assert events[-1].kind == "notified" and events[-1].details["to"].startswith("http://127.0.0.1")


@pytest.fixture
def sqlite_keel(tmp_path: Path, sqlite_url: str) -> Iterator[Keel]:
    """The same project on SQLite alone: the incident cases below need no second backend."""
    yield from keel.__wrapped__(tmp_path, sqlite_url)  # type: ignore[attr-defined]


SCRIPTED = {
    "covariate drift": (CovariateDrift(column="credit_score", shift=-1.0), "drift credit_score"),
    "unit change": (UnitChange(column="income", factor=0.001), "quality income out_of_range"),
    "null spike": (
        NullSpike(column="employment_years", rate=0.3),
        "quality employment_years missing",
    ),
    "concept drift": (ConceptDrift(), "realized roc_auc"),
}


@pytest.mark.parametrize("case", list(SCRIPTED))
def test_each_scripted_incident_is_caught_by_the_right_check(sqlite_keel: Keel, case: str) -> None:
    incident, check = SCRIPTED[case]
    frame = simulate_frame(rows=3000, seed=40, start=LATER[0], end=LATER[1], incidents=[incident])
    serve_offline(sqlite_keel, frame, labels=True)
    outcome = run_monitor(sqlite_keel)
    caught = {b["check"] for c in outcome.chunks for b in c.breaches}
    assert check in caught, caught


def test_a_new_category_is_refused_at_the_door(sqlite_keel: Keel) -> None:
    """The contract lists purpose's values, so an unseen one never reaches the model or the log:
    the request check refuses it, naming the field (the monitor's unseen-rate check is for
    categories the contract leaves open)."""
    incident = NewCategory(column="purpose", value="crypto", share=0.05)
    frame = simulate_frame(rows=600, seed=40, start=LATER[0], end=LATER[1], incidents=[incident])
    with pytest.raises(InvalidRecords, match=r"records\[\d+\]\.purpose: not one of"):
        serve_offline(sqlite_keel, frame, labels=False)


@pytest.mark.parametrize("flush", [False, True], ids=["complete", "flushed"])
def test_a_backlog_read_in_windows_makes_the_chunks_of_one_read(keel: Keel, flush: bool) -> None:
    """A monitor run reads the log window by window (bounded memory); carrying each window's
    trailing rows into the next gives exactly the chunks one read of everything gives."""
    from keel.app.monitoring import _chunks, _reference
    from keel.monitoring.monitor import split_chunks

    serve_offline(keel, traffic(24).head(2750), labels=True)
    reference, now = _reference(keel), datetime.now(UTC)
    spec = keel.project.monitoring.chunk

    def split(frame: pl.DataFrame, last: bool, before: int) -> list[Any]:
        return split_chunks(frame, spec, now=now, flush=flush and last, rows_before=before)

    whole = list(_chunks(keel, reference, None, split, window_rows=1_000_000))
    windowed = list(_chunks(keel, reference, None, split, window_rows=330))
    assert [c.frame.height for c in whole] == [500] * 5 + ([250] if flush else [])
    assert [(c.label, c.start, c.end) for c in windowed] == [
        (c.label, c.start, c.end) for c in whole
    ]
    for mine, theirs in zip(windowed, whole, strict=True):
        assert mine.frame.equals(theirs.frame)
