"""The agent under faults: killed (SIGKILL) right after a step changed the world and before the
journal heard of it, then restarted; two agents at once; the metadata database unreachable
(PostgreSQL) or locked (SQLite) for 30 s in the middle of a step. Each step happens once, the
release history holds each change once, and the audit chain stays whole."""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from tests.contract.agent_crash import HOLDER
from tests.contract.agent_project import (
    OPERATOR,
    agent_project,
    log_traffic,
    open_incident,
)
from tests.contract.conftest import open_project

from keel.app import agent
from keel.app._agent_steps import OnStep
from keel.audit.chain import verify_chain
from keel.automation.journal import ActionStatus, AgentAction
from keel.registry.policy import MetricGate, ReleasePolicy
from keel.training.service import TrainRequest
from keel.wiring import Keel

ROOT = Path(__file__).resolve().parents[2]


def journal(keel: Keel) -> list[AgentAction]:
    with keel.reader() as unit:
        return unit.agent.actions(keel.project.name)


def resume_until_done(keel: Keel) -> AgentAction:
    """Restarted: ticks (with traffic for the canary) until the action ends."""
    for _ in range(6):
        agent.tick(keel, holder=HOLDER)
        action = journal(keel)[0]
        if not action.status.is_open:
            return action
        registered = action.done("register")
        if registered is not None:
            log_traffic(keel, int(registered.details["version"]))
    raise AssertionError(f"the action never ended: {journal(keel)[0].to_dict()}")


def assert_consistent(keel: Keel, action: AgentAction) -> None:
    done = Counter(s.name for s in action.steps if s.state == "done")
    assert action.status is ActionStatus.DONE, action.outcome
    assert all(count == 1 for count in done.values()), done
    assert {"train", "register", "gate", "shadow", "canary:10", "canary:50", "promote"} <= set(done)
    changes = Counter(
        (r.action, r.details.get("share"))
        for r in keel.registry().history()
        if r.actor == "keel-agent"
    )
    assert changes == {("shadow", None): 1, ("canary", 10): 1, ("canary", 50): 1}, changes
    with keel.reader() as unit:
        runs = [r for r in unit.runs.list(keel.project.name) if action.key in r.tags]
        pending = unit.promotions.all_pending(keel.project.name)
        report = verify_chain(unit.audit.scan(), unit.audit.head())
    assert len(runs) == 1 and len(pending) == 1
    assert report.ok


EVERY_STEP = ("train", "register", "gate", "shadow", "canary:10", "canary:50", "promote")


def crash_at(folder: Path, database_url: str, step: str) -> None:
    """A fresh agent process resumes the action, applies ``step`` and is killed (SIGKILL)
    before the journal records it done."""
    crashed = subprocess.run(
        [sys.executable, "-m", "tests.contract.agent_crash", str(folder), database_url, step],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert crashed.returncode == -9, crashed.stderr[-2000:]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("backend", "steps"),
    [
        ("sqlite_url", EVERY_STEP),
        pytest.param("postgres_url", ("train", "shadow", "canary:50"), marks=pytest.mark.postgres),
    ],
    ids=["sqlite-every-step", "postgres"],
)
def test_killed_at_each_step_the_restarted_agent_does_each_once(
    tmp_path: Path, request: pytest.FixtureRequest, backend: str, steps: tuple[str, ...]
) -> None:
    """Killed after each step in turn, each time restarted by the next process: in the end
    every step is journaled done once, and the world shows each change once."""
    database_url: str = request.getfixturevalue(backend)
    folder = tmp_path / "proj"
    keel = agent_project(folder, database_url)
    open_incident(keel)
    for step in steps:
        crash_at(folder, database_url, step)
        last = journal(keel)[0].last
        assert last is not None and (last.name, last.state) == (step, "started")
    assert_consistent(keel, resume_until_done(keel))
    keel.close()


