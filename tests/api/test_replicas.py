"""Replicas: three ``keel serve`` processes, each in a folder of its own (as on three machines),
on one PostgreSQL and one S3 store, behind a round-robin on loopback, swapping the champion
under load. No request fails, each replica follows within a second, and every acknowledged
prediction is in the log that an export from a fourth folder reads from the store."""

from __future__ import annotations

import itertools
import shutil
import signal
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest

from keel.store.tables.prediction_log import PredictionLog
from keel.store.tables.segment_log import RemoteParts
from keel.store.uri import open_byte_store
from tests.api.conftest import BASELINE, CHALLENGER, OPERATOR, PROJECT, gate, prepare, release_model
from tests.api.live import Server, run_keel, start_server, wait_until

V1, V2 = f"{PROJECT}/v1", f"{PROJECT}/v2"
REPLICAS = 3

pytestmark = [pytest.mark.postgres, pytest.mark.s3, pytest.mark.slow]


class RoundRobin:
    """Threads posting one record per request to the replicas in turn, until stopped."""

    def __init__(self, urls: list[str], records: list[dict[str, Any]], threads: int = 3):
        self.urls, self.records, self.threads = urls, records, threads
        self.turn = itertools.count()
        self.answered: list[tuple[str, dict[str, Any]]] = []
        self.statuses: Counter[int] = Counter()
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def start(self) -> RoundRobin:
        for worker in self._workers:
            worker.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(60)

    def wait_for(self, answers: int, timeout: float = 60.0) -> None:
        wait_until(lambda: len(self.answered) >= answers, timeout=timeout)

    def _run(self) -> None:
        with httpx.Client(timeout=30.0) as client:
            while not self._stop.is_set():
                n = next(self.turn)
                url = self.urls[n % len(self.urls)]
                body = {"records": [self.records[n % len(self.records)]]}
                try:
                    response = client.post(f"{url}/v1/predict", json=body)
                except httpx.TransportError as error:
                    with self._lock:
                        self.failures.append(repr(error))
                    continue
                with self._lock:
                    self.statuses[response.status_code] += 1
                    if response.status_code == 200:
                        self.answered.append((url, response.json()))
                time.sleep(0.005)  # light load: about 100 requests/s in all


def model_of(server: Server, record: dict[str, Any]) -> str:
    answer = httpx.post(f"{server.url}/v1/predict", json={"records": [record]}, timeout=10).json()
    return str(answer["predictions"][0]["model"])


def shipped_from_every_replica(load: RoundRobin, tmp_path: Path, s3_url: str) -> bool:
    parts = RemoteParts(open_byte_store(s3_url), f"logs/{PROJECT}/predictions")
    reader = PredictionLog(tmp_path / "live-reader", parts=parts)
    found = set(reader.scan().select("prediction_id").collect().to_series())
    answered = list(load.answered)
    return all(
        any(p["id"] in found for u, a in answered if u == url for p in a["predictions"])
        for url in load.urls
    )


def test_replicas_swap_together_and_log_every_answer_to_the_store(
    tmp_path: Path, postgres_url: str, s3_url: str, records: list[dict[str, Any]]
) -> None:
    origin = tmp_path / "origin"
    prepare(origin, postgres_url, broken=False, store_url=s3_url)
    env = {"KEEL_DATABASE_URL": postgres_url}
    folders = [Path(shutil.copytree(origin, tmp_path / f"replica-{i}")) for i in range(REPLICAS)]
    servers = [start_server(folder, "--poll", "30", "--ship", "1", env=env) for folder in folders]
    load = RoundRobin([server.url for server in servers], records).start()
    try:
        load.wait_for(30)
        release_model(origin, lambda keel: gate(keel, CHALLENGER), postgres_url)
        release_model(
            origin, lambda keel: keel.registry().promote(CHALLENGER, OPERATOR), postgres_url
        )
        promoted = time.monotonic()
        took = []
        for server in servers:
            wait_until(lambda s=server: model_of(s, records[0]) == V2, timeout=10, every=0.01)
            took.append(time.monotonic() - promoted)
        swapped = len(load.answered)
        load.wait_for(swapped + 30)
        # while they run, each replica ships its log to the store (--ship 1)
        wait_until(lambda: shipped_from_every_replica(load, tmp_path, s3_url), 30, every=0.5)
    finally:
        load.stop()
        codes = [server.stop() for server in servers]
    # The notification reaches each replica well within 1 s (test_release.py, one replica);
    # here three replicas also fetch and load v2 from the S3 server at once: the last served
    # it within 0.8 s at a low load, 1.4 s on 2 busy cores (docs/scaling.md).
    assert max(took) < 2.5, f"replicas served v2 {took} s after the promotion"
    assert load.failures == [] and set(load.statuses) == {200}, (load.statuses, load.failures)
    assert set(codes) <= {0, -signal.SIGTERM}  # uvicorn re-raises the signal it stopped on
    by_replica = Counter(url for url, _ in load.answered)
    assert len(by_replica) == REPLICAS and min(by_replica.values()) >= 10
    served = Counter(a["predictions"][0]["model"] for _, a in load.answered)
    assert served[V1] and served[V2]
    assert set(served) <= {V1, V2, f"{PROJECT}/v{BASELINE}"}  # the baseline answers when a
    # model overruns its budget on these 2 busy cores: an answer all the same, and logged

    for folder in folders:  # each replica sealed its log into the store when it stopped
        assert not list((folder / ".keel" / "predictions" / "segments").glob("*.seg"))
    parts = open_byte_store(s3_url).list(f"logs/{PROJECT}/predictions/")
    assert len(parts) >= REPLICAS

    elsewhere = Path(shutil.copytree(origin, tmp_path / "elsewhere"))
    shutil.rmtree(elsewhere / ".keel", ignore_errors=True)
    out = tmp_path / "all.parquet"
    exported = run_keel("predictions", "export", "--out", str(out), cwd=elsewhere, env=env)
    assert exported.returncode == 0, exported.stdout + exported.stderr
    logged = set(pl.read_parquet(out, columns=["prediction_id"])["prediction_id"])
    acknowledged = {p["id"] for _, a in load.answered for p in a["predictions"]}
    assert acknowledged <= logged, f"{len(acknowledged - logged)} acknowledged, not logged"
