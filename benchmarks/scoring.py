"""Batch scoring: ``keel score`` rows/s on a 1M-row Parquet file, and where the time goes.

A temporary loan project is built through the Python API (50,000 simulated applications, the
loan example's model: 300 rounds, 31 leaves, isotonic calibration, trained by Keel's trainer,
registered and promoted). Then ``--rows`` later applications are written to one Parquet file
and scored by the real command, ``keel score FILE --out scored.parquet --json``, in a
subprocess: ``wall`` is the command from start to exit (Python start-up and the model load
included), ``rows/s`` is the command's own count over its scoring loop (read, contract check,
features, model, decisions, Parquet out). For scale, the last row is LightGBM's own predict on
the same feature matrix (built untimed), on the same threads.

The 1-minute load average is printed with the numbers: other work on the machine moves them.

    .venv/bin/python benchmarks/scoring.py                 # 1M rows
    .venv/bin/python benchmarks/scoring.py --rows 200000
"""

# ruff: noqa: PLC0415  (Keel and LightGBM are imported where used; this prints)
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from serving import build_project, keel_env, load, table  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the scored file")
    parser.add_argument("--python-peers", help="unused: no peer tool here (run_all passes it)")
    parser.add_argument("--no-peers", action="store_true", help="unused: no peer tool here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="keel-bench-scoring-"))
    try:
        run(work, args.rows)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def run(work: Path, rows: int) -> None:
    from keel.simulate import simulate_frame

    started = time.perf_counter()
    project = build_project(work / "proj")
    frame = simulate_frame(rows=rows, seed=11, start=datetime(2024, 7, 1), end=datetime(2025, 7, 1))
    source = work / "applications.parquet"
    frame.drop("defaulted").write_parquet(source)
    print(
        f"project and {rows:,} rows ready in {time.perf_counter() - started:.1f} s (load {load()})"
    )
    results = {}
    for backend, switch in (("native", "off"), ("compiled", "on")):
        out = work / f"scored-{backend}.parquet"
        begun = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "keel", "score", str(source), "--out", str(out), "--json"],
            cwd=project.folder,
            env={**keel_env(), "KEEL_COMPILED": switch},
            capture_output=True,
            text=True,
            check=True,
        )
        results[backend] = (time.perf_counter() - begun, json.loads(done.stdout), load())
    native, compiled = plain_predict(project.folder, frame)
    rows_out = []
    for backend, (wall, summary, seen) in results.items():
        rows_out.append(
            [
                f"keel score, {backend} (wall, start-up included)",
                f"{wall:.1f}",
                f"{rows / wall:,.0f}",
                seen,
            ]
        )
        rows_out.append(
            [
                f"keel score, {backend} (its scoring loop)",
                f"{summary['seconds']:.1f}",
                f"{summary['rows_per_second']:,}",
                seen,
            ]
        )
    for name, seconds in (("LightGBM", native), ("compiled (lleaves)", compiled)):
        rows_out.append(
            [f"{name} predict on the features", f"{seconds:.2f}", f"{rows / seconds:,.0f}", load()]
        )
    table(
        f"keel score, {rows:,} rows, one process", ["what", "seconds", "rows/s", "load"], rows_out
    )
    for backend, (_, summary, _) in results.items():
        print(
            f"{backend}: scored {summary['scored']:,}, rejected {summary['rejected']:,}:"
            f" {summary['decisions']}"
        )
    native_out = pl.read_parquet(work / "scored-native.parquet")
    compiled_out = pl.read_parquet(work / "scored-compiled.parquet")
    same = native_out["decision"].equals(compiled_out["decision"])
    gap = (native_out["score"] - compiled_out["score"]).abs().max()
    print(f"native and compiled: every decision identical {same}, scores differ by at most {gap}")


def plain_predict(folder: Path, frame: object) -> tuple[float, float]:
    """Seconds of LightGBM's own predict and of the compiled model's on the feature matrix (the
    matrix built untimed); the compiled one is what ``keel score`` serves (from the local cache)."""
    from keel.config import Settings, load_project
    from keel.wiring import open_keel

    project = load_project(folder / "keel.yaml")
    keel = open_keel(Settings.resolve(folder, project, environ={}), project=project)
    try:
        bundle = keel.registry().bundle(1)
        fast = keel.registry().serving_bundle(1)
        print(f"v1 inference: {keel.registry().inference(keel.registry().model(1))}")
    finally:
        keel.close()
    matrix = bundle.features(frame)  # type: ignore[arg-type]
    timed = []
    for model in (bundle, fast):
        started = time.perf_counter()
        model.estimator.predict(matrix.values)
        timed.append(time.perf_counter() - started)
    return timed[0], timed[1]


if __name__ == "__main__":
    os.environ.setdefault("POLARS_MAX_THREADS", str(os.cpu_count() or 2))
    main()
