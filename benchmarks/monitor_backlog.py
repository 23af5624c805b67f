"""Peak memory and time of ``keel monitor run`` over a backlog of logged predictions.

The project is the control-plane test project (the loan example, a champion, 1,500 predictions
served over HTTP and one monitor run). Its chunks are set to 50,000 rows, then the log is grown
by ``--rows`` predictions logged after that run, as sealed Parquet parts of 500,000 rows (copies
of the served rows with fresh ids and later times, as sealing writes them). ``keel monitor run
--json`` then runs in a child process as the operator, the whole command timed and its peak
resident memory read back. A run reads its backlog in windows of 200,000 predictions, so the
peak should not grow with the backlog.

    .venv/bin/python benchmarks/monitor_backlog.py [--rows 1000000 10000000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PART_ROWS = 500_000
CHUNK_ROWS = 50_000


def grow_log(folder: Path, rows: int) -> None:
    """``rows`` copies of the served predictions, logged after them, as sealed parts."""
    from keel.app.session import open_project  # noqa: PLC0415

    keel = open_project(folder, check=False)
    try:
        log = keel.prediction_log()
        log.seal()
        served = log.scan().collect()
        log.close()
        parts = keel.settings.state_dir / "predictions" / "parts"
    finally:
        keel.close()
    newest = served["time"].max()
    assert newest is not None
    for n, start in enumerate(range(0, rows, PART_ROWS)):
        size = min(PART_ROWS, rows - start)
        index = pl.int_range(start, start + size, eager=True)
        copy = served.sample(size, with_replacement=True, seed=n).with_columns(
            prediction_id=pl.format("backlog-{}", index),
            request_id=pl.format("backlog-r-{}", index),
            time=pl.lit(newest) + pl.duration(milliseconds=index + 1),
        )
        copy.write_parquet(parts / f"backlog-{n:04d}.parquet", compression="zstd")


def monitor(folder: Path, key: str) -> tuple[float, float, dict[str, object]]:
    """Seconds and peak RSS (MiB) of the whole ``keel monitor run --json``, and its answer."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KEEL_")}
    environ |= {"KEEL_API_KEY": key, "NO_COLOR": "1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "keel", "monitor", "run", "--json"],
        cwd=folder,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
    )
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"keel monitor run failed ({done.returncode}): {done.stderr[-2000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return took, max(peak, before) / 1024, json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--python-peers", help="unused: no peer tool monitors Keel's log")
    parser.add_argument("--no-peers", action="store_true")
    args = parser.parse_args()
    from tests.control.conftest import _build  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="keel-bench-monitor-") as tmp:
        template = Path(tmp) / "template"
        keys = _build(template)
        config = yaml.safe_load((template / "keel.yaml").read_text())
        config["monitoring"]["chunk"] = {"rows": CHUNK_ROWS}
        (template / "keel.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        print(f"{'backlog':>12}{'chunks':>8}{'seconds':>9}{'peak RSS MiB':>14}  load")
        for rows in sorted(args.rows):  # RUSAGE_CHILDREN keeps the largest child so far
            folder = Path(tmp) / f"backlog-{rows}"
            shutil.copytree(template, folder)
            grow_log(folder, rows)
            took, peak, answer = monitor(folder, keys["ana"])
            chunks = answer.get("chunks", [])
            count = len(chunks) if isinstance(chunks, list) else chunks
            load = os.getloadavg()[0]
            print(f"{rows:>12,}{count:>8}{took:>9.1f}{peak:>14,.0f}  {load:.2f}", flush=True)
            shutil.rmtree(folder)


if __name__ == "__main__":
    main()
