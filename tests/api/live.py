"""A real ``keel serve`` on loopback, and a small load generator that keeps count of answers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

START_SECONDS = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    """One ``keel serve`` process; ``url`` is its loopback address."""

    process: subprocess.Popen[bytes]
    url: str
    folder: Path
    log: Path

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=kwargs.pop("timeout", 30.0), **kwargs)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 40.0) -> int:
        """Send ``sig`` and wait for the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            code: int = self.process.wait(timeout)
            return code
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        raise AssertionError(f"the server did not stop in {timeout} s:\n{self.output()}")


def start_server(folder: Path, *args: str, env: dict[str, str] | None = None) -> Server:
    """``keel serve`` in ``folder`` on a free port, once its probes answer."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KEEL_")}
    environ |= {"NO_COLOR": "1", "COLUMNS": "200", "KEEL_COMPILED": "off"} | (env or {})
    log = folder.parent / f"serve-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "keel", "serve", "--port", str(port), *args],
            cwd=folder,
            env=environ,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, f"http://127.0.0.1:{port}", folder, log)
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"keel serve exited with {process.returncode}:\n{server.output()}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1.0).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.stop(signal.SIGKILL)
    raise AssertionError(f"keel serve did not answer in {START_SECONDS} s:\n{server.output()}")


@dataclass
class Load:
    """Threads that post predictions until stopped, keeping every answer they got."""

    url: str
    records: Sequence[dict[str, Any]]
    threads: int = 4
    path: str = "/v1/predict"
    headers: dict[str, str] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    answered: list[dict[str, Any]] = field(default_factory=list)
    """Bodies of the 200 answers: acknowledged, so durable in the log."""
    failures: list[str] = field(default_factory=list)
    """Transport errors (no answer at all)."""

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers: list[threading.Thread] = []

    def start(self) -> Load:
        for n in range(self.threads):
            worker = threading.Thread(target=self._run, args=(n,), daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def stop(self) -> Load:
        self._stop.set()
        for worker in self._workers:
            worker.join(60)
        return self

    def wait_for(self, answers: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.answered) < answers and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.answered) >= answers, (self.statuses, self.failures[:3])

    def _run(self, n: int) -> None:
        with httpx.Client(base_url=self.url, timeout=30.0, headers=self.headers) as client:
            for i in _cycle(n, len(self.records), self.threads):
                if self._stop.is_set():
                    return
                body = {"records": [self.records[i]]}
                try:
                    response = client.post(self.path, json=body)
                except httpx.TransportError as error:
                    with self._lock:
                        self.failures.append(repr(error))
                    if self._stop.wait(0.05):
                        return
                    continue
                with self._lock:
                    self.statuses[response.status_code] += 1
                    if response.status_code == 200:
                        self.answered.append(response.json())


def _cycle(start: int, size: int, step: int) -> Iterator[int]:
    i = start
    while True:
        yield i % size
        i += step


def wait_until(condition: Callable[[], bool], timeout: float = 20.0, every: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s: {condition}")
        time.sleep(every)


def run_keel(
    *args: str, cwd: Path, timeout: float = 300.0, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The real ``keel`` command, as a user runs it in the project folder."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KEEL_")}
    environ |= {"NO_COLOR": "1", "COLUMNS": "200", "KEEL_COMPILED": "off"} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "keel", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
