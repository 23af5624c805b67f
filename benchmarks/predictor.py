"""The serving hot path in process, and what the durable prediction log costs.

Part 1, the predictor: one LightGBM model trained as the loan example says (300 rounds, isotonic
calibration) on simulated applications. Per-record latency (p50, p99 over ``--repeats`` calls)
of each step on one record: the contract checks, the features (the record encoder, and for
comparison the Polars frame path ``transform_records``), LightGBM's own 1-row predict (on two
threads, the model's setting, and on one, which the estimator uses below 256 rows), the whole
``predict_checked`` (features + model + decision + out-of-distribution flags: the issue's goal
is at most 60 us), ``predict`` (checks included) and ``predict`` with the top 3 contributions.
Then rows/s of ``predict`` on batches of records. With the ``compiled`` extra installed, the
same model compiled by lleaves is timed beside LightGBM in the same run (model, whole path,
batches).

Part 2, the log: appends/s and cost per record with 1, 8 and 32 threads appending one record at
a time, for both durability levels (``fsync``: acknowledged after ``fdatasync``; ``write``:
acknowledged once in the OS), with the records per sync that group commit achieved and the
append latency each caller saw. ``--processes N`` adds N worker processes appending side by
side. For comparison, the same appends as one SQLite transaction each (WAL, synchronous=FULL,
one connection per thread), which is what a database table would cost on the default setup;
``--postgres URL`` adds PostgreSQL (one transaction per append; the server groups commits).

The load average is printed with every row: other work on the machine moves these numbers.

    .venv/bin/python benchmarks/predictor.py
    .venv/bin/python benchmarks/predictor.py --repeats 20000 --processes 2 --postgres URL
"""

# ruff: noqa: PLC0415  (psycopg is imported only when asked for)
from __future__ import annotations

import argparse
import multiprocessing
import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import polars as pl
import yaml

from keel.data import Contract, DataSchema
from keel.decisions import DecisionPolicy
from keel.features import FeaturePipeline, FeatureSpec, feature_columns, transform_records
from keel.models.bundle import ModelBundle
from keel.models.calibration import Calibrator
from keel.models.factory import make_estimator
from keel.predictions import PredictionRecord
from keel.serving import Predictor, new_id
from keel.simulate import simulate_frame
from keel.store.tables.prediction_log import PredictionLog
from keel.store.tables.segment_log import Durability

ROOT = Path(__file__).resolve().parents[1]
GOAL_US = 60.0  # features + model + decision per record, in process (issue 6)
COMPILED_GOAL_US = 45.0  # the same with the compiled back end (issue 18)
APPENDERS = (1, 8, 32)


