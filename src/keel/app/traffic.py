"""Real HTTP traffic for the demo: the prediction service on loopback, a client that sends
simulated applications one small request at a time, and the outcomes that arrive later.

A client of the service, not a use case: the service checks each request's key itself."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import numpy as np
import polars as pl
import uvicorn

from keel.app.serving import build_serving
from keel.app.session import open_project
from keel.serving.app import create_app
from keel.serving.settings import ServeSettings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LocalServer:
    """``keel serve`` in a thread of this process, for as long as the ``with`` block runs."""

    def __init__(
        self, folder: Path, options: ServeSettings | None = None, *, api_key: str | None = None
    ) -> None:
        keel = open_project(folder, api_key=api_key)  # the operator who starts the service
        app = create_app(build_serving(keel, options or ServeSettings()))
        self.port = free_port()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="keel-demo-server")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LocalServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the prediction service did not start")
            time.sleep(0.02)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.server.should_exit = True  # drains in-flight requests, then flushes the logs
        self.thread.join(timeout=60)


@dataclass
class Sent:
    requests: int = 0
    records: int = 0
    decisions: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def p50_ms(self) -> float:
        return float(np.percentile(self.latencies_ms, 50)) if self.latencies_ms else 0.0

    @property
    def p99_ms(self) -> float:
        return float(np.percentile(self.latencies_ms, 99)) if self.latencies_ms else 0.0


def request_records(frame: pl.DataFrame, target: str = "defaulted") -> list[dict[str, Any]]:
    """Rows as an application would send them: no label, times as ISO text."""
    inputs = frame.drop(target, strict=False)
    for name, dtype in inputs.schema.items():
        if dtype.is_temporal():
            inputs = inputs.with_columns(pl.col(name).dt.to_string("%Y-%m-%dT%H:%M:%S"))
    return inputs.to_dicts()


def send_traffic(url: str, key: str, frame: pl.DataFrame, *, batch: int = 1) -> Sent:
    """POST the rows to ``/v1/predict``, ``batch`` records per request; fail on any non-200."""
    sent = Sent()
    records = request_records(frame)
    headers = {"authorization": f"Bearer {key}"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        for first in range(0, len(records), batch):
            body = {"records": records[first : first + batch]}
            started = time.perf_counter()
            answer = client.post("/v1/predict", json=body)
            sent.latencies_ms.append((time.perf_counter() - started) * 1000)
            if answer.status_code != 200:
                raise RuntimeError(f"/v1/predict answered {answer.status_code}: {answer.text}")
            for prediction in answer.json()["predictions"]:
                sent.decisions[prediction["decision"] or "none"] += 1
                sent.records += 1
            sent.requests += 1
    return sent


def send_outcomes(url: str, key: str, frame: pl.DataFrame, *, target: str = "defaulted") -> int:
    """POST the labels of ``frame``'s rows to ``/v1/outcomes`` by entity id, in batches."""
    labelled = frame.filter(pl.col(target).is_not_null())
    items = [
        {"entity_id": entity, "label": int(label)}
        for entity, label in labelled.select("application_id", target).iter_rows()
    ]
    headers = {"authorization": f"Bearer {key}"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        for first in range(0, len(items), 1000):
            answer = client.post("/v1/outcomes", json={"outcomes": items[first : first + 1000]})
            if answer.status_code != 202:
                raise RuntimeError(f"/v1/outcomes answered {answer.status_code}: {answer.text}")
    return len(items)
