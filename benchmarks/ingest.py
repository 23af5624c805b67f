"""``keel ingest`` of a large Parquet file as a user runs it, beside the floor of reading and
writing the same rows once.

``keel simulate`` writes ``--rows`` loan applications (the loan example's contract, one Parquet
file) into a temporary folder, ``keel init`` makes a project there, and ``keel ingest FILE`` runs
in a subprocess: ``wall`` is the whole command (Python start-up, hashing the file, reading,
checking, writing the raw, accepted and rejected parts, profiling, the metadata transaction),
``CPU`` its user and system time, ``peak`` its peak resident memory (``wait4``). The floor is
Polars reading the same file and writing it once as Parquet, in a subprocess too: what storing
the rows costs with no contract, no ids, no profile.

The 1-minute load average is printed with each row: other work on the machine moves them.

    .venv/bin/python benchmarks/ingest.py                    # 10M rows
    .venv/bin/python benchmarks/ingest.py --rows 1000000
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from serving import keel_env, load, table  # noqa: E402

FLOOR = """
import sys, polars as pl
pl.read_parquet(sys.argv[1]).write_parquet(sys.argv[2])
"""


def timed(command: list[str], cwd: Path) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MiB) of one child process."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=keel_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        assert process.stderr is not None
        raise RuntimeError(f"{command[:3]} failed: {process.stderr.read().decode()[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def run(work: Path, rows: int) -> None:
    keel = [sys.executable, "-m", "keel"]
    source = work / "applications.parquet"
    begun = time.perf_counter()
    subprocess.run(
        [*keel, "simulate", "--out", str(source), "--rows", str(rows), "--id-offset", "50000000"],
        cwd=work,
        env=keel_env(),
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [*keel, "init", "proj"], cwd=work, env=keel_env(), check=True, capture_output=True
    )
    size = source.stat().st_size / 2**20
    print(
        f"{rows:,} rows, {size:,.0f} MiB of Parquet, ready in {time.perf_counter() - begun:.1f} s"
        f" (load {load()})"
    )
    results = []
    for name, command in (
        ("keel ingest FILE (whole command)", [*keel, "ingest", str(source), "--source", "bench"]),
        ("floor: Polars reads and writes it", [sys.executable, "-c", FLOOR, str(source), "out.pq"]),
    ):
        wall, cpu, peak = timed(command, work / "proj")
        results.append(
            [name, f"{wall:.1f}", f"{cpu:.1f}", f"{rows / wall:,.0f}", f"{peak:,.0f}", load()]
        )
    table(
        f"ingest, {rows:,} rows, one process",
        ["what", "wall s", "CPU s", "rows/s", "peak MiB", "load"],
        results,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows in the ingested file")
    parser.add_argument("--python-peers", help="unused: no peer tool here (run_all passes it)")
    parser.add_argument("--no-peers", action="store_true", help="unused: no peer tool here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="keel-bench-ingest-"))
    try:
        run(work, args.rows)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
