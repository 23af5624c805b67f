"""One control-plane project per test session, made through the use cases, and a real
``keel server`` over a copy of it per module.

The template (built once under a file lock, whichever xdist worker comes first): the loan
example with 6,000 simulated applications, four users (ana operator, omar approver, vera
viewer, root admin), v1 champion (requested by ana, approved by omar), v2 gated and requested
by omar (awaiting an approver other than omar), 1,500 predictions served over HTTP with an
income shift, and one monitor run that opened incidents.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pytest
import yaml

from keel.app import data, monitoring, project, registry, training
from keel.app.scaffold import scaffold
from keel.app.session import open_project
from keel.identity.roles import Role
from keel.simulate import CovariateDrift, simulate_frame
from keel.store.sql.schema import upgrade
from tests.api.live import START_SECONDS, Server, free_port

USERS = (  # the admin first: once a project has users, adding more needs an admin's key
    ("root", Role.ADMIN),
    ("ana", Role.OPERATOR),
    ("omar", Role.APPROVER),
    ("vera", Role.VIEWER),
)
SMALL = {"n_estimators": 30, "num_leaves": 15}
TIMEOUT = 120.0  # seconds per request: generous, for a loaded CI machine


def _build(folder: Path) -> dict[str, str]:
    scaffold(folder, "loan")
    config = yaml.safe_load((folder / "keel.yaml").read_text())
    config["release"] = {
        "benchmark": "holdout",
        "gates": [{"metric": "roc_auc", "min": 0.6}],
        "approvals": 1,
    }
    (folder / "keel.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    admin = open_project(folder, check=False)
    keys: dict[str, str] = {}
    try:
        upgrade(admin.db)
        for name, role in USERS:
            keys[name] = project.add_user_with_key(admin, name, role).api_key
            if name == "root":
                admin.close()
                admin = open_project(folder, check=False, api_key=keys["root"])
        frame = simulate_frame(
            rows=6000, seed=5, start=datetime(2024, 1, 1), end=datetime(2024, 4, 1)
        )
        frame.write_parquet(folder / "data.parquet")
        data.ingest(admin, data.BatchFrom(file=folder / "data.parquet"), source="sim")
    finally:
        admin.close()
    ana = open_project(folder, api_key=keys["ana"])
    omar = open_project(folder, api_key=keys["omar"])
    try:
        for seed, requester in ((None, ana), (7, omar)):
            run = training.train(ana, params=SMALL, seed=seed).run
            version = registry.register(ana, run.id).model.version
            registry.gate(ana, version)
            registry.promote(requester, version)
            if version == 1:
                registry.approve(omar, version, note="card read")
        _serve(folder, keys["ana"])
        monitoring.run_monitor(ana, flush=True)
    finally:
        ana.close()
        omar.close()
    return keys


def _serve(folder: Path, key: str) -> None:
    from keel.app.traffic import LocalServer, send_outcomes, send_traffic

    drift = (CovariateDrift(column="income", at=0.5, until=1.0, shift=-2.0),)
    frame = simulate_frame(
        rows=1500, seed=11, start=datetime(2024, 4, 1), end=datetime(2024, 5, 1), incidents=drift
    )
    with LocalServer(folder, api_key=key) as server:
        send_traffic(server.url, key, frame, batch=50)
        send_outcomes(server.url, key, frame.head(1000))


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):  # shared by the workers of this session only
        root = root.parent
    folder, keys_file = root / "control-template", root / "control-template.json"
    with (root / "control-template.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not keys_file.exists():
            shutil.rmtree(folder, ignore_errors=True)
            keys = _build(folder)
            keys_file.write_text(json.dumps(keys))
    return folder, json.loads(keys_file.read_text())


def start_control_server(folder: Path, *args: str) -> Server:
    """``keel server`` in ``folder`` on a free loopback port, once its login page answers."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KEEL_")}
    environ |= {"NO_COLOR": "1", "COLUMNS": "200"}
    log = folder.parent / f"server-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "keel", "server", "--port", str(port), *args],
            cwd=folder,
            env=environ,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, f"http://127.0.0.1:{port}", folder, log)
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"keel server exited with {process.returncode}:\n{server.output()}"
            )
        try:
            if httpx.get(f"{server.url}/login", timeout=1.0).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.stop()
    raise AssertionError(f"keel server did not answer in {START_SECONDS} s:\n{server.output()}")


@dataclass
class Plane:
    server: Server
    folder: Path
    keys: dict[str, str]

    def headers(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[user]}"}


def start_plane(template: tuple[Path, dict[str, str]], tmp: Path) -> Iterator[Plane]:
    source, keys = template
    folder = tmp / "proj"
    shutil.copytree(source, folder)
    server = start_control_server(folder, "--session-hours", "1")
    try:
        yield Plane(server, folder, keys)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def plane(
    template: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Plane]:
    yield from start_plane(template, tmp_path_factory.mktemp("plane"))
