"""``keel score --executor ray``: rows/s with one and with two Ray worker processes, beside the
local path, on the same Parquet file in the same run.

The project is the one ``benchmarks/scoring.py`` builds (the loan example's model, trained by
Keel, registered and promoted). ``--rows`` later applications go to one Parquet file. A real
Ray cluster runs on loopback, started as the tests start it (``tests/raycluster.py``): a head
node with one CPU (one worker process), then a head and a worker node with one CPU each (two
worker processes). Each configuration is timed twice:

- ``whole command``: ``keel score FILE --executor ray --json`` in a subprocess that joins the
  running cluster (``KEEL_RAY_ADDRESS``): Python start-up, the model load, joining the
  cluster and shipping the model included; the cluster's own start-up is not;
- ``in-process``: the ``score`` use case called in this process (joining the cluster and
  shipping the model included).

The local path (``--executor local``) is timed the same two ways. One more row runs the command
without an address: Ray starts a private local cluster (all CPUs) for the command, the fixed
start-up a laptop user pays. Every Ray output is compared with the local output row for row.

The machine may be shared: the 1-minute load average is printed beside every timing, and the
ratios (2 workers / 1 worker, Ray / local) come from the same run.

    .venv/bin/python benchmarks/ray_scoring.py --rows 2000000
"""

# ruff: noqa: PLC0415  (Keel and Ray are imported where used; this prints)
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
from typing import Any

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from serving import build_project, keel_env, load, table  # noqa: E402
from tests.raycluster import CLIENT_ENV, start_cluster  # noqa: E402

CHUNK_ROWS = 200_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000, help="rows in the scored file")
    parser.add_argument("--chunk-rows", type=int, default=CHUNK_ROWS, help="rows per block")
    parser.add_argument("--python-peers", help="unused: no peer tool here (run_all passes it)")
    parser.add_argument("--no-peers", action="store_true", help="unused: no peer tool here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="keel-bench-ray-"))
    try:
        run(work, args.rows, args.chunk_rows)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def command(
    folder: Path, source: Path, out: Path, chunk_rows: int, *extra: str, env: dict[str, str]
) -> tuple[float, Any, str]:
    begun = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "keel", "score", str(source), "--out", str(out), "--json",
         "--chunk-rows", str(chunk_rows), *extra],
        cwd=folder, env={**keel_env(), **CLIENT_ENV, **env}, capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"keel score failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - begun, json.loads(done.stdout), load()


def in_process(
    folder: Path, source: Path, out: Path, chunk_rows: int, executor: str, address: str | None
) -> tuple[float, Any, str]:
    from keel.app import serving
    from keel.app.session import open_project

    keel = open_project(folder)
    try:
        begun = time.perf_counter()
        request = serving.ScoreRequest(
            out=out, file=source, chunk_rows=chunk_rows, executor=executor, ray_address=address
        )
        scored = serving.score(keel, request)
        return time.perf_counter() - begun, scored.to_dict(), load()
    finally:
        keel.close()


def run(work: Path, rows: int, chunk_rows: int) -> None:
    from keel.simulate import simulate_frame

    started = time.perf_counter()
    project = build_project(work / "proj")
    folder = project.folder
    frame = simulate_frame(rows=rows, seed=11, start=datetime(2024, 7, 1), end=datetime(2025, 7, 1))
    source = work / "applications.parquet"
    frame.drop("defaulted").write_parquet(source)
    del frame
    print(
        f"project and {rows:,} rows ready in {time.perf_counter() - started:.1f} s (load {load()})"
    )
    print(f"machine: {os.cpu_count()} CPUs, shared with other work; blocks of {chunk_rows:,} rows")
    results: list[tuple[str, str, tuple[float, Any, str]]] = []
    local_out = work / "local.parquet"
    results.append(("local", "-", command(folder, source, local_out, chunk_rows, env={})))
    results.append(
        (
            "local",
            "-",
            in_process(folder, source, work / "local-ip.parquet", chunk_rows, "local", None),
        )
    )
    expected = pl.read_parquet(local_out)
    same: dict[str, bool] = {}
    for workers in (1, 2):
        begun = time.perf_counter()
        cluster = start_cluster(workers=workers - 1)
        print(
            f"cluster with {workers} worker process(es) up in"
            f" {time.perf_counter() - begun:.1f} s (load {load()})"
        )
        try:
            out = work / f"ray-{workers}.parquet"
            env = {"KEEL_RAY_ADDRESS": cluster.address}
            results.append(
                (
                    "ray",
                    str(workers),
                    command(folder, source, out, chunk_rows, "--executor", "ray", env=env),
                )
            )
            same[f"ray {workers} worker(s), command"] = pl.read_parquet(out).equals(expected)
            out = work / f"ray-{workers}-ip.parquet"
            results.append(
                (
                    "ray",
                    str(workers),
                    in_process(folder, source, out, chunk_rows, "ray", cluster.address),
                )
            )
            same[f"ray {workers} worker(s), in-process"] = pl.read_parquet(out).equals(expected)
        finally:
            cluster.stop()
    out = work / "ray-own.parquet"
    own = command(folder, source, out, chunk_rows, "--executor", "ray", env={})
    results.append(("ray, cluster started by the command", str(os.cpu_count()), own))
    same["ray, own local cluster"] = pl.read_parquet(out).equals(expected)
    rows_out = []
    for index, (what, workers, (seconds, summary, seen)) in enumerate(results):
        how = "whole command" if index % 2 == 0 or what.startswith("ray,") else "in-process"
        loop = summary["rows_per_second"]
        rows_out.append(
            [what, workers, how, f"{seconds:.1f}", f"{rows / seconds:,.0f}", f"{loop:,}", seen]
        )
    table(
        f"keel score, {rows:,} rows",
        ["executor", "workers", "timed", "seconds", "rows/s", "rows/s (scoring loop)", "load"],
        rows_out,
    )
    by = {(r[0], r[1], i % 2): r[2][0] for i, r in enumerate(results[:6])}
    for how, parity in (("whole command", 0), ("in-process", 1)):
        one, two, local = (
            by[("ray", "1", parity)],
            by[("ray", "2", parity)],
            by[("local", "-", parity)],
        )
        print(
            f"{how}: 2 workers / 1 worker = {one / two:.2f}x faster;"
            f" ray 1 worker / local = {one / local:.2f}x the time;"
            f" ray 2 workers / local = {two / local:.2f}x the time"
        )
    print(f"own local cluster, start-up included: {own[0]:.1f} s (load {own[2]})")
    for name, equal in same.items():
        print(f"{name}: output identical to local row for row: {equal}")


if __name__ == "__main__":
    os.environ.update(CLIENT_ENV)  # the in-process runs, too
    os.environ.setdefault("POLARS_MAX_THREADS", str(os.cpu_count() or 2))
    main()
