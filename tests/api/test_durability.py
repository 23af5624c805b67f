"""What was acknowledged is in the log, whatever happens to the server; overload and time
limits answer 503 with Retry-After while the probes still answer."""

from __future__ import annotations

import fcntl
import os
import re
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from keel.predictions import PredictionRecord
from keel.store.tables.prediction_log import PredictionLog
from tests.api.conftest import logged
from tests.api.live import Load, Server, wait_until

Serve = Callable[..., Server]


def inflight(server: Server) -> float:
    """Requests the server is serving, the asking one included."""
    text = httpx.get(f"{server.url}/metrics", timeout=10).text
    found = re.search(r"^keel_inflight_requests (\S+)$", text, re.MULTILINE)
    assert found is not None
    return float(found.group(1))


@pytest.mark.parametrize("durability", ["fsync", "write"])
def test_after_kill_9_under_load_every_acknowledged_prediction_is_in_the_log(
    project: Path, serve: Serve, records: list[dict[str, Any]], durability: str
) -> None:
    server = serve("--durability", durability)
    load = Load(server.url, records, threads=8).start()
    try:
        load.wait_for(300)
        assert server.stop(signal.SIGKILL) == -signal.SIGKILL
    finally:
        load.stop()
    acknowledged = {a["predictions"][0]["id"]: a["request_id"] for a in load.answered}
    assert len(acknowledged) >= 300
    rows = {r["prediction_id"]: r["request_id"] for r in logged(project)}
    missing = set(acknowledged) - set(rows)
    assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged not in the log"
    assert all(rows[p] == r for p, r in acknowledged.items())


def test_sigterm_drains_in_flight_requests_and_flushes_the_log(
    project: Path, serve: Serve, records: list[dict[str, Any]]
) -> None:
    server = serve("--max-body-bytes", "50000000", "--budget-ms", "0")
    many = records * 3
    body = {"records": many, "explain": 20}  # 6,000 records with explanations: slow

    def post(_: int) -> httpx.Response:
        return httpx.post(f"{server.url}/v1/predict", json=body, timeout=60)

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(post, i) for i in range(4)]
        wait_until(lambda: inflight(server) >= 5, timeout=30, every=0.005)
        server.process.send_signal(signal.SIGTERM)
        responses = [f.result() for f in futures]
    assert [r.status_code for r in responses] == [200] * 4
    assert server.process.wait(40) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal
    request_ids = {r.json()["request_id"] for r in responses}
    folder = project / ".keel" / "predictions"
    assert list(folder.glob("parts/*.parquet")) and not list(folder.glob("segments/*.seg"))
    rows = logged(project)
    for request_id in request_ids:
        assert sum(r["request_id"] == request_id for r in rows) == len(many)
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{server.url}/healthz", timeout=2)
    assert "could not seal" not in server.output()  # no outcome was logged: nothing to seal


def test_overload_answers_503_with_retry_after_while_probes_answer(
    project: Path, serve: Serve, records: list[dict[str, Any]]
) -> None:
    server = serve("--max-inflight", "2", "--max-body-bytes", "50000000", "--budget-ms", "0")
    body = {"records": records * 3, "explain": 20}
    probes: list[int] = []
    stop = threading.Event()

    def probe() -> None:
        with server.client() as client:
            while not stop.is_set():
                probes.extend(client.get(p).status_code for p in ("/healthz", "/readyz"))

    checker = threading.Thread(target=probe)
    checker.start()
    try:
        with ThreadPoolExecutor(8) as pool:
            responses = list(
                pool.map(
                    lambda _: httpx.post(f"{server.url}/v1/predict", json=body, timeout=60),
                    range(8),
                )
            )
    finally:
        stop.set()
        checker.join()
    codes = sorted(r.status_code for r in responses)
    assert 200 in codes and 503 in codes and set(codes) == {200, 503}, codes
    for refused in (r for r in responses if r.status_code == 503):
        assert refused.headers["retry-after"] == "1"
        assert refused.json() == {"errors": [{"path": "", "reason": "overloaded"}]}
    assert probes and set(probes) == {200}
    with server.client() as client:
        text = client.get("/metrics").text
    assert re.search(r"^keel_overload_rejections_total [1-9]", text, re.MULTILINE)


def test_a_request_past_the_time_limit_is_a_503(
    project: Path, serve: Serve, records: list[dict[str, Any]]
) -> None:
    """Regression: the cancelled request once cancelled its log append, which killed the log's
    writer thread, and every later request then ran out of time."""
    server = serve("--timeout", "0.1", "--max-body-bytes", "50000000", "--budget-ms", "0")
    with server.client() as client:
        slow = client.post("/v1/predict", json={"records": records * 3, "explain": 20})
        assert slow.status_code == 503 and slow.headers["retry-after"] == "1"
        assert slow.json()["errors"] == [{"path": "", "reason": "no answer within 0.1 s"}]
        small = {"records": records[:1]}  # answered once the slow one has left the model
        wait_until(lambda: client.post("/v1/predict", json=small).status_code == 200, 10)


def test_retry_after_comes_from_its_setting(
    project: Path, serve: Serve, records: list[dict[str, Any]]
) -> None:
    """The option reaches the worker (through the environment generated from the settings)."""
    server = serve(
        "--timeout", "0.1", "--retry-after", "4", "--max-body-bytes", "50000000", "--budget-ms", "0"
    )
    with server.client() as client:
        slow = client.post("/v1/predict", json={"records": records * 3, "explain": 20})
    assert slow.status_code == 503 and slow.headers["retry-after"] == "4"


