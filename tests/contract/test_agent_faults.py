"""The agent under faults: killed (SIGKILL) right after a step changed the world and before the
journal heard of it, then restarted; two agents at once. Each step happens once, the release
history holds each change once, and the audit chain stays whole."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from tests.contract.agent_crash import HOLDER
from tests.contract.agent_project import agent_project, log_traffic, open_incident
from tests.contract.conftest import open_project

from keel.app import agent
from keel.audit.chain import verify_chain
from keel.automation.journal import ActionStatus, AgentAction
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
