"""Server time of each dashboard page on a project with 1,000,000 logged predictions, against
the 300 ms limit, and the first request after start-up (the warm-up).

The project is the control-plane test project (the loan example, four users, two model
versions, one monitor run, 1,500 predictions served over HTTP); its prediction log is then
grown to ``--rows`` by writing sealed Parquet parts of 500,000 rows directly (as sealing
writes them), copies of the served rows with fresh ids and times. ``keel server`` runs on it
and each page is fetched ``--repeat`` times over loopback by a logged-in session; the median
and the worst are printed beside the limit and the load average.

    .venv/bin/python benchmarks/dashboard.py [--rows 1000000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
LIMIT_MS = 300.0
PART_ROWS = 500_000
PAGES = (
    "/",
    "/models",
    "/models/1",
    "/models/compare?a=1&b=2",
    "/releases",
    "/incidents",
    "/incidents/1",
    "/monitoring",
    "/review",
    "/agent",
    "/data",
    "/lineage",
    "/lineage?prediction_id=bench-1-4242",
    "/audit",
    "/runs",
)


def grow_log(folder: Path, rows: int) -> int:
    """Parts of copies of the logged rows until the log holds ``rows``; returns the count."""
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
    have = served.height
    n = 0
    while have < rows:
        size = min(PART_ROWS, rows - have)
        index = pl.int_range(0, size, eager=True)
        copy = served.sample(size, with_replacement=True, seed=n).with_columns(
            prediction_id=pl.format("bench-{}-{}", pl.lit(n), index),
            request_id=pl.format("bench-r-{}-{}", pl.lit(n), index),
            time=pl.col("time") - pl.duration(days=30 * (n + 1)),
        )
        copy.sort("time", "prediction_id").write_parquet(
            parts / f"bench-{n:04d}.parquet", compression="zstd"
        )
        have += size
        n += 1
    return have


def login(client: httpx.Client, key: str) -> None:
    form = client.get("/login").text
    nonce = re.search(r'name="nonce" value="([^"]+)"', form)
    assert nonce is not None
    done = client.post("/login", data={"api_key": key, "nonce": nonce.group(1), "next": "/"})
    assert done.status_code == 303, done.text


def timed(client: httpx.Client, path: str) -> float:
    start = time.perf_counter()
    answer = client.get(path)
    took = (time.perf_counter() - start) * 1000
    if answer.status_code != 200 or 'id="error"' in answer.text:
        raise AssertionError(f"{path}: {answer.status_code} {answer.text[:300]}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--settle", type=float, default=10.0, help="seconds between start-up and the first page"
    )
    args = parser.parse_args()
    from tests.control.conftest import _build, start_control_server  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "proj"
        start = time.perf_counter()
        keys = _build(folder)
        built = time.perf_counter() - start
        start = time.perf_counter()
        logged = grow_log(folder, args.rows)
        grown = time.perf_counter() - start
        print(f"project built in {built:.1f} s; log grown to {logged:,} rows in {grown:.1f} s")
        start = time.perf_counter()
        server = start_control_server(folder)
        listening = time.perf_counter() - start
        try:
            with httpx.Client(base_url=server.url, timeout=120) as client:
                time.sleep(args.settle)
                login(client, keys["vera"])
                first = timed(client, "/")
                second = timed(client, "/")
                print(
                    f"server listening after {listening:.1f} s; {args.settle:g} s later the first"
                    f" page took {first:,.0f} ms, the second {second:,.0f} ms"
                    f"  (load {os.getloadavg()[0]:.2f})"
                )
                print(f"{'page':<38}{'median ms':>10}{'worst ms':>10}{'limit':>8}  verdict  load")
                worst_all = 0.0
                for path in PAGES:
                    times = [timed(client, path) for _ in range(args.repeat)]
                    median, worst = statistics.median(times), max(times)
                    worst_all = max(worst_all, median)
                    verdict = "ok" if median < LIMIT_MS else "SLOW"
                    print(
                        f"{path:<38}{median:>10.1f}{worst:>10.1f}{LIMIT_MS:>8.0f}  {verdict:<7}"
                        f"  {os.getloadavg()[0]:.2f}"
                    )
                print(f"slowest median {worst_all:.1f} ms against the {LIMIT_MS:.0f} ms limit")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
