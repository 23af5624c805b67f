"""Finding one prediction in the log by its id, as ``keel lineage`` and the lineage page do.

The log is made directly as sealed Parquet parts of 500,000 rows (as sealing writes them) with
prediction ids shaped like the service's (UUIDv7: the first 48 bits are the millisecond, so ids
sort by time, as the parts do). Each part's row groups carry the minimum and maximum id, so a
lookup decodes the one row group whose range holds the id and skips the rest: the time-ordered
ids are the index. Beside it, the same log with the ids of each part shuffled, where every row
group's range spans its part: what a lookup costs without that order. The median of 7 lookups
of an id in the middle of the log is printed, with the load average.

    .venv/bin/python benchmarks/lineage_lookup.py [--rows 1000000 10000000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
PART_ROWS = 500_000
EPOCH_MS = 1_700_000_000_000


def uuid7(start: int, rows: int, seed: int) -> list[str]:
    """``rows`` ids, one per millisecond from ``start``, random bits as the service makes them."""
    rng = np.random.default_rng(seed)
    millis = (EPOCH_MS + np.arange(start, start + rows)).tolist()
    random = rng.integers(0, 2**62, size=rows, dtype=np.uint64).tolist()
    return [
        f"{m:012x}"[:8] + "-" + f"{m:012x}"[8:] + f"-7{r >> 50 & 0xFFF:03x}-"
        f"{0x8000 | (r >> 36 & 0x3FFF):04x}-{r & (2**36 - 1):012x}"
        for m, r in zip(millis, random, strict=True)
    ]


def make_log(root: Path, rows: int, *, shuffled: bool) -> str:
    """The log as parts; returns an id from the middle part to look up."""
    from keel.store.tables.prediction_log import PREDICTIONS  # noqa: PLC0415

    (root / "parts").mkdir(parents=True)
    probe = ""
    middle = (rows // PART_ROWS) // 2
    for n, start in enumerate(range(0, rows, PART_ROWS)):
        size = min(PART_ROWS, rows - start)
        ids = uuid7(start, size, seed=n)
        if n == middle:
            probe = ids[size // 3]
        order = np.random.default_rng(n).permutation(size) if shuffled else np.arange(size)
        i = pl.Series(order + start)
        frame = pl.DataFrame(
            {
                "request_id": pl.Series(ids)[order],
                "prediction_id": pl.Series(ids)[order],
                "time": (i * 1000).cast(pl.Datetime("us", "UTC")),
                "entity_id": "e" + i.cast(pl.String),
                "inputs": '{"income":' + i.cast(pl.String) + ',"age":41}',
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
        frame.select(list(PREDICTIONS.schema)).write_parquet(
            root / "parts" / f"{n:08d}.parquet", compression="zstd", statistics=True
        )
    return probe


def lookup_ms(root: Path, prediction_id: str, repeat: int = 7) -> tuple[float, int]:
    from keel.store.tables.prediction_log import PredictionLog  # noqa: PLC0415

    log = PredictionLog(root)
    times, found = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        found = log.scan().filter(pl.col("prediction_id") == prediction_id).collect().height
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--python-peers", help="unused: no peer tool looks up one prediction")
    parser.add_argument("--no-peers", action="store_true")
    args = parser.parse_args()
    print(f"{'predictions':>12}  {'ids':<22}{'lookup ms':>10}  load")
    for rows in args.rows:
        for shuffled in (False, True):
            with tempfile.TemporaryDirectory(prefix="keel-bench-lineage-") as scratch:
                root = Path(scratch) / "predictions"
                probe = make_log(root, rows, shuffled=shuffled)
                took, found = lookup_ms(root, probe)
                assert found == 1
                shutil.rmtree(root)
            kind = "shuffled in each part" if shuffled else "time-ordered (served)"
            print(f"{rows:>12,}  {kind:<22}{took:>10.1f}  {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