def test_two_agents_at_once_one_acts(tmp_path: Path, database_url: str) -> None:
    folder = tmp_path / "proj"
    agent_project(folder, database_url).close()
    projects = [open_project(folder, database_url) for _ in range(2)]
    open_incident(projects[0])
    barrier = threading.Barrier(2)
    results: list[agent.PassResult] = []

    def start(keel: Keel, name: str) -> None:
        barrier.wait()
        results.append(agent.tick(keel, holder=name))

    threads = [
        threading.Thread(target=start, args=(keel, f"agent-{i}")) for i, keel in enumerate(projects)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.leader for r in results) == [False, True]
    waiting = next(r for r in results if not r.leader)
    assert "waits" in waiting.events[0]
    actions = journal(projects[0])
    assert len(actions) == 1
    assert Counter(s.name for s in actions[0].steps if s.state == "done")["train"] == 1
    for keel in projects:
        keel.close()


class _Proxy:
    """A TCP relay on loopback to PostgreSQL that can be cut (the database unreachable) and
    restored on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self.sockets: list[socket.socket] = []
        self.listener: socket.socket | None = None
        self.up()

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self.port = listener.getsockname()[1]
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        if self.listener is not None:
            with contextlib.suppress(OSError):
                self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept
            self.listener.close()
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
                sock.close()
        self.sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)


def test_the_loop_outlives_an_unreachable_database_without_double_actions(
    tmp_path: Path, postgres_url: str
) -> None:
    folder = tmp_path / "proj"
    direct = agent_project(folder, postgres_url)
    open_incident(direct)
    parsed = urlsplit(postgres_url)
    proxy = _Proxy((parsed.hostname or "127.0.0.1", parsed.port or 5432))
    relayed = postgres_url.replace(parsed.netloc, f"{parsed.username}@127.0.0.1:{proxy.port}")
    keel = open_project(folder, relayed)
    seen: list[agent.PassResult] = []

    def outage(result: agent.PassResult) -> None:
        """After the first pass the database goes away for three passes, then comes back."""
        seen.append(result)
        if len(seen) == 1:
            proxy.down()
        elif len(seen) == 4:
            proxy.up()
            registered = journal(direct)[0].done("register")
            assert registered is not None
            log_traffic(direct, int(registered.details["version"]))

    assert agent.run(keel, interval_seconds=0.3, passes=5, on_pass=outage) == 5
    assert all("unreachable" in r.events[0] for r in seen[1:4]), [r.events for r in seen]
    action = journal(direct)[0]
    done = Counter(s.name for s in action.steps if s.state == "done")
    assert done["passed:canary:10"] == 1 and done["canary:50"] == 1
    assert all(count == 1 for count in done.values()), done
    proxy.down()
    keel.close()
    direct.close()


OUTAGE_SECONDS = 30.0


class _Enough(Exception):
    """Ends the agent's loop in a test once the action has ended after the outage."""


class _Outage:
    """The metadata database taken away at one moment of one step (an ``on_step`` event of the
    agent: ``started``, before the step changes anything, or ``applied``, after it changed the
    world and before the journal heard of it) and given back once ``OUTAGE_SECONDS`` have
    passed and a pass of the loop has run into it."""

    def __init__(
        self,
        event: str,
        step: str,
        cut: Callable[[], None],
        back: Callable[[], None],
        delay: float = 0.0,
    ) -> None:
        self.moment = (event, step)
        self.cut, self.back, self.delay = cut, back, delay
        self.began: float | None = None
        self.lasted: float | None = None
        self.armed = False

    def on_step(self, event: str, step: str) -> None:
        if (event, step) == self.moment and not self.armed:
            self.armed = True
            if self.delay:  # while the step runs (say, a training), from another thread
                threading.Timer(self.delay, self._cut).start()
            else:
                self._cut()

    def _cut(self) -> None:
        self.cut()
        self.began = time.monotonic()

    def end_if_due(self, result: agent.PassResult) -> None:
        if self.began is None or self.lasted is not None:
            return
        waited = time.monotonic() - self.began
        if waited >= OUTAGE_SECONDS and not result.leader:  # this pass ran into it
            self.back()
            self.lasted = waited


