"""Run the agent in this process until it has applied step ``STEP``, then die with SIGKILL
before the journal hears of it: ``python -m tests.contract.agent_crash FOLDER DB_URL STEP``."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from tests.contract.agent_project import log_traffic
from tests.contract.conftest import open_project

from keel.app import agent

HOLDER = "agent-pod-0"  # the restarted agent has the same identity (a StatefulSet's pod name)


def main(folder: str, database_url: str, step: str) -> None:
    keel = open_project(Path(folder), database_url)

    def die_after(event: str, name: str) -> None:
        if event == "applied" and name == step:
            os.kill(os.getpid(), signal.SIGKILL)

    for _ in range(6):
        agent.tick(keel, holder=HOLDER, on_step=die_after)
        with keel.reader() as unit:
            actions = unit.agent.actions(keel.project.name)
        registered = actions[0].done("register") if actions else None
        if registered is not None:
            log_traffic(keel, int(registered.details["version"]))
    sys.exit(3)  # never reached the step


if __name__ == "__main__":
    main(*sys.argv[1:4])