def load() -> str:
    return f"{os.getloadavg()[0]:.2f}"


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    print(f"\n{title}")
    cells = [list(map(str, header)), *[list(map(str, row)) for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for n, row in enumerate(cells):
        print(
            "  ".join(
                cell.rjust(w) if i else cell.ljust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            print("  ".join("-" * w for w in widths))


# --- part 1: the predictor --------------------------------------------------------------------


def train() -> tuple[Predictor, list[dict[str, Any]]]:
    project = yaml.safe_load((ROOT / "examples" / "loan" / "keel.yaml").read_text())
    schema = DataSchema(
        Contract.parse(project["contract"]),
        entity=project["entity"],
        timestamp=project["timestamp"],
        target=project["target"]["column"],
    )
    frame = simulate_frame(
        rows=50_000, seed=7, start=datetime(2024, 1, 1), end=datetime(2024, 7, 1)
    )
    train_rows, held = frame[:40_000], frame[40_000:]
    spec = FeatureSpec.parse(project["features"])
    pipeline = FeaturePipeline(
        spec=spec, columns=feature_columns(schema, spec), model_kind="lightgbm"
    )
    matrix = pipeline.fit_transform(train_rows)
    labels = train_rows["defaulted"].cast(pl.Float64).to_numpy()
    estimator = make_estimator("lightgbm", "binary", project["model"]["params"], seed=42)
    estimator.fit(matrix.values, labels, names=matrix.names, categorical=matrix.categorical)
    calibrator = Calibrator(method="isotonic").fit(
        estimator.predict(pipeline.transform(held).values),
        held["defaulted"].cast(pl.Float64).to_numpy(),
    )
    bundle = ModelBundle("binary", pipeline, estimator, calibrator, dict(pipeline.columns))
    policy = DecisionPolicy.parse(project["decisions"])
    predictor = Predictor(bundle, schema=schema, policy=policy, model="loan-default/v1")
    later = simulate_frame(
        rows=20_000, seed=8, start=datetime(2024, 7, 1), end=datetime(2024, 8, 1)
    )
    return predictor, later.drop("defaulted", "applied_at").to_dicts()


def latency(call: Callable[[], object], repeats: int) -> tuple[float, float]:
    """p50 and p99 in microseconds of ``repeats`` calls (after a warm-up)."""
    for _ in range(min(repeats, 200)):
        call()
    samples = np.empty(repeats)
    clock = time.perf_counter_ns
    for i in range(repeats):
        start = clock()
        call()
        samples[i] = clock() - start
    return float(np.percentile(samples, 50)) / 1e3, float(np.percentile(samples, 99)) / 1e3


def compiled_predictor(predictor: Predictor) -> tuple[Predictor | None, float]:
    """The same predictor with its model compiled by lleaves (None without the extra), and the
    seconds the compile took (a fresh cache folder: no cached object)."""
    import copy
    import hashlib

    from keel.models.compiled import available, compiled_bundle

    if not available():
        return None, 0.0
    digest = hashlib.sha256(predictor.bundle.estimator.to_bytes()).hexdigest()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as cache:
        fast = compiled_bundle(predictor.bundle, digest, cache_dir=Path(cache))
    seconds = time.perf_counter() - started
    if fast is None:
        return None, seconds
    compiled = copy.copy(predictor)
    compiled.bundle = fast
    return compiled, seconds


def bench_predictor(repeats: int) -> None:
    predictor, records = train()
    compiled, compile_seconds = compiled_predictor(predictor)
    one = records[:1]
    encoded = predictor.encoder.encode(one)
    booster = predictor.bundle.estimator.booster_  # type: ignore[attr-defined]
    x = encoded.matrix.values
    steps: list[tuple[str, Callable[[], object]]] = [
        ("checks", lambda: predictor.check(one)),
        ("features: record encoder", lambda: predictor.encoder.encode(one)),
        ("features: Polars frame path", lambda: transform_records(predictor.bundle.pipeline, one)),
        ("LightGBM 1-row predict, 2 threads", lambda: booster.predict(x, num_threads=2)),
        ("LightGBM 1-row predict, 1 thread", lambda: booster.predict(x, num_threads=1)),
        ("features+model+decision+OOD", lambda: predictor.predict_checked(one)),
        ("predict (with checks)", lambda: predictor.predict(one)),
        ("predict, top-3 contributions", lambda: predictor.predict(one, explain=3)),
    ]
    if compiled is not None:
        print(f"compiled the model with lleaves in {compile_seconds:.1f} s (load {load()})")
        fast = compiled.bundle.estimator
        steps += [
            ("compiled 1-row predict (lleaves)", lambda: fast.predict(x)),
            ("LightGBM 1-row predict, 1 thread, again", lambda: booster.predict(x, num_threads=1)),
            ("features+model+decision+OOD, compiled", lambda: compiled.predict_checked(one)),
            ("features+model+decision+OOD, again", lambda: predictor.predict_checked(one)),
        ]
    rows = []
    for name, call in steps:
        count = repeats // 10 if "contributions" in name else repeats
        p50, p99 = latency(call, count)
        rows.append([name, f"{p50:.1f}", f"{p99:.1f}", load()])
    table("one record, in process (us)", ["step", "p50", "p99", "load"], rows)
    whole = next(float(row[1]) for row in rows if row[0] == "features+model+decision+OOD")
    verdict = "meets" if whole <= GOAL_US else "misses"
    print(f"features + model + decision: p50 {whole:.1f} us, {verdict} the {GOAL_US:.0f} us goal")
    if compiled is not None:
        name = "features+model+decision+OOD, compiled"
        fast_whole = next(float(row[1]) for row in rows if row[0] == name)
        verdict = "meets" if fast_whole <= COMPILED_GOAL_US else "misses"
        goal = f"{COMPILED_GOAL_US:.0f} us goal"
        print(f"the same, compiled: p50 {fast_whole:.1f} us, {verdict} the {goal}")
    batch_rows = []
    backends = [("native", predictor)] + ([("compiled", compiled)] if compiled else [])
    for size in (10, 100, 1_000, 10_000):
        chunk = records[:size]
        runs = max(3, 20_000 // size)
        for name, serving in backends:
            start = time.perf_counter()
            for _ in range(runs):
                serving.predict(chunk)
            elapsed = time.perf_counter() - start
            per_row = f"{elapsed / runs / size * 1e6:.1f}"
            batch_rows.append([size, name, f"{size * runs / elapsed:,.0f}", per_row, load()])
    table(
        "batches through predict (checks included)",
        ["records", "model", "rows/s", "us/row", "load"],
        batch_rows,
    )


# --- part 2: the log --------------------------------------------------------------------------


def sample_record(prediction_id: str) -> PredictionRecord:
    return PredictionRecord(
        request_id=new_id(),
        prediction_id=prediction_id,
        time=datetime.now(UTC),
        model="loan-default/v1",
        entity_id="a-0000012345",
        inputs={
            "application_id": "a-0000012345",
            "income": 52000.0,
            "age": 41,
            "employment_years": 7.5,
            "debt": 12000.0,
            "loan_amount": 18000.0,
            "term_months": 36,
            "interest_rate": 0.071,
            "credit_score": 702,
            "num_open_accounts": 4,
            "num_delinquencies": 0,
            "purpose": "car",
            "region": "north",
            "housing": "rent",
            "channel": "online",
        },
        score=0.083,
        decision="approve",
        ood=[],
        latency_ms=0.41,
        route="champion",
    )


def run_appenders(
    append: Callable[[int, int], None], threads: int, per_thread: int
) -> tuple[float, list[float]]:
    """Wall seconds for ``threads`` threads each calling ``append(thread, i)`` ``per_thread``
    times, and every call's latency in microseconds."""
    latencies: list[list[float]] = [[] for _ in range(threads)]
    barrier = threading.Barrier(threads + 1)

    def work(k: int) -> None:
        barrier.wait()
        seen = latencies[k]
        for i in range(per_thread):
            start = time.perf_counter_ns()
            append(k, i)
            seen.append((time.perf_counter_ns() - start) / 1e3)

    workers = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    start = time.perf_counter()
    for worker in workers:
        worker.join()
    return time.perf_counter() - start, [x for seen in latencies for x in seen]


def log_row(
    label: str, threads: int, rows: int, wall: float, seen: list[float], per_sync: str
) -> list[object]:
    p50, p99 = np.percentile(seen, 50), np.percentile(seen, 99)
    return [
        label,
        threads,
        f"{rows / wall:,.0f}",
        f"{wall / rows * 1e6:.0f}",
        per_sync,
        f"{p50:.0f}",
        f"{p99:.0f}",
        load(),
    ]


def bench_segment_log(durability: Durability, threads: int, seconds: float) -> list[object]:
    with tempfile.TemporaryDirectory(dir=ROOT) as folder:
        log = PredictionLog(Path(folder) / "log", durability=durability)
        record = sample_record("warm-up")
        log.append([record])
        per_thread = _per_thread(durability, threads, seconds)
        before = log.stats
        wall, seen = run_appenders(lambda k, i: log.append([record]), threads, per_thread)
        after = log.stats
        log.close()
    groups = max(after.groups - before.groups, 1)
    rows = threads * per_thread
    return log_row(f"segments, {durability}", threads, rows, wall, seen, f"{rows / groups:.1f}")


def _per_thread(durability: str, threads: int, seconds: float) -> int:
    rate = 200_000 if durability == "write" else 300 * threads  # rough appends/s, to size a run
    return max(20, int(rate * seconds / threads))


def bench_sqlite(threads: int, seconds: float) -> list[object]:
    body = orjson.dumps(sample_record("x").to_row())
    with tempfile.TemporaryDirectory(dir=ROOT) as folder:
        path = Path(folder) / "log.db"
        with sqlite3.connect(path) as setup:
            setup.execute("pragma journal_mode=wal")
            setup.execute("create table log (id integer primary key, body blob not null)")
        local = threading.local()

        def append(k: int, i: int) -> None:
            if not hasattr(local, "db"):
                local.db = sqlite3.connect(path, timeout=60, isolation_level=None)
                local.db.execute("pragma synchronous=FULL")
            local.db.execute("begin immediate")
            local.db.execute("insert into log (body) values (?)", (body,))
            local.db.execute("commit")

        per_thread = max(10, int(300 * seconds / threads))
        wall, seen = run_appenders(append, threads, per_thread)
    return log_row("SQLite table, FULL", threads, threads * per_thread, wall, seen, "1")


def bench_postgres(url: str, threads: int, seconds: float) -> list[object]:
    import psycopg

    body = orjson.dumps(sample_record("x").to_row()).decode()
    table_name = f"keel_bench_{os.getpid()}"
    with psycopg.connect(url, autocommit=True) as setup:
        setup.execute(f"create table {table_name} (id bigserial primary key, body jsonb not null)")
    local = threading.local()

    def append(k: int, i: int) -> None:
        if not hasattr(local, "db"):
            local.db = psycopg.connect(url, autocommit=True)
        local.db.execute(f"insert into {table_name} (body) values (%s)", (body,))

    try:
        per_thread = max(10, int(800 * seconds / threads))
        wall, seen = run_appenders(append, threads, per_thread)
    finally:
        with psycopg.connect(url, autocommit=True) as setup:
            setup.execute(f"drop table {table_name}")
    return log_row("PostgreSQL table", threads, threads * per_thread, wall, seen, "-")


def _process_writer(
    folder: str, threads: int, per_thread: int, ready: Any, go: Any, out: Any
) -> None:
    log = PredictionLog(Path(folder), durability="fsync")
    record = sample_record("p")
    log.append([record])
    ready.release()
    go.wait()
    wall, seen = run_appenders(lambda k, i: log.append([record]), threads, per_thread)
    stats = log.stats
    log.close()
    out.put((wall, seen, stats.appends - 1, stats.groups - 1))


def bench_processes(processes: int, threads: int, seconds: float) -> list[object]:
    context = multiprocessing.get_context("spawn")
    ready, go, out = context.Semaphore(0), context.Event(), context.Queue()
    per_thread = _per_thread("fsync", threads, seconds)
    with tempfile.TemporaryDirectory(dir=ROOT) as folder:
        workers = [
            context.Process(
                target=_process_writer, args=(folder, threads, per_thread, ready, go, out)
            )
            for _ in range(processes)
        ]
        for worker in workers:
            worker.start()
        for _ in workers:
            ready.acquire()
        start = time.perf_counter()
        go.set()
        results = [out.get() for _ in workers]
        wall = time.perf_counter() - start
        for worker in workers:
            worker.join()
    rows = sum(r[2] for r in results)
    groups = max(sum(r[3] for r in results), 1)
    seen = [x for r in results for x in r[1]]
    label = f"segments, fsync, {processes} processes"
    return log_row(label, processes * threads, rows, wall, seen, f"{rows / groups:.1f}")


def bench_log(seconds: float, processes: int, postgres: str | None) -> None:
    rows = []
    for durability in ("fsync", "write"):
        for threads in APPENDERS:
            rows.append(bench_segment_log(durability, threads, seconds))
    if processes > 1:
        for threads in (1, 8):
            rows.append(bench_processes(processes, threads, seconds))
    for threads in APPENDERS:
        rows.append(bench_sqlite(threads, seconds))
    if postgres:
        for threads in APPENDERS:
            rows.append(bench_postgres(postgres, threads, seconds))
    header = [
        "log",
        "appenders",
        "appends/s",
        "us/record",
        "records/sync",
        "p50 us",
        "p99 us",
        "load",
    ]
    table("prediction log: one record per append", header, rows)
    print("us/record is wall time over records at that concurrency: what durability costs each")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5000, help="calls per latency measurement")
    parser.add_argument("--seconds", type=float, default=2.0, help="rough length of each log run")
    parser.add_argument("--processes", type=int, default=2, help="worker processes (0: skip)")
    parser.add_argument("--postgres", help="also compare a PostgreSQL table at this URL")
    parser.add_argument("--python-peers", help="unused: no peer tool here (run_all passes it)")
    parser.add_argument("--no-peers", action="store_true", help="unused: no peer tool here")
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, load average at start: {load()}")
    bench_predictor(args.repeats)
    bench_log(args.seconds, args.processes, args.postgres)


if __name__ == "__main__":
    main()