def loop_through(
    keel: Keel,
    outage: _Outage,
    direct: Keel,
    meanwhile: OnStep | None = None,
    *,
    error_rate: float = 0.0,
) -> list[agent.PassResult]:
    """The agent's loop (``keel agent run``) on ``keel`` through ``outage``, until its action
    has ended after the outage; the canary's traffic logged once per canary step (read and
    written through ``direct``, which the outage does not touch), the canary failing
    ``error_rate`` of its requests; ``meanwhile`` told of each step's events before the
    outage is."""
    seen: list[agent.PassResult] = []
    logged: set[str] = set()

    def on_step(event: str, step: str) -> None:
        if meanwhile is not None:
            meanwhile(event, step)
        outage.on_step(event, step)

    def on_pass(result: agent.PassResult) -> None:
        seen.append(result)
        outage.end_if_due(result)
        action = journal(direct)[0]
        if outage.lasted is not None and not action.status.is_open:
            raise _Enough
        assert len(seen) < 500, [r.events for r in seen[-5:]]
        registered = action.done("register")
        for step in ("canary:10", "canary:50"):
            if registered is not None and action.done(step) and step not in logged:
                log_traffic(direct, int(registered.details["version"]), error_rate=error_rate)
                logged.add(step)

    with pytest.raises(_Enough):
        agent.run(keel, interval_seconds=0.5, on_pass=on_pass, on_step=on_step, holder=HOLDER)
    return seen


def relayed(folder: Path, postgres_url: str) -> tuple[Keel, _Proxy]:
    """The project opened through a relay to PostgreSQL that can be cut."""
    parsed = urlsplit(postgres_url)
    proxy = _Proxy((parsed.hostname or "127.0.0.1", parsed.port or 5432))
    url = postgres_url.replace(parsed.netloc, f"{parsed.username}@127.0.0.1:{proxy.port}")
    return open_project(folder, url), proxy


def sqlite_lock(keel: Keel) -> tuple[Callable[[], None], Callable[[], None]]:
    """Another connection taking SQLite's write lock (a write transaction left open), and
    ending it."""
    assert keel.db.file is not None
    holder = sqlite3.connect(keel.db.file, isolation_level=None, timeout=5, check_same_thread=False)

    def cut() -> None:
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("UPDATE agent_controls SET paused = paused")

    def back() -> None:
        with contextlib.suppress(sqlite3.ProgrammingError):  # closed already
            if holder.in_transaction:
                holder.execute("COMMIT")
            holder.close()

    return cut, back


@contextlib.contextmanager
def with_outage(
    folder: Path, database_url: str, event: str, step: str, delay: float = 0.0
) -> Iterator[tuple[Keel, Keel, _Outage]]:
    """The agent's project (opened through what the outage cuts), a direct one to look with,
    and the outage at ``(event, step)`` (``delay`` seconds after)."""
    direct = open_project(folder, database_url)
    try:
        if database_url.startswith("sqlite"):
            cut, back = sqlite_lock(direct)
            try:
                yield direct, direct, _Outage(event, step, cut, back, delay)
            finally:
                back()  # a second time, when the test failed with the lock held: harmless
            return
        keel, proxy = relayed(folder, database_url)
        try:
            yield keel, direct, _Outage(event, step, proxy.down, proxy.up, delay)
        finally:
            proxy.down()
            keel.close()
    finally:
        direct.close()


def assert_waited(seen: list[agent.PassResult], outage: _Outage, word: str) -> None:
    """The loop went on through the outage, each pass it met saying so in one line."""
    assert outage.lasted is not None and outage.lasted >= OUTAGE_SECONDS
    failed = [r.events[0] for r in seen if not r.leader]
    assert failed and all(word in line for line in failed), failed
    assert all("\n" not in line and "Traceback" not in line for line in failed), failed
    assert seen[-1].leader, seen[-1].events


