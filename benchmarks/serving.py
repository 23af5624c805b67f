"""Single-record ``/v1/predict`` over HTTP: Keel, ``mlflow models serve`` and a bare ASGI app.

One LightGBM model (the loan example's recipe: 300 rounds, 31 leaves, isotonic calibration) is
trained by Keel's own trainer on 50,000 simulated applications in a temporary project, registered
and promoted. Then, one worker each, one server at a time:

* ``bare ASGI``: a raw ASGI callable under the same uvicorn settings as Keel (uvloop, httptools,
  no access log) that reads the body and answers a constant: the HTTP ceiling of this machine.
* ``keel (fsync)``: ``keel serve``, the durable log acknowledging after ``fdatasync`` (the
  default); ``keel (write)``: the log acknowledging once the rows are written to the OS. Their
  difference is what durability against a power cut costs (both survive a kill -9). Both decide
  with the loan example's policy: thresholds whose middle band sends about 16% of applications
  to human review, and out-of-distribution records to review too.
* ``keel (fsync, no decisions)``: the same service with an empty ``decisions:`` section (scores
  only): what deciding, review band included, costs per request.
* ``mlflow``: ``mlflow models serve --env-manager local`` of the same LightGBM booster, saved
  with ``mlflow.lightgbm`` (run from ``.venv-bench``). It is sent the model's feature vector
  (``dataframe_split``), since it knows nothing of Keel's contract or features: it does less work
  per request (no checks, no features, no decision, no log). Rows with a missing value are left
  out of its requests: a JSON null makes a one-row pandas column of objects, which its LightGBM
  flavour refuses with a 400 (about 1% of these applications).

The load generator runs in its own process: asyncio on uvloop, raw keep-alive sockets (one per
concurrent client), each client sending its next request as soon as the last answer is read.
Its own ceiling is the ``bare ASGI`` row. Each row: ``--warmup`` seconds discarded, then
``--seconds`` measured; p50 and p99 over every request of the measured window. Keel bodies cycle
through 1,000 distinct applications (so the canary hash, the checks and the log see real
variety). The 1-minute load average is printed with every row: other work moves the numbers.
So does other work on the disk: with ``fsync`` every answer waits for a disk sync, so the
latency of one ``fdatasync`` on the log's disk is measured and printed first.

    .venv/bin/python benchmarks/serving.py                         # all, peers from .venv-bench
    .venv/bin/python benchmarks/serving.py --no-peers --seconds 10
"""

# ruff: noqa: PLC0415  (Keel is imported only where a project is built; this prints)
from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PEERS = ROOT / ".venv-bench" / "bin" / "python"
ROWS = 50_000
RECORDS = 1_000
GOALS = {"rps_32": 4000.0, "p50_1_ms": 0.6, "p99_1_ms": 3.0}  # issue 6, one worker, log on

BARE_APP = """
BODY = b'{"predictions":[{"score":0.1,"decision":"approve"}]}'
START = {"type": "http.response.start", "status": 200, "headers": [
    (b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]}

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    await send(START)
    await send({"type": "http.response.body", "body": BODY})
"""

MLFLOW_SAVE = """
import sys, lightgbm, mlflow.lightgbm
booster = lightgbm.Booster(model_file=sys.argv[1])
mlflow.lightgbm.save_model(booster, sys.argv[2])
"""


def load() -> str:
    return f"{os.getloadavg()[0]:.2f}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# --- the load generator (its own process) -----------------------------------------------------


