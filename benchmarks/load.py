"""Sustained load on ``keel serve``: capacity, then a long run at 80% of it, then a 10x burst.

The project is ``benchmarks/serving.py``'s (the loan example, 50,000 simulated applications, one
LightGBM model promoted); one worker, the log acknowledging after ``fdatasync``.

1. **Capacity**: ``--clients`` closed-loop clients (each sends its next request when the last
   is answered) for ``--probe-seconds``; the answers per second are the capacity.
2. **Steady**: an open loop at ``--share`` (80%) of that rate for ``--minutes``: requests are
   sent on a fixed schedule whatever the answers do, and each latency counts from the moment
   its request was due (so a stall is not hidden by clients that stopped sending). Every
   ``--every`` seconds it prints the answers per second, the p50/p99 latency, the 503s and the
   worker's resident memory (RSS, from ``/proc``); at the end, RSS at the start and the end of
   the run and the growth per minute between them (a least-squares slope over the samples).
3. **Burst**: ten times the capacity for ``--burst-seconds``: the share shed with 503 (each
   must carry ``Retry-After``) and the latency of the answers that were accepted. These
   latencies also count from when each request was due, so they include the generator's own
   backlog when it cannot send ten times the capacity on time (it shares the cores).

Then the worker is stopped and its log read: every acknowledged prediction id must be in it.
The load generator runs in its own process (asyncio on uvloop, raw keep-alive sockets); the
1-minute load average is printed with every line, since other work moves the numbers.

    .venv/bin/python benchmarks/load.py                   # 10 minutes at 80%
    .venv/bin/python benchmarks/load.py --minutes 2 --project /tmp/loadproj --keep
"""

# ruff: noqa: PLC0415  (Keel is imported only where a project is built; this prints)
from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent


def _serving_benchmark() -> ModuleType:
    """``benchmarks/serving.py``: its project, servers and request framing are reused."""
    spec = importlib.util.spec_from_file_location("bench_serving", HERE / "serving.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_serving"] = module
    spec.loader.exec_module(module)
    return module


bench = _serving_benchmark()


def load() -> str:
    return f"{os.getloadavg()[0]:.2f}"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


