"""The prediction log's footprint on disk, the memory and time of sealing it, and how long a
real ``keel serve`` holding a large unsealed log takes to stop on SIGTERM.

1. ``--rows`` predictions of a 20-feature record are appended through the real
   ``PredictionLog`` (``durability="write"``, 1,000 records per append, 64 MiB segments), then
   the log is closed: bytes per prediction in segment files (which are made at full size), and
   in the rows they hold.
2. A child process seals the log (``PredictionLog.seal``): seconds, its peak RSS, and bytes per
   prediction in the Parquet parts.
3. A fresh copy of the unsealed log is put in a project (the loan example, no model released:
   the log is what is measured), ``keel serve`` is started on it and sent SIGTERM as soon as
   ``/healthz`` answers: seconds from SIGTERM to exit, from spawn to exit, and what is left
   unsealed. Every row is then read back: none lost, none twice.
4. If segments were left, ``keel serve`` starts again on them: seconds until its background
   sealer has sealed them all while it serves, then from SIGTERM to exit.

On this machine (2 cores shared with other work), 650,000 predictions, before this sealing
(everything sealed at exit, each segment read whole) and after:

    segments        826 B/prediction on disk (729 of framed rows)        the same
    sealing         24.9 s, peak RSS 600 MiB, parts 69 B/prediction      11.0-18.5 s, 189-200
                                                                         MiB, 70 B/prediction
    SIGTERM         16.9 s to exit (19.9 s from spawn), all sealed       3.3-3.6 s (5.7-8.5 s
                                                                         from spawn), 7-8 left
    next start      -                                                    sealed in 5.1-15.2 s
                                                                         while serving, then
                                                                         SIGTERM 0.2-0.3 s

To measure the code before a change, run this file with ``PYTHONPATH`` set to that version's
``src`` (e.g. ``git archive main | tar -x -C /tmp/main``).

    .venv/bin/python benchmarks/log_footprint.py [--rows 650000] [--skip-serve]
"""

# ruff: noqa: PLC0415  (Keel is imported where it is used; this prints)
from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from keel.predictions import PredictionRecord

ROOT = Path(__file__).resolve().parents[1]
BATCH = 1_000
SEAL = """
import sys, time
from pathlib import Path
from keel.store.tables.prediction_log import PredictionLog
start = time.perf_counter()
sealed = PredictionLog(Path(sys.argv[1])).seal()
print(sealed, time.perf_counter() - start)
"""


def record(i: int) -> PredictionRecord:
    """A prediction of a 20-feature application (numbers, counts, categories, one missing)."""
    from keel.predictions import PredictionRecord

    draw = random.Random(i)
    inputs: dict[str, object] = {
        "application_id": f"app-{i:09d}",
        "income": round(draw.lognormvariate(10.8, 0.5), 2),
        "age": draw.randint(21, 75),
        "loan_amount": round(draw.uniform(1_000, 50_000), 2),
        "term_months": draw.choice((12, 24, 36, 60)),
        "interest_rate": round(draw.uniform(0.03, 0.25), 4),
        "debt_to_income": round(draw.random(), 4),
        "credit_score": draw.randint(300, 850),
        "open_accounts": draw.randint(0, 20),
        "delinquencies": draw.randint(0, 4),
        "months_employed": draw.randint(0, 480),
        "home_ownership": draw.choice(("rent", "own", "mortgage")),
        "purpose": draw.choice(("car", "home", "debt_consolidation", "education")),
        "region": draw.choice(("north", "south", "east", "west")),
        "employment_type": draw.choice(("salaried", "self_employed", "contract")),
        "has_cosigner": draw.random() < 0.2,
        "previous_loans": draw.randint(0, 6),
        "utilization": round(draw.random(), 4),
        "savings": round(draw.expovariate(1 / 8_000), 2),
        "channel": None,
    }
    return PredictionRecord(
        request_id=f"req-{i:09d}",
        prediction_id=f"pred-{i:09d}",
        time=datetime(2024, 3, 1, tzinfo=UTC) + timedelta(milliseconds=i),
        model="loan-default/v3",
        entity_id=f"app-{i:09d}",
        inputs=inputs,
        score=draw.random(),
        decision=("approve", "review", "decline")[i % 3],
        latency_ms=round(draw.uniform(0.2, 3.0), 3),
        route="champion",
        policy="0123456789abcdef",
    )


def make_log(root: Path, rows: int) -> tuple[float, int]:
    """``rows`` predictions through the real log, closed unsealed; seconds and row bytes."""
    from keel.store.tables.prediction_log import PredictionLog
    from keel.store.tables.segment_log import frame

    start = time.perf_counter()
    payload = 0
    with PredictionLog(root, durability="write") as log:
        for low in range(0, rows, BATCH):
            batch = [record(i) for i in range(low, min(rows, low + BATCH))]
            payload += sum(len(frame(r.to_row())) for r in batch)
            log.append(batch)
    return time.perf_counter() - start, payload


def folder_bytes(folder: Path, suffix: str) -> tuple[int, int]:
    """Files with ``suffix`` in ``folder``: how many, and their bytes on disk."""
    files = list(folder.glob(f"*{suffix}")) if folder.is_dir() else []
    return len(files), sum(f.stat().st_blocks * 512 for f in files)