def request_bytes(port: int, path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def client(
    port: int, requests: Sequence[bytes], offset: int, until: float, start: float
) -> tuple[list[int], int]:
    """Send requests back to back on one connection; latencies (ns) after ``start``, errors."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    latencies: list[int] = []
    errors, i = 0, offset
    clock = time.perf_counter_ns
    while True:
        sent = clock()
        if sent > until:
            break
        writer.write(requests[i % len(requests)])
        i += 1
        status = await reader.readuntil(b"\r\n")
        headers = await reader.readuntil(b"\r\n\r\n")
        length = int(headers.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
        await reader.readexactly(length)
        if sent >= start:
            latencies.append(clock() - sent)
            if status[9:12] != b"200":
                errors += 1
    writer.close()
    return latencies, errors


async def generate(
    port: int, requests: list[bytes], concurrency: int, warmup: float, seconds: float
) -> dict[str, Any]:
    now = time.perf_counter_ns()
    start, until = now + int(warmup * 1e9), now + int((warmup + seconds) * 1e9)
    offsets = [k * len(requests) // concurrency for k in range(concurrency)]
    done = await asyncio.gather(*(client(port, requests, o, until, start) for o in offsets))
    latencies = sorted(ns for found, _ in done for ns in found)
    errors = sum(e for _, e in done)
    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / seconds,
        "p50_ms": latencies[len(latencies) // 2] / 1e6,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] / 1e6,
    }


def load_main(args: argparse.Namespace) -> None:
    import uvloop

    bodies = json.loads(Path(args.bodies).read_text())
    requests = [request_bytes(args.port, args.path, body.encode()) for body in bodies]
    result = uvloop.run(generate(args.port, requests, args.concurrency, args.warmup, args.seconds))
    print(json.dumps(result))


def measure(
    port: int, path: str, bodies: Path, concurrency: int, warmup: float, seconds: float
) -> dict[str, Any]:
    done = subprocess.run(
        [
            sys.executable,
            __file__,
            "--load-generator",
            *("--port", str(port), "--path", path, "--bodies", str(bodies)),
            *("--concurrency", str(concurrency), "--warmup", str(warmup)),
            *("--seconds", str(seconds)),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    result["load"] = load()
    return result


# --- the project and the servers --------------------------------------------------------------


@dataclass
class Project:
    folder: Path
    records: list[dict[str, Any]]
    features: list[list[float]]
    feature_names: list[str]
    booster: Path


def build_project(folder: Path) -> Project:
    """The loan example with 50,000 simulated applications; its model trained and promoted.

    A folder that holds a project already (``--project``, kept by ``--keep``) is reused."""
    from datetime import datetime

    from keel.config import Settings, load_project
    from keel.simulate import simulate_frame
    from keel.wiring import open_keel

    if not (folder / "keel.yaml").exists():
        train_project(folder)
    project = load_project(folder / "keel.yaml")
    keel = open_keel(Settings.resolve(folder, project, environ={}), project=project)
    try:
        head, _ = keel.registry().status()
        assert head is not None and head.state.champion is not None
        bundle = keel.registry().bundle(head.state.champion)
    finally:
        keel.close()
    later = simulate_frame(
        rows=RECORDS, seed=8, start=datetime(2024, 7, 1), end=datetime(2024, 8, 1)
    )
    records = later.drop("defaulted", "applied_at").to_dicts()
    matrix = bundle.features(later)
    booster = folder.parent / "booster.txt"
    booster.write_bytes(bundle.estimator.to_bytes())
    return Project(folder, records, matrix.values.tolist(), list(matrix.names), booster)


def train_project(folder: Path) -> None:
    from datetime import datetime

    import yaml

    from keel.app.scaffold import scaffold
    from keel.config import Settings, load_project
    from keel.data.ingest import BatchInput, Chunk
    from keel.identity.actor import Actor
    from keel.identity.roles import Role
    from keel.simulate import simulate_frame
    from keel.store.sql.schema import upgrade
    from keel.training.service import TrainRequest
    from keel.wiring import open_keel

    scaffold(folder, "loan")
    config = yaml.safe_load((folder / "keel.yaml").read_text())
    config["release"] = {"benchmark": "holdout", "gates": [], "approvals": 0}
    (folder / "keel.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    project = load_project(folder / "keel.yaml")
    keel = open_keel(Settings.resolve(folder, project, environ={}), project=project, check=False)
    try:
        upgrade(keel.db)
        frame = simulate_frame(
            rows=ROWS, seed=7, start=datetime(2024, 1, 1), end=datetime(2024, 7, 1)
        )
        batch = BatchInput(keel.dataset, "sim", "sim", None, False, "bench")
        keel.ingestor().ingest(batch, [Chunk(frame, False)])
        run = keel.trainer().train(TrainRequest(actor="bench"))
        operator = Actor("bench", Role.OPERATOR, "api-key")
        registry = keel.registry()
        model, _ = registry.register(run.id, operator)
        registry.gate(model.version, operator)
        registry.promote(model.version, operator)
    finally:
        keel.close()


@dataclass
class Running:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start(
    command: list[str],
    port: int,
    probe: str,
    log: Path,
    cwd: Path,
    env: dict[str, str] | None = None,
) -> Running:
    import httpx

    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env)
    running = Running(process, port, log)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{command[:3]} exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}{probe}", timeout=1).status_code == 200:
                return running
        except httpx.TransportError:
            time.sleep(0.2)
    running.stop()
    raise RuntimeError(f"{command[:3]} did not answer:\n{log.read_text()[-3000:]}")


def keel_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("KEEL_")}


def serve_keel(project: Project, durability: str, work: Path) -> Running:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "keel",
        "serve",
        "--port",
        str(port),
        "--durability",
        durability,
    ]
    return start(
        command, port, "/readyz", work / f"keel-{durability}.log", project.folder, keel_env()
    )


def without_decisions(project: Project, work: Path) -> Project:
    """A copy of the project whose ``decisions:`` section is empty: the service scores and logs
    but decides nothing (no thresholds, no review band, no out-of-distribution action)."""
    import dataclasses

    import yaml

    folder = work / "proj-no-decisions"
    if not folder.exists():
        shutil.copytree(project.folder, folder)
        config = yaml.safe_load((folder / "keel.yaml").read_text())
        config["decisions"] = {}
        (folder / "keel.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return dataclasses.replace(project, folder=folder)


def serve_bare(work: Path) -> Running:
    (work / "bare_app.py").write_text(BARE_APP)
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "bare_app:app",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    return start(command, port, "/", work / "bare.log", work)


def serve_mlflow(project: Project, peers: Path, work: Path) -> Running:
    model = work / "mlflow-model"
    subprocess.run([str(peers), "-c", MLFLOW_SAVE, str(project.booster), str(model)], check=True)
    port = free_port()
    bin_dir = Path(peers).parent  # mlflow starts `uvicorn` by name: its venv goes first on PATH
    command = [str(bin_dir / "mlflow"), "models", "serve", "-m", str(model), "--port", str(port)]
    command += ["--env-manager", "local", "--workers", "1"]
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    return start(command, port, "/ping", work / "mlflow.log", work, env)


def bodies_file(work: Path, name: str, bodies: list[bytes]) -> Path:
    path = work / f"{name}.json"
    path.write_text(json.dumps([b.decode() for b in bodies]))
    return path


# --- the report -------------------------------------------------------------------------------


def sync_latency(folder: Path, count: int = 200) -> tuple[float, float]:
    """p50 and p99 (ms) of appending 300 bytes and ``fdatasync`` on the log's disk: what each
    answer waits for with ``--durability fsync`` at concurrency 1."""
    path = folder / "sync-probe.bin"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    times = []
    try:
        for _ in range(count):
            started = time.perf_counter()
            os.write(fd, b"x" * 300)
            os.fdatasync(fd)
            times.append((time.perf_counter() - started) * 1000)
    finally:
        os.close(fd)
        path.unlink()
    times.sort()
    return times[count // 2], times[int(count * 0.99)]


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    print(f"\n{title}")
    cells = [list(map(str, header)), *[list(map(str, row)) for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for n, row in enumerate(cells):
        print(
            "  ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            print("  ".join("-" * w for w in widths))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per row")
    parser.add_argument("--warmup", type=float, default=1.0, help="discarded seconds per row")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--python-peers", help="the interpreter of .venv-bench (mlflow)")
    parser.add_argument("--no-peers", action="store_true", help="Keel and the bare app only")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--only", nargs="+", help="servers to run, by name prefix (e.g. bare keel mlflow)"
    )
    parser.add_argument("--project", type=Path, help="reuse a project folder made by --keep")
    parser.add_argument("--load-generator", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--bodies", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load_generator:
        args.concurrency = args.concurrency[0]
        load_main(args)
        return
    peers = None if args.no_peers else Path(args.python_peers or PEERS).absolute()
    if peers is not None and not (peers.parent / "mlflow").exists():
        print(f"note: no mlflow beside {peers}: it is skipped (`make bench` builds .venv-bench)")
        peers = None
    work = Path(tempfile.mkdtemp(prefix="keel-bench-serving-"))
    try:
        run(args, work, peers)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, work: Path, peers: Path | None) -> None:
    import orjson

    started = time.perf_counter()
    project = build_project(args.project or work / "proj")
    print(f"project ready in {time.perf_counter() - started:.1f} s (load {load()})")
    keel_bodies = bodies_file(
        work, "keel", [orjson.dumps({"records": [r]}) for r in project.records]
    )
    mlflow_bodies = bodies_file(
        work,
        "mlflow",
        [
            orjson.dumps({"dataframe_split": {"columns": project.feature_names, "data": [row]}})
            for row in project.features
            if not any(math.isnan(value) for value in row)  # see the module docstring
        ],
    )
    targets: list[tuple[str, Any, str, Path]] = [
        ("bare ASGI", lambda: serve_bare(work), "/", keel_bodies),
        ("keel (fsync)", lambda: serve_keel(project, "fsync", work), "/v1/predict", keel_bodies),
        ("keel (write)", lambda: serve_keel(project, "write", work), "/v1/predict", keel_bodies),
        (
            "keel (fsync, no decisions)",
            lambda: serve_keel(without_decisions(project, work), "fsync", work),
            "/v1/predict",
            keel_bodies,
        ),
    ]
    if peers is not None:
        targets.append(
            ("mlflow", lambda: serve_mlflow(project, peers, work), "/invocations", mlflow_bodies)
        )
    results: dict[tuple[str, int], dict[str, Any]] = {}
    if args.only:
        targets = [t for t in targets if any(t[0].startswith(o) for o in args.only)]
    p50, p99 = sync_latency(project.folder)
    print(
        f"fdatasync of a 300-byte append here: p50 {p50:.3f} ms, p99 {p99:.3f} ms (load {load()})"
    )
    for name, serve, path, bodies in targets:
        server = serve()
        try:
            for concurrency in args.concurrency:
                found = measure(server.port, path, bodies, concurrency, args.warmup, args.seconds)
                results[name, concurrency] = found
                print(f"  {name:26s} c={concurrency:<3d} {summary(found)}", flush=True)
        finally:
            server.stop()
    report(results, args.concurrency)


def summary(found: dict[str, Any]) -> str:
    return (
        f"{found['rps']:8.0f} req/s  p50 {found['p50_ms']:.3f} ms  p99 {found['p99_ms']:.3f} ms"
        f"  errors {found['errors']}  load {found['load']}"
    )


def report(results: dict[tuple[str, int], dict[str, Any]], levels: Sequence[int]) -> None:
    names = list(dict.fromkeys(name for name, _ in results))
    for concurrency in levels:
        rows = []
        bare = results.get(("bare ASGI", concurrency))
        keel = results.get(("keel (fsync)", concurrency))
        for name in names:
            found = results.get((name, concurrency))
            if found is None:
                continue
            rows.append(
                [
                    name,
                    f"{found['rps']:,.0f}",
                    f"{found['p50_ms']:.3f}",
                    f"{found['p99_ms']:.3f}",
                    found["errors"],
                    f"{found['rps'] / bare['rps']:.0%}" if bare else "",
                    f"{keel['rps'] / found['rps']:.1f}x" if keel else "",
                    found["load"],
                ]
            )
        table(
            f"single-record predict, concurrency {concurrency}, one worker each",
            [
                "server",
                "req/s",
                "p50 ms",
                "p99 ms",
                "errors",
                "of bare",
                "keel(fsync)/this",
                "load",
            ],
            rows,
        )
    fsync, write = results.get(("keel (fsync)", 32)), results.get(("keel (write)", 32))
    if fsync and write:
        print(
            f"\ndurable log: fsync gives {fsync['rps'] / write['rps']:.0%} of write's req/s at"
            " concurrency 32",
            end="",
        )
        lone_fsync, lone_write = results.get(("keel (fsync)", 1)), results.get(("keel (write)", 1))
        if lone_fsync and lone_write:
            extra = lone_fsync["p50_ms"] - lone_write["p50_ms"]
            print(f" and adds {extra:.3f} ms to the p50 at concurrency 1", end="")
        print()
    one, many = results.get(("keel (fsync)", 1)), results.get(("keel (fsync)", 32))
    if one and many:
        print(
            f"goals (issue 6): >= {GOALS['rps_32']:,.0f} req/s at 32: {many['rps']:,.0f};"
            f" p50 <= {GOALS['p50_1_ms']} ms at 1: {one['p50_ms']:.3f};"
            f" p99 <= {GOALS['p99_1_ms']} ms at 1: {one['p99_ms']:.3f}"
        )


if __name__ == "__main__":
    main()