# --- the load generator (its own process) -----------------------------------------------------


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes, bool]:
    """One request on a keep-alive connection: status, body, whether Retry-After came."""
    writer.write(request)
    status = await reader.readuntil(b"\r\n")
    headers = (await reader.readuntil(b"\r\n\r\n")).lower()
    length = int(headers.split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
    body = await reader.readexactly(length)
    return int(status[9:12]), body, b"retry-after:" in headers


async def closed_loop(port: int, requests: list[bytes], clients: int, seconds: float) -> float:
    """Answers per second with ``clients`` back-to-back clients."""
    until = time.perf_counter() + seconds
    answered = 0

    async def one(offset: int) -> None:
        nonlocal answered
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        i = offset
        while time.perf_counter() < until:
            status, _, _ = await _exchange(reader, writer, requests[i % len(requests)])
            i += 1
            answered += status == 200
        writer.close()

    await asyncio.gather(*(one(k * 37) for k in range(clients)))
    return answered / seconds


class OpenLoop:
    """Requests due on a fixed schedule, sent on a pool of keep-alive connections."""

    def __init__(self, port: int, requests: list[bytes], connections: int) -> None:
        self.port, self.requests, self.connections = port, requests, connections
        self.samples: list[tuple[float, int, float, bool]] = []
        """(due time, status, latency from due time in s, Retry-After given)"""
        self.acknowledged: list[str] = []

    async def run(self, rate: float, seconds: float, report: Any = None) -> None:
        queue: asyncio.Queue[float | None] = asyncio.Queue()
        workers = [asyncio.create_task(self._worker(queue, n)) for n in range(self.connections)]
        start = time.perf_counter()
        sent = 0
        next_report = start + (report.every if report else seconds + 1)
        while (now := time.perf_counter()) < start + seconds:
            due = start + sent / rate
            if due > now:
                await asyncio.sleep(min(due - now, 0.005))
                continue
            queue.put_nowait(due)
            sent += 1
            if report and now >= next_report:
                report(self.samples, now)
                next_report += report.every
        for _ in workers:
            queue.put_nowait(None)
        await asyncio.gather(*workers)

    async def _worker(self, queue: asyncio.Queue[float | None], n: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        i = n * 101
        while (due := await queue.get()) is not None:
            request = self.requests[i % len(self.requests)]
            status, body, retry = await _exchange(reader, writer, request)
            i += 1
            self.samples.append((due, status, time.perf_counter() - due, retry))
            if status == 200:
                self.acknowledged.extend(p["id"] for p in json.loads(body)["predictions"])
        writer.close()


class Reporter:
    """Prints one line per ``every`` seconds of the steady run, with the worker's RSS."""

    def __init__(self, pid: int, every: float) -> None:
        self.pid, self.every = pid, every
        self.seen = 0
        self.rss: list[tuple[float, float]] = []
        self.started = time.perf_counter()

    def __call__(self, samples: list[tuple[float, int, float, bool]], now: float) -> None:
        window, self.seen = samples[self.seen :], len(samples)
        ok = [latency for _, status, latency, _ in window if status == 200]
        shed = sum(status == 503 for _, status, _, _ in window)
        rss = rss_mb(self.pid)
        self.rss.append((now - self.started, rss))
        print(
            f"  {now - self.started:6.0f} s  {len(ok) / self.every:7.0f} answers/s"
            f"  p50 {percentile(ok, 0.5) * 1000:6.1f} ms  p99 {percentile(ok, 0.99) * 1000:7.1f} ms"
            f"  503 {shed:5d}  RSS {rss:6.1f} MB  load {load()}",
            flush=True,
        )


def generator_main(args: argparse.Namespace) -> None:
    import uvloop

    bodies = json.loads(Path(args.bodies).read_text())
    requests = [bench.request_bytes(args.port, "/v1/predict", b.encode()) for b in bodies]
    result = uvloop.run(_generate(args, requests))
    Path(args.out).write_text(json.dumps(result))


async def _generate(args: argparse.Namespace, requests: list[bytes]) -> dict[str, Any]:
    capacity = await closed_loop(args.port, requests, args.clients, args.probe_seconds)
    rate = capacity * args.share
    print(f"capacity {capacity:,.0f} answers/s with {args.clients} clients (load {load()})")
    print(f"steady: {rate:,.0f} requests/s ({args.share:.0%}) for {args.minutes:g} min")
    steady = OpenLoop(args.port, requests, args.clients * 2)
    reporter = Reporter(args.pid, args.every)
    await steady.run(rate, args.minutes * 60, reporter)
    burst = OpenLoop(args.port, requests, args.clients * 10)
    print(f"burst: {capacity * 10:,.0f} requests/s (10x capacity) for {args.burst_seconds:g} s")
    await burst.run(capacity * 10, args.burst_seconds)
    return {
        "capacity": capacity,
        "rate": rate,
        "steady": _summary(steady.samples, args.minutes * 60),
        "burst": _summary(burst.samples, args.burst_seconds),
        "rss": reporter.rss,
        "acknowledged": steady.acknowledged + burst.acknowledged,
    }


def _summary(samples: list[tuple[float, int, float, bool]], seconds: float) -> dict[str, Any]:
    ok = [latency for _, status, latency, _ in samples if status == 200]
    shed = [retry for _, status, _, retry in samples if status == 503]
    return {
        "requests": len(samples),
        "answered_per_s": len(ok) / seconds,
        "p50_ms": percentile(ok, 0.5) * 1000,
        "p95_ms": percentile(ok, 0.95) * 1000,
        "p99_ms": percentile(ok, 0.99) * 1000,
        "max_ms": max(ok, default=float("nan")) * 1000,
        "shed": len(shed),
        "shed_without_retry_after": sum(not retry for retry in shed),
        "other": sum(status not in (200, 503) for _, status, _, _ in samples),
        "load": load(),
    }


# --- the run ----------------------------------------------------------------------------------


def slope_mb_per_min(points: list[tuple[float, float]]) -> float:
    if len(points) < 2:
        return float("nan")
    n = len(points)
    mx = sum(t for t, _ in points) / n
    my = sum(r for _, r in points) / n
    var = sum((t - mx) ** 2 for t, _ in points)
    return 60 * sum((t - mx) * (r - my) for t, r in points) / var if var else float("nan")


def run(args: argparse.Namespace, work: Path) -> int:
    folder = Path(args.project) if args.project else work / "project"
    project = bench.build_project(folder)
    bodies = [json.dumps({"records": [r]}, default=str) for r in project.records]
    bodies_path = work / "bodies.json"
    bodies_path.write_text(json.dumps(bodies))
    port = bench.free_port()
    command = [sys.executable, "-m", "keel", "serve", "--port", str(port)]
    command += ["--max-inflight", str(args.max_inflight)]
    server = bench.start(command, port, "/readyz", work / "keel.log", folder, bench.keel_env())
    out = work / "result.json"
    try:
        print(f"keel serve, one worker, --max-inflight {args.max_inflight} (load {load()})")
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--generator",
                *("--port", str(port), "--pid", str(server.process.pid)),
                *("--bodies", str(bodies_path), "--out", str(out)),
                *("--clients", str(args.clients), "--probe-seconds", str(args.probe_seconds)),
                *("--share", str(args.share), "--minutes", str(args.minutes)),
                *("--every", str(args.every), "--burst-seconds", str(args.burst_seconds)),
            ],
            check=True,
        )
    finally:
        server.stop()
    result = json.loads(out.read_text())
    return report(result, folder)


