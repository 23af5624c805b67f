"""Projects for the prediction service, prepared through the Python API once per session.

The template (made by whichever xdist worker comes first, under a file lock) is the loan
example with 6,000 simulated applications, release gates off, and four registered versions:

- v1 (champion), v2 (the same recipe, another seed: a challenger) and v3 (a weak two-leaf
  model, the configured baseline): real LightGBM models;
- v4: v2's pipeline with a real LightGBM booster fitted on three features, so it loads but
  raises on every request (the model that raises).

Each test works on its own copy of the folder (database, artifacts and logs included).
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
import yaml

from keel.app.scaffold import scaffold
from keel.config import Settings, load_project
from keel.data.ingest import BatchInput, Chunk
from keel.identity.actor import Actor
from keel.identity.roles import Role
from keel.models.factory import make_estimator
from keel.simulate import simulate_frame
from keel.store.sql.schema import upgrade
from keel.store.tables.prediction_log import PredictionLog
from keel.training.service import TrainRequest
from keel.wiring import Keel, open_keel
from tests.api.live import Server, start_server

SMALL = {"n_estimators": 30, "num_leaves": 15}
WEAK = {"n_estimators": 2, "num_leaves": 2}
OPERATOR = Actor("olga", Role.OPERATOR, "api-key")
ADMIN = Actor("admin", Role.ADMIN, "api-key")
PROJECT = "loan-default"
CHAMPION, CHALLENGER, BASELINE, RAISES = 1, 2, 3, 4


def open_project(folder: Path, database_url: str | None = None) -> Keel:
    """The project in ``folder`` through the Python API (the database as the server sees it)."""
    project = load_project(folder / "keel.yaml")
    settings = Settings.resolve(folder, project, environ={}, database_url=database_url)
    return open_keel(settings, project=project, check=False)


def prepare(
    folder: Path,
    database_url: str | None = None,
    *,
    broken: bool = True,
    store_url: str | None = None,
) -> None:
    """The loan project with data, gates off, v1 to v3 trained and v1 promoted (see above);
    with ``store_url``, keel.yaml names that store (an object store every replica reaches)."""
    scaffold(folder, "loan")
    config = yaml.safe_load((folder / "keel.yaml").read_text())
    config["release"] = {"benchmark": "holdout", "gates": [], "approvals": 0, "baseline": BASELINE}
    if store_url is not None:
        config["storage"] = {"store_url": store_url}
    (folder / "keel.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    keel = open_project(folder, database_url)
    try:
        upgrade(keel.db)
        frame = simulate_frame(
            rows=6000, seed=5, start=datetime(2024, 1, 1), end=datetime(2024, 4, 1)
        )
        request = BatchInput(keel.dataset, "sim", "sim", None, False, "tester")
        keel.ingestor().ingest(request, [Chunk(frame, False)])
        for params, seed in ((SMALL, None), (SMALL, 7), (WEAK, None)):
            register(
                keel, keel.trainer().train(TrainRequest("tester", params=params, seed=seed)).id
            )
        if broken:
            register(keel, _raising_run(keel))
        promote(keel, CHAMPION)
    finally:
        keel.close()


def register(keel: Keel, run_id: str) -> int:
    model, _ = keel.registry().register(run_id, OPERATOR)
    return model.version


def gate(keel: Keel, version: int) -> None:
    keel.registry().gate(version, OPERATOR)


def promote(keel: Keel, version: int, *, gated: bool = False) -> None:
    """Promote ``version``, gating it first unless it was gated already."""
    registry = keel.registry()
    if not gated:
        registry.gate(version, OPERATOR)
    registry.promote(version, OPERATOR)


def _raising_run(keel: Keel) -> str:
    """A run whose stored bundle pairs v2's pipeline with a booster fitted on 3 features."""
    registry = keel.registry()
    bundle = registry.bundle(CHALLENGER)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(200, 3)), rng.integers(0, 2, size=200).astype(float)
    estimator = make_estimator("lightgbm", "binary", WEAK, seed=1)
    estimator.fit(x, y, names=["a", "b", "c"], categorical=[])
    digest = replace(bundle, estimator=estimator).save(keel.blobs)
    with keel.unit() as unit:
        run = unit.runs.get(registry.model(CHALLENGER).run_id)
        copy = replace(run, id=unit.runs.next_id(PROJECT), model_sha256=digest, tags=("broken",))
        unit.runs.add(copy)
        unit.runs.finish(copy)
    return copy.id


def release_model(folder: Path, action: Callable[[Keel], Any], url: str | None = None) -> Any:
    """Change the release of the project in ``folder`` as an operator would, from outside."""
    keel = open_project(folder, url)
    try:
        return action(keel)
    finally:
        keel.close()


def set_baseline(folder: Path, baseline: int | None) -> None:
    config = yaml.safe_load((folder / "keel.yaml").read_text())
    config["release"]["baseline"] = baseline
    (folder / "keel.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def set_fallback(folder: Path, chain: list[str]) -> None:
    config = yaml.safe_load((folder / "keel.yaml").read_text())
    config["decisions"]["fallback"] = chain
    (folder / "keel.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def logged(folder: Path) -> list[dict[str, Any]]:
    """Every row of the project's prediction log, as a reader other than the server sees it."""
    log = PredictionLog(folder / ".keel" / "predictions")
    try:
        return log.scan().collect().to_dicts()
    finally:
        log.close()


def corrupt_model(folder: Path, version: int) -> None:
    """Change one byte of the estimator blob of ``version``: its checksum no longer holds."""
    keel = open_project(folder)
    try:
        manifest = orjson.loads(keel.blobs.get(keel.registry().model(version).model_sha256))
    finally:
        keel.close()
    digest = manifest["model"]
    blob = folder / ".keel" / "store" / "sha256" / digest[:2] / digest
    blob.chmod(0o644)
    blob.write_bytes(blob.read_bytes().replace(b"tree", b"trEe", 1))


# ---------------------------------------------------------------- the shared template


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The prepared project, made once per session and shared by the xdist workers."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    folder = base / "api-template" / "proj"
    folder.parent.mkdir(exist_ok=True)
    with (base / "api-template.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not folder.exists():
            try:
                prepare(folder)
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
    return folder


@pytest.fixture
def project(template: Path, tmp_path: Path) -> Path:
    """A private copy of the template."""
    return Path(shutil.copytree(template, tmp_path / "proj"))


@pytest.fixture(scope="module")
def shared_project(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the template for a module whose tests only read (one server for all)."""
    return Path(shutil.copytree(template, tmp_path_factory.mktemp("shared") / "proj"))


@pytest.fixture(scope="module")
def shared_server(shared_project: Path) -> Iterator[Server]:
    """One server on ``shared_project`` for a module's read-only tests."""
    server = start_server(shared_project, "--max-body-bytes", "2000000")
    yield server
    server.stop()


@pytest.fixture
def serve(project: Path) -> Iterator[Callable[..., Server]]:
    """``serve(*args)``: start ``keel serve`` on the test's project; stopped after the test."""
    started: list[Server] = []

    def start(*args: str, folder: Path | None = None, env: dict[str, str] | None = None) -> Server:
        server = start_server(folder or project, *args, env=env)
        started.append(server)
        return server

    yield start
    for server in started:
        if server.process.poll() is None:
            server.stop()


@pytest.fixture(scope="session")
def records() -> list[dict[str, Any]]:
    """2,000 applications as they arrive for scoring (no label, no timestamp)."""
    frame = simulate_frame(rows=2000, seed=9, start=datetime(2024, 4, 1), end=datetime(2024, 5, 1))
    return frame.drop("defaulted", "applied_at").to_dicts()