def check_retrain(
    direct: Keel, seen: list[agent.PassResult], outage: _Outage, word: str, step: str
) -> None:
    assert_waited(seen, outage, word)
    action = journal(direct)[0]
    assert_consistent(direct, action)
    started = Counter(s.name for s in action.steps if s.state == "started")
    assert started[step] == 2, action.to_dict()  # started, cut off, started again: done once
    head, pending = direct.registry().status()
    assert head is not None and head.state.champion == 1 and len(pending) == 1
    by_agent = [r.action for r in direct.registry().history() if r.actor == "keel-agent"]
    assert "promote" not in by_agent, by_agent  # the promotion waits for a person
    since = datetime.now(UTC) - timedelta(days=1)
    with direct.reader() as unit:
        spent = {k: unit.agent.spent(direct.project.name, k, since) for k in ("retrain", "canary")}
    assert spent == {"retrain": 1, "canary": 1}, spent


@pytest.mark.slow
@pytest.mark.parametrize(
    ("backend", "event", "step", "word"),
    [
        ("sqlite_url", "applied", "shadow", "locked"),
        ("sqlite_url", "started", "canary:50", "locked"),
        pytest.param(
            "postgres_url", "applied", "canary:10", "unreachable", marks=pytest.mark.postgres
        ),
        pytest.param("postgres_url", "started", "gate", "unreachable", marks=pytest.mark.postgres),
    ],
    ids=[
        "sqlite-applied-shadow",
        "sqlite-started-canary50",
        "postgres-applied-canary10",
        "postgres-started-gate",
    ],
)
def test_a_30_s_outage_in_the_middle_of_a_step_is_waited_out_and_each_step_done_once(
    tmp_path: Path,
    request: pytest.FixtureRequest,
    backend: str,
    event: str,
    step: str,
    word: str,
) -> None:
    """The metadata database goes away for 30 s in the middle of a step of a retrain: on
    PostgreSQL the network to it is cut; on SQLite another connection holds the write lock
    (longer than the 30 s a writer waits). The loop says so each pass and goes on; once the
    database is back the step is resumed (the world checked first), and in the end each step
    is done once, the release history holds each change once, no other champion, one run,
    one promotion request, each budget charged once."""
    database_url: str = request.getfixturevalue(backend)
    folder = tmp_path / "proj"
    agent_project(folder, database_url).close()
    with with_outage(folder, database_url, event, step) as (keel, direct, outage):
        open_incident(direct)
        seen = loop_through(keel, outage, direct)
        check_retrain(direct, seen, outage, word, step)


BOTH_BACKENDS = pytest.mark.parametrize(
    ("backend", "word"),
    [
        ("sqlite_url", "locked"),
        pytest.param("postgres_url", "unreachable", marks=pytest.mark.postgres),
    ],
    ids=["sqlite", "postgres"],
)
"""Each database, and the word the agent's loop uses for it gone: SQLite's write lock held
(locked), PostgreSQL cut off (unreachable)."""


@pytest.mark.slow
@BOTH_BACKENDS
def test_a_rollback_cut_off_after_it_applied_is_not_done_twice(
    tmp_path: Path, request: pytest.FixtureRequest, backend: str, word: str
) -> None:
    """An SLO incident: the agent rolls back a person's canary; the database goes away for
    30 s once the rollback is made and before the journal hears of it. Resumed, the rollback
    is found made (its starting point is the release it first started from, not its own
    change), so the champion stays: a second rollback would have undone the champion too.
    Regression: the resumed step took the release it found (its own rollback) as its start."""
    database_url: str = request.getfixturevalue(backend)
    folder = tmp_path / "proj"
    setup = agent_project(folder, database_url)
    run = setup.trainer().train(TrainRequest(actor="tester", params={"n_estimators": 10}))
    registry = replace(setup.registry(), policy=ReleasePolicy())
    model, _ = registry.register(run.id, OPERATOR)
    registry.gate(model.version, OPERATOR)
    person = registry.canary(model.version, 20, OPERATOR)
    setup.close()
    with with_outage(folder, database_url, "applied", "rollback") as (keel, direct, outage):
        open_incident(direct, "slo")
        seen = loop_through(keel, outage, direct)
        assert_waited(seen, outage, word)
        action = journal(direct)[0]
        assert action.kind == "rollback" and action.status is ActionStatus.DONE, action.to_dict()
        done = [s for s in action.steps if s.state == "done"]
        assert [s.name for s in done] == ["rollback"] and done[0].details["resumed"], done
        rollbacks = [r for r in direct.registry().history() if r.action == "rollback"]
        assert len(rollbacks) == 1 and rollbacks[0].details["undoes"] == person.id, rollbacks
        head, _ = direct.registry().status()
        assert head is not None and head.state.champion == 1 and head.state.canary is None