def seal(root: Path) -> tuple[int, float, float]:
    """Segments sealed, seconds and peak RSS (MiB) of sealing in a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    done = subprocess.run(
        [sys.executable, "-c", SEAL, str(root)], capture_output=True, text=True, check=True
    )
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    sealed, seconds = done.stdout.split()
    return int(sealed), float(seconds), max(peak, before) / 1024


def make_project(folder: Path) -> None:
    """The loan example with its database made; no model (the log is what is measured)."""
    from keel.app.scaffold import scaffold
    from keel.config import Settings, load_project
    from keel.store.sql.schema import upgrade
    from keel.wiring import open_keel

    scaffold(folder, "loan")
    project = load_project(folder / "keel.yaml")
    keel = open_keel(Settings.resolve(folder, project, environ={}), project=project, check=False)
    try:
        upgrade(keel.db)
    finally:
        keel.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def drain(
    folder: Path, out: Path, *, sealed_first: bool = False
) -> tuple[float, float, float, float]:
    """``keel serve`` on ``folder`` stopped by SIGTERM once it answers (``sealed_first``: once
    no segment but its own is left): seconds to start, until then, from SIGTERM to exit, and
    from spawn to exit."""
    import httpx

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEL_")}
    with out.open("wb") as log:
        spawned = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "keel", "serve", "--port", str(port)],
            cwd=folder,
            env=env | {"NO_COLOR": "1"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"keel serve exited:\n{out.read_text()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.05)
    answered = ready = time.perf_counter()
    segments = folder / ".keel" / "predictions" / "segments"
    while sealed_first and len(list(segments.glob("*.seg"))) > 1:
        if process.poll() is not None:
            raise RuntimeError(f"keel serve exited:\n{out.read_text()[-3000:]}")
        if time.perf_counter() - answered > 900:
            raise RuntimeError("keel serve did not seal the log in 900 s")
        time.sleep(0.1)
        ready = time.perf_counter()
    process.send_signal(signal.SIGTERM)
    process.wait(900)
    stopped = time.perf_counter()
    return answered - spawned, ready - answered, stopped - ready, stopped - spawned


def check(root: Path, rows: int) -> None:
    """Every logged prediction reads back once."""
    import polars as pl

    from keel.store.tables.prediction_log import PredictionLog

    ids = PredictionLog(root).scan().select("prediction_id").collect().to_series()
    assert ids.len() == rows, f"{ids.len()} rows read back, {rows} logged"
    assert ids.n_unique() == rows, "a row was read twice"
    assert ids.sort().equals(
        pl.Series([f"pred-{i:09d}" for i in range(rows)]).sort(), check_names=False
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=650_000)
    parser.add_argument("--skip-serve", action="store_true")
    parser.add_argument("--skip-restart", action="store_true")
    args = parser.parse_args()
    rows = args.rows
    mib = 1 << 20
    with tempfile.TemporaryDirectory(prefix="keel-bench-footprint-") as scratch:
        work = Path(scratch)
        template = work / "template"
        seconds, payload = make_log(template, rows)
        count, size = folder_bytes(template / "segments", ".seg")
        print(f"{rows:,} predictions logged in {seconds:.0f} s")
        print(
            f"segments: {count} files, {size / mib:,.0f} MiB, {size / rows:,.0f} B/prediction"
            f" on disk ({payload / rows:,.0f} B/prediction of framed rows)"
        )
        sealing = work / "sealing"
        shutil.copytree(template, sealing)
        sealed, seconds, peak = seal(sealing)
        parts, size = folder_bytes(sealing / "parts", ".parquet")
        print(
            f"sealed {sealed} segments in {seconds:.1f} s, peak RSS {peak:,.0f} MiB: {parts} parts,"
            f" {size / mib:,.0f} MiB, {size / rows:,.0f} B/prediction"
        )
        check(sealing, rows)
        shutil.rmtree(sealing)
        if args.skip_serve:
            return
        project = work / "project"
        make_project(project)
        shutil.copytree(template, project / ".keel" / "predictions", dirs_exist_ok=True)
        segments = project / ".keel" / "predictions" / "segments"
        started, _, drained, total = drain(project, work / "serve.log")
        left, size = folder_bytes(segments, ".seg")
        print(
            f"keel serve, SIGTERM once it answers ({started:.1f} s): SIGTERM to exit"
            f" {drained:.1f} s ({total:.1f} s from spawn); {left} segments left unsealed"
        )
        check(project / ".keel" / "predictions", rows)
        print("every prediction read back once")
        if left and not args.skip_restart:
            started, sealing, drained, total = drain(
                project, work / "serve-again.log", sealed_first=True
            )
            left, size = folder_bytes(segments, ".seg")
            print(
                f"keel serve again: answered in {started:.1f} s, sealed what was left in the"
                f" background in {sealing:.1f} s; SIGTERM to exit {drained:.1f} s;"
                f" {left} segments left unsealed"
            )
            check(project / ".keel" / "predictions", rows)
            print("every prediction read back once")


if __name__ == "__main__":
    main()