def report(result: dict[str, Any], folder: Path) -> int:
    from keel.store.tables.prediction_log import PredictionLog

    for name in ("steady", "burst"):
        found = result[name]
        print(
            f"{name:6}  {found['requests']:7d} requests  {found['answered_per_s']:7.0f} answers/s"
            f"  p50 {found['p50_ms']:.1f}  p95 {found['p95_ms']:.1f}  p99 {found['p99_ms']:.1f}"
            f"  max {found['max_ms']:.1f} ms  shed {found['shed'] / max(found['requests'], 1):.1%}"
            f" ({found['shed_without_retry_after']} without Retry-After)"
            f"  other {found['other']}  load {found['load']}"
        )
    rss = result["rss"]
    if rss:
        print(
            f"RSS {rss[0][1]:.1f} MB at {rss[0][0]:.0f} s, {rss[-1][1]:.1f} MB at"
            f" {rss[-1][0]:.0f} s; slope {slope_mb_per_min(rss):+.2f} MB/min"
        )
    log = PredictionLog(folder / ".keel" / "predictions")
    try:
        logged = set(log.scan().select("prediction_id").collect().to_series())
    finally:
        log.close()
    acknowledged = set(result["acknowledged"])
    missing = acknowledged - logged
    print(f"acknowledged {len(acknowledged):,}; missing from the log: {len(missing)}")
    return 1 if missing else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--share", type=float, default=0.8, help="of the measured capacity")
    parser.add_argument("--clients", type=int, default=16, help="closed-loop clients")
    parser.add_argument("--probe-seconds", type=float, default=15.0)
    parser.add_argument("--burst-seconds", type=float, default=5.0)
    parser.add_argument("--every", type=float, default=10.0, help="seconds between lines")
    parser.add_argument("--max-inflight", type=int, default=64)
    parser.add_argument("--project", help="a folder to build the project in, or reuse")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--generator", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--pid", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--bodies", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generator:
        generator_main(args)
        return
    work = Path(tempfile.mkdtemp(prefix="keel-load-"))
    try:
        code = run(args, work)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