@pytest.mark.slow
@BOTH_BACKENDS
def test_a_failed_canary_cut_off_before_its_incident_opens_it_on_resume(
    tmp_path: Path, request: pytest.FixtureRequest, backend: str, word: str
) -> None:
    """The canary fails on its errors; the agent stops it and journals the rollback, and the
    database goes away for 30 s before the incident is opened. Resumed, the agent opens the
    canary incident once, with the canary's breaches, and ends the action failed.
    Regression: the resumed pass ended the action with no incident at all."""
    database_url: str = request.getfixturevalue(backend)
    folder = tmp_path / "proj"
    agent_project(folder, database_url).close()
    with with_outage(folder, database_url, "done", "rolled_back") as (keel, direct, outage):
        open_incident(direct)
        seen = loop_through(keel, outage, direct, error_rate=0.3)
        assert_waited(seen, outage, word)
        action = journal(direct)[0]
        assert action.status is ActionStatus.FAILED, action.to_dict()
        assert action.outcome["result"].startswith("canary failed"), action.outcome
        assert action.outcome["resumed"] and action.outcome["incident"], action.outcome
        with direct.reader() as unit:
            canary = [i for i in unit.incidents.all(direct.project.name) if i.category == "canary"]
            assert len(canary) == 1, canary
            events = unit.incidents.events(direct.project.name, canary[0].seq)
        assert canary[0].seq == action.outcome["incident"]
        breaches = [b for e in events for b in e.details.get("breaches", [])]
        assert breaches and all(b["chunk"] == action.id for b in breaches), breaches
        assert canary[0].breaches == len(breaches)


@pytest.mark.slow
@BOTH_BACKENDS
def test_a_refused_gate_whose_end_was_not_recorded_ends_the_action_on_resume(
    tmp_path: Path, request: pytest.FixtureRequest, backend: str, word: str
) -> None:
    """The gate refuses the candidate (its AUC under an unreachable 0.999) and the journal
    records so; the database goes away for 30 s before the action's end is recorded. Resumed,
    the action ends failed: the refused candidate is never put in shadow or canary.
    Regression: the resumed pass saw the gate step done and went on to the shadow step."""
    database_url: str = request.getfixturevalue(backend)
    folder = tmp_path / "proj"
    agent_project(folder, database_url, gates=[{"metric": "roc_auc", "min": 0.999}]).close()
    with with_outage(folder, database_url, "done", "gate") as (keel, direct, outage):
        open_incident(direct)
        seen = loop_through(keel, outage, direct)
        assert_waited(seen, outage, word)
        action = journal(direct)[0]
        assert action.status is ActionStatus.FAILED, action.to_dict()
        assert action.outcome["result"] == "the gate refused the candidate", action.outcome
        done = [s.name for s in action.steps if s.state == "done"]
        assert done == ["train", "register", "gate"], done
        by_agent = [r.action for r in direct.registry().history() if r.actor == "keel-agent"]
        assert by_agent == [], by_agent


