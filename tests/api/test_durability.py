"""What was acknowledged is in the log, whatever happens to the server; overload and time
limits answer 503 with Retry-After while the probes still answer."""

from __future__ import annotations

import re
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

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