def test_two_workers_share_the_port_and_each_logs_its_answers(
    project: Path, serve: Serve, records: list[dict[str, Any]]
) -> None:
    server = serve("--workers", "2")
    load = Load(server.url, records, threads=4).start()
    try:
        load.wait_for(200)
    finally:
        load.stop()
    assert set(load.statuses) == {200}
    assert server.stop() in (0, -signal.SIGTERM)
    logged_ids = {r["prediction_id"] for r in logged(project)}
    assert {a["predictions"][0]["id"] for a in load.answered} <= logged_ids


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "kill-9"])
def test_full_segments_are_sealed_while_serving_and_nothing_is_lost_or_doubled(
    project: Path, serve: Serve, records: list[dict[str, Any]], stop: int
) -> None:
    """The server seals each segment as it fills, in the background: at SIGTERM only the
    last is left to seal, and killed at any moment (mid-seal too) it loses no acknowledged
    prediction and logs none twice."""
    server = serve("--log-segment-mb", "1")
    folder = project / ".keel" / "predictions"
    load = Load(server.url, records, threads=8).start()
    try:
        wait_until(lambda: len(list(folder.glob("parts/*.parquet"))) >= 2, timeout=120)
        assert server.process.poll() is None  # sealed by the running server, not at its exit
        assert len(list(folder.glob("segments/*.seg"))) <= 3  # live, spare, maybe one sealing
        if stop == signal.SIGKILL:
            assert server.stop(stop) == -signal.SIGKILL
    finally:
        load.stop()
    if stop == signal.SIGTERM:
        assert server.stop(stop) in (0, -signal.SIGTERM)
        assert not list(folder.glob("segments/*.seg"))
    found = _ids(folder)
    assert len(found) == len(set(found))
    assert {a["predictions"][0]["id"] for a in load.answered} <= set(found)
    PredictionLog(folder).seal()  # whatever a kill left seals to the same rows
    assert not list(folder.glob("segments/*.seg"))
    assert _ids(folder) == found


@pytest.mark.slow
def test_sigterm_drains_within_5_s_however_large_the_unsealed_log(
    project: Path, serve: Serve
) -> None:
    """A large log left unsealed (a worker killed before it sealed, here 160,000 predictions
    in 8 MiB segments) does not hold up the next server's stop: sealing ends at its deadline
    and what is left stays as segments; the next start seals them in the background."""
    folder = project / ".keel" / "predictions"
    with PredictionLog(folder, durability="write", segment_bytes=8 << 20) as log:
        for low in range(0, 160_000, 2_000):
            log.append([_logged(i) for i in range(low, low + 2_000)])
    assert len(list(folder.glob("segments/*.seg"))) >= 8
    server = serve()
    stopped = time.monotonic()
    assert server.stop() in (0, -signal.SIGTERM)
    assert time.monotonic() - stopped < 5.0
    assert _ids(folder) == [f"pred-{i:07d}" for i in range(160_000)]  # once each
    server = serve()  # seals what the last one left, while it serves
    wait_until(lambda: len(list(folder.glob("segments/*.seg"))) <= 1, timeout=300, every=0.2)
    assert server.stop() in (0, -signal.SIGTERM)
    assert not list(folder.glob("segments/*.seg"))
    assert _ids(folder) == [f"pred-{i:07d}" for i in range(160_000)]


def test_a_drain_that_cannot_seal_in_time_leaves_readable_segments(
    project: Path, serve: Serve, records: list[dict[str, Any]]
) -> None:
    """While another process seals the log (``keel predictions export`` holds its seal lock),
    a stopping server waits for it only until its deadline, then exits: its segments and
    those it found stay unsealed, read as before, and seal later with the same rows."""
    folder = project / ".keel" / "predictions"
    for k in range(3):  # three segments left by earlier workers
        with PredictionLog(folder, segment_bytes=1 << 20) as log:
            log.append([_logged(k * 10 + i) for i in range(10)])
    fd = os.open(folder / "seal.lock", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # as the other sealer does
        server = serve()
        with server.client() as client:
            answers = [client.post("/v1/predict", json={"records": [r]}) for r in records[:20]]
        assert {a.status_code for a in answers} == {200}
        stopped = time.monotonic()
        assert server.stop() in (0, -signal.SIGTERM)
        assert time.monotonic() - stopped < 5.0
        assert len(list(folder.glob("segments/*.seg"))) == 4
        assert not list(folder.glob("parts/*"))
        found = _ids(folder)
    finally:
        os.close(fd)
    answered = {a.json()["predictions"][0]["id"] for a in answers}
    assert set(found) == {f"pred-{i:07d}" for i in range(30)} | answered
    assert len(found) == 50
    assert PredictionLog(folder).seal() == 4
    assert _ids(folder) == found


def _ids(folder: Path) -> list[str]:
    """The prediction ids of the log at ``folder``, sorted (one per logged prediction)."""
    log = PredictionLog(folder)
    return sorted(log.scan().select("prediction_id").collect().to_series().to_list())


def _logged(i: int) -> PredictionRecord:
    """A logged prediction of a 20-feature record."""
    return PredictionRecord(
        request_id=f"req-{i}",
        prediction_id=f"pred-{i:07d}",
        time=datetime(2024, 5, 1, tzinfo=UTC) + timedelta(milliseconds=i),
        model="loan-default/v1",
        entity_id=f"app-{i}",
        inputs={f"feature_{k}": (i * (k + 7)) % 1_000 / 7 for k in range(20)},
        score=(i % 997) / 997,
        decision="approve",
        latency_ms=0.4,
        route="champion",
    )
