"""Peak memory and time of exporting the prediction log, by number of logged predictions.

The log is made directly as sealed Parquet parts of 500,000 rows (as sealing writes them),
then ``PredictionLog.export`` runs in a child process whose peak RSS is read back.

    .venv/bin/python benchmarks/log_export.py [--rows 1000000 4000000]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
PART_ROWS = 500_000
EXPORT = """
import sys, time
from pathlib import Path
from keel.store.tables.prediction_log import PredictionLog
start = time.perf_counter()
rows = PredictionLog(Path(sys.argv[1])).export(Path(sys.argv[2]))
print(rows, time.perf_counter() - start)
"""


def make_log(root: Path, rows: int) -> None:
    """``rows`` predictions as parts, in time order across parts, shuffled within each."""
    from keel.store.tables.prediction_log import PREDICTIONS  # noqa: PLC0415

    (root / "parts").mkdir(parents=True)
    for n, start in enumerate(range(0, rows, PART_ROWS)):
        size = min(PART_ROWS, rows - start)
        i = pl.int_range(start, start + size, eager=True).shuffle(seed=n)
        frame = pl.DataFrame(
            {
                "request_id": "r" + i.cast(pl.String),
                "prediction_id": "p" + i.cast(pl.String),
                "time": (i * 1_000_000).cast(pl.Datetime("us", "UTC")),
                "entity_id": "e" + i.cast(pl.String),
                "inputs": '{"income":' + i.cast(pl.String) + ',"age":41,"purpose":"car"}',
                "score": (i % 1000) / 1000,
            }
        ).with_columns(
            model=pl.lit("loan-default/v1"),
            decision=pl.lit("approve"),
            explanation=pl.lit([], dtype=PREDICTIONS.schema["explanation"]),
            ood=pl.lit([], dtype=pl.List(pl.String)),
            fallback=pl.lit(None, dtype=pl.String),
            latency_ms=pl.lit(0.4),
            route=pl.lit("champion"),
        )
        frame = frame.select(list(PREDICTIONS.schema))
        frame.write_parquet(root / "parts" / f"{n:08d}.parquet", compression="zstd")


def export(root: Path, out: Path) -> tuple[int, float, float]:
    """Rows exported, seconds, and the child's peak RSS in MiB."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    done = subprocess.run(
        [sys.executable, "-c", EXPORT, str(root), str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    rows, seconds = done.stdout.split()
    return int(rows), float(seconds), max(peak, before) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 4_000_000])
    parser.add_argument("--python-peers")
    parser.add_argument("--no-peers", action="store_true")
    args = parser.parse_args()
    print(f"{'predictions':>12}{'export s':>10}{'peak RSS MiB':>14}{'file MiB':>10}")
    for rows in args.rows:
        with tempfile.TemporaryDirectory(prefix="keel-bench-log-") as scratch:
            root = Path(scratch) / "predictions"
            start = time.perf_counter()
            make_log(root, rows)
            made = time.perf_counter() - start
            out = Path(scratch) / "export.parquet"
            exported, seconds, peak = export(root, out)
            assert exported == rows
            size = out.stat().st_size / (1 << 20)
            print(
                f"{rows:>12,}{seconds:>10.1f}{peak:>14,.0f}{size:>10,.0f}   (made in {made:.0f} s)"
            )


if __name__ == "__main__":
    main()