@pytest.mark.slow
@pytest.mark.parametrize(
    ("backend", "event", "step", "word"),
    [
        ("sqlite_url", "failed", "canary:10", "locked"),
        pytest.param(
            "postgres_url", "failed", "canary:10", "unreachable", marks=pytest.mark.postgres
        ),
        pytest.param(
            "postgres_url", "done", "rolled_back", "unreachable", marks=pytest.mark.postgres
        ),
    ],
    ids=["sqlite", "postgres", "postgres-compensated"],
)
def test_a_failed_step_whose_compensation_was_cut_off_is_compensated_not_tried_again(
    tmp_path: Path, request: pytest.FixtureRequest, backend: str, event: str, step: str, word: str
) -> None:
    """Once the candidate is in shadow, a person gates it again under a stricter policy, so
    the registry refuses its canary: the canary step fails, is journaled failed, and the
    database goes away for 30 s before the compensation (stopping the shadow) is recorded,
    or once it is and before the action's end is. Resumed, the agent compensates (or only
    ends the action): the shadow stopped once, the action failed, the canary step tried once.
    Regression: the resumed pass took the failed step for one never tried and started it
    again; and compensated a compensated action again, its outcome then stopping nothing."""
    database_url: str = request.getfixturevalue(backend)
    folder = tmp_path / "proj"
    agent_project(folder, database_url).close()

    def regate(event: str, step: str) -> None:
        if (event, step) == ("done", "shadow"):
            strict = ReleasePolicy(gates=[MetricGate(metric="roc_auc", min=0.999)])
            registry = replace(direct.registry(), policy=strict)
            assert not registry.gate(2, OPERATOR).passed

    with with_outage(folder, database_url, event, step) as (keel, direct, outage):
        open_incident(direct)
        seen = loop_through(keel, outage, direct, regate)
        assert_waited(seen, outage, word)
        action = journal(direct)[0]
        assert action.status is ActionStatus.FAILED, action.to_dict()
        assert action.outcome["result"].startswith("canary:10 failed: the gate failed")
        assert action.outcome["stopped"] == ["shadow"], action.outcome
        tried = Counter(s.name for s in action.steps if s.state in ("started", "failed"))
        assert tried["canary:10"] == 2, action.to_dict()  # started once, failed once
        assert [s.name for s in action.steps].count("rolled_back") == 1, action.to_dict()
        by_agent = [r.action for r in direct.registry().history() if r.actor == "keel-agent"]
        assert by_agent == ["shadow.stop", "shadow"], by_agent  # newest first


@pytest.mark.slow
@BOTH_BACKENDS
def test_a_training_cut_off_by_the_outage_is_recorded_abandoned_and_trained_once_more(
    tmp_path: Path, request: pytest.FixtureRequest, backend: str, word: str
) -> None:
    """The database goes away for 30 s a second into the retrain's training (a recipe of
    1,500 trees, some seconds long): the run's end cannot be recorded, so the run is left
    'running'. Resumed, the agent records that run failed (abandoned) and trains once more:
    one succeeded run for the action, the train step done once, the budget charged once.
    Regression: the abandoned run stayed 'running' for ever beside the one trained after."""
    database_url: str = request.getfixturevalue(backend)
    folder = tmp_path / "proj"
    agent_project(folder, database_url).close()
    config = yaml.safe_load((folder / "keel.yaml").read_text())
    config["model"]["params"].update(n_estimators=1500, num_leaves=63)
    (folder / "keel.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    with with_outage(folder, database_url, "started", "train", delay=1.0) as (
        keel,
        direct,
        outage,
    ):
        open_incident(direct)
        seen = loop_through(keel, outage, direct)
        assert_waited(seen, outage, word)
        action = journal(direct)[0]
        assert action.status is ActionStatus.DONE, action.outcome
        done = Counter(s.name for s in action.steps if s.state == "done")
        assert done["train"] == 1 and all(n == 1 for n in done.values()), done
        with direct.reader() as unit:
            runs = [r for r in unit.runs.list(direct.project.name) if action.key in r.tags]
            since = datetime.now(UTC) - timedelta(days=1)
            spent = unit.agent.spent(direct.project.name, "retrain", since)
        states = sorted((r.status.value, (r.error or "").split(":")[0]) for r in runs)
        assert states == [("failed", "abandoned"), ("succeeded", "")], states
        trained = action.done("train")
        assert trained is not None
        assert trained.details["run"] == next(r.id for r in runs if r.error is None)
        assert spent == 1
