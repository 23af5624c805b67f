"""The durable prediction log on local disk: what is acknowledged is there, whatever happens.

Writers here are real: threads, async tasks, several processes, and a process killed with
SIGKILL in the middle of a load, after which every acknowledged record must be in the table.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from keel.errors import InvalidInput, StorageUnavailable
from keel.predictions import OutcomeRecord, PredictionRecord
from keel.store.tables.outcome_log import OutcomeLog, join_outcomes
from keel.store.tables.prediction_log import PredictionLog
from keel.store.tables.segment_log import MAGIC, RemoteParts
from keel.store.uri import open_byte_store

T0 = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)


def record(prediction_id: str, *, at: datetime = T0, entity: str = "a-1") -> PredictionRecord:
    return PredictionRecord(
        request_id=f"req-{prediction_id}",
        prediction_id=prediction_id,
        time=at,
        model="loan-default/v4",
        entity_id=entity,
        inputs={"income": 52000.0, "age": 41, "purpose": "car", "region": None},
        score=0.083,
        decision="approve",
        explanation=[("income", -0.41), ("age", 0.12)],
        ood=["out_of_range:debt"],
        fallback=None,
        latency_ms=0.42,
        route="champion",
        policy="0123456789abcdef",
    )


SMALL = 1 << 20  # segment size in these tests: each segment is written in full when made


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def log(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PredictionLog]:
    """The log with its sealed parts on local disk, or in the S3 server."""
    parts = None
    if request.param == "s3":
        parts = RemoteParts(open_byte_store(request.getfixturevalue("s3_url")), "logs/predictions")
    opened = PredictionLog(tmp_path / "predictions", segment_bytes=SMALL, parts=parts)
    yield opened
    opened.close()


def sealed_parts(log: PredictionLog) -> int:
    if log.parts is not None:
        return len(log.parts.names())
    return len(list((log.root / "parts").glob("*.parquet")))


def ids(log: PredictionLog) -> list[str]:
    return log.scan().select("prediction_id").collect().to_series().to_list()


def segments(root: Path) -> list[Path]:
    return sorted((root / "segments").glob("*.seg"))


def test_a_record_reads_back_with_every_field(log: PredictionLog) -> None:
    log.append([record("p-1")])
    row = log.scan().collect().row(0, named=True)
    assert row == {
        "request_id": "req-p-1",
        "prediction_id": "p-1",
        "time": T0,
        "model": "loan-default/v4",
        "entity_id": "a-1",
        "inputs": '{"income":52000.0,"age":41,"purpose":"car","region":null}',
        "score": 0.083,
        "decision": "approve",
        "explanation": [{"column": "income", "value": -0.41}, {"column": "age", "value": 0.12}],
        "ood": ["out_of_range:debt"],
        "fallback": None,
        "latency_ms": 0.42,
        "route": "champion",
        "policy": "0123456789abcdef",
    }
    inputs = log.scan().select(pl.col("inputs").str.json_decode(pl.Struct({"age": pl.Int64})))
    assert inputs.collect().item()["age"] == 41


def test_concurrent_threads_share_syncs_and_lose_nothing(log: PredictionLog) -> None:
    def work(k: int) -> None:
        for i in range(25):
            log.append([record(f"p-{k}-{i}")])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    found = ids(log)
    assert sorted(found) == sorted(f"p-{k}-{i}" for k in range(16) for i in range(25))
    assert log.stats.appends == 400


def test_queued_appends_are_grouped_into_few_syncs(log: PredictionLog) -> None:
    futures = [log.submit([record(f"p-{i}")]) for i in range(200)]
    for future in futures:
        future.result(timeout=60)
    stats = log.stats
    assert stats.appends == 200
    assert stats.groups < 50  # 200 separate syncs without group commit


def test_async_tasks_await_durability(log: PredictionLog) -> None:
    async def one(i: int) -> None:
        await asyncio.wrap_future(log.submit([record(f"p-{i}")]))

    async def main() -> None:
        await asyncio.gather(*(one(i) for i in range(100)))

    asyncio.run(main())
    assert len(set(ids(log))) == 100


def test_an_abandoned_append_is_written_and_the_writer_goes_on(log: PredictionLog) -> None:
    """Regression: a cancelled future (a request's time limit) used to end the writer thread,
    and every later append waited forever."""
    futures = [log.submit([record(f"p-{i}")]) for i in range(50)]
    cancelled = sum(future.cancel() for future in futures[::2])
    log.submit([record("p-after")]).result(timeout=30)  # it hung here before the fix
    assert sorted(ids(log)) == sorted([*(f"p-{i}" for i in range(50)), "p-after"])
    assert cancelled > 0 or all(future.done() for future in futures)


def test_async_callers_may_time_out_without_harm(log: PredictionLog) -> None:
    async def impatient(i: int) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.wrap_future(log.submit([record(f"p-{i}")])), 1e-6)

    async def main() -> None:
        await asyncio.gather(*(impatient(i) for i in range(40)))
        await asyncio.wait_for(asyncio.wrap_future(log.submit([record("p-after")])), 30)

    asyncio.run(main())
    assert len(set(ids(log))) == 41


@pytest.mark.parametrize("durability", ["fsync", "write"])
def test_worker_processes_append_side_by_side(tmp_path: Path, durability: str) -> None:
    root = tmp_path / "predictions"
    children = [_writer(root, durability, threads=4, rows=50) for _ in range(3)]
    acknowledged = set()
    for child in children:
        out, _ = child.communicate(timeout=120)
        assert child.returncode == 0, out
        acknowledged |= set(out.split())
    assert len(acknowledged) == 600
    reader = PredictionLog(root)
    assert sorted(ids(reader)) == sorted(acknowledged)
    assert reader.seal() == 3  # one segment per process, each closed
    assert sorted(ids(reader)) == sorted(acknowledged)


@pytest.mark.parametrize("durability", ["fsync", "write"])
def test_kill_9_mid_load_loses_no_acknowledged_record(tmp_path: Path, durability: str) -> None:
    root = tmp_path / "predictions"
    child = _writer(root, durability, threads=8, rows=0)
    assert child.stdout is not None
    acknowledged: list[str] = []  # whole lines only: one cut by the kill is left out
    deadline = time.monotonic() + 120
    while len(acknowledged) < 400 and time.monotonic() < deadline:
        line = child.stdout.readline()
        assert line.startswith("p-"), line + child.stdout.read()  # else: the writer failed
        acknowledged.append(line.strip())
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=60)
    with child.stdout:
        rest = child.stdout.read()  # printed before the kill: acknowledged too
    lines = rest.splitlines()
    acknowledged += lines if rest.endswith("\n") else lines[:-1]
    assert child.returncode == -signal.SIGKILL
    reader = PredictionLog(root)
    found = ids(reader)
    assert set(acknowledged) <= set(found)
    assert len(found) == len(set(found))
    assert reader.seal() >= 1  # the dead writer's lock went with it
    assert segments(root) == []
    sealed = ids(reader)
    assert set(acknowledged) <= set(sealed)
    assert sorted(sealed) == sorted(found)


def test_a_torn_or_damaged_tail_ends_the_segment_cleanly(log: PredictionLog) -> None:
    log.append([record(f"p-{i}") for i in range(5)])
    log.close()
    [segment] = segments(log.root)
    data = bytearray(segment.read_bytes())
    assert data.startswith(MAGIC)
    starts = _frame_starts(bytes(data))
    assert len(starts) == 6  # five frames, then the first unused byte
    torn = bytearray(data)
    torn[starts[-1] : starts[-1] + 30] = data[starts[0] : starts[0] + 30]  # half a frame
    segment.write_bytes(bytes(torn))
    assert ids(log) == [f"p-{i}" for i in range(5)]
    flipped = bytearray(data)
    flipped[starts[-1] - 3] ^= 0xFF  # inside the last frame's payload
    segment.write_bytes(bytes(flipped))
    assert ids(log) == [f"p-{i}" for i in range(4)]


def _frame_starts(data: bytes) -> list[int]:
    """Where each frame (length, crc32, payload) begins, and where the rows end."""
    starts, offset = [], len(MAGIC)
    while True:
        starts.append(offset)
        (length,) = struct.unpack_from("<I", data, offset)
        if length == 0:
            return starts
        offset += 8 + length


def test_sealing_leaves_live_segments_and_keeps_every_row(log: PredictionLog) -> None:
    log.append([record("p-1")])
    assert log.seal() == 0  # this process still writes to it
    assert ids(log) == ["p-1"]
    log.close()
    assert log.seal() == 1
    assert segments(log.root) == []
    assert sealed_parts(log) == 1
    log.append([record("p-2")])  # a new segment after close
    assert sorted(ids(log)) == ["p-1", "p-2"]


def test_a_crash_between_part_and_segment_removal_doubles_nothing(log: PredictionLog) -> None:
    log.append([record("p-1"), record("p-2")])
    log.close()
    [segment] = segments(log.root)
    kept = log.root / "kept.seg"
    shutil.copy(segment, kept)
    assert log.seal() == 1
    shutil.copy(kept, segment)  # as if the sealer died before removing it
    assert sorted(ids(log)) == ["p-1", "p-2"]
    assert log.seal() == 1
    assert segments(log.root) == []
    assert sorted(ids(log)) == ["p-1", "p-2"]


@pytest.mark.s3
def test_replicas_on_their_own_disks_share_one_log_in_the_object_store(
    tmp_path: Path, s3_url: str
) -> None:
    """Each replica seals its segments into the store; a reader elsewhere sees every row."""
    parts = RemoteParts(open_byte_store(s3_url), "logs/predictions")
    for replica in ("a", "b", "c"):
        with PredictionLog(tmp_path / replica, segment_bytes=SMALL, parts=parts) as log:
            log.append([record(f"{replica}-{i}") for i in range(3)])
        assert log.seal() == 1
    elsewhere = PredictionLog(tmp_path / "reader", parts=parts)
    assert sorted(ids(elsewhere)) == sorted(f"{r}-{i}" for r in "abc" for i in range(3))
    assert len(parts.names()) == 3
    out = tmp_path / "all.parquet"
    assert elsewhere.export(out) == 9


def test_full_segments_roll_over_and_can_be_sealed_while_writing(tmp_path: Path) -> None:
    with PredictionLog(tmp_path / "predictions", segment_bytes=2000) as log:
        for i in range(20):
            log.append([record(f"p-{i}")])
        written = len(segments(log.root))
        assert written > 3
        sealed = log.seal()  # all but the one open and, maybe, the next one made ahead
        assert sealed >= written - 2
        assert len(segments(log.root)) <= 2
        assert sorted(ids(log)) == sorted(f"p-{i}" for i in range(20))


def test_export_writes_the_whole_table_in_time_order(tmp_path: Path, log: PredictionLog) -> None:
    log.append([record("p-late", at=T0 + timedelta(hours=1)), record("p-early")])
    log.close()
    log.seal()
    log.append([record("p-middle", at=T0 + timedelta(minutes=5))])
    out = tmp_path / "export" / "log.parquet"
    assert log.export(out) == 3
    exported = pl.read_parquet(out)
    assert exported["prediction_id"].to_list() == ["p-early", "p-middle", "p-late"]
    assert exported.schema == log.scan().collect_schema()


def test_segments_are_made_at_full_size_and_spares_are_not_left_behind(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path / "predictions", segment_bytes=1 << 16)
    log.start()
    [made] = segments(log.root)
    assert made.stat().st_size == 1 << 16  # appends overwrite zeros: the size never changes
    for i in range(120):  # past half of the segment: a spare is made for the next one
        log.append([record(f"p-{i}")])
    deadline = time.monotonic() + 30
    while len(segments(log.root)) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(segments(log.root)) == 2
    log.close()
    assert segments(log.root) == [made]  # the unused spare is gone
    assert log.seal() == 1
    assert sorted(ids(log)) == sorted(f"p-{i}" for i in range(120))


def test_an_empty_log_scans_as_an_empty_table(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path / "nothing-yet", segment_bytes=SMALL)
    table = log.scan().collect()
    assert table.height == 0
    assert "prediction_id" in table.columns
    assert not (tmp_path / "nothing-yet").exists()  # reading creates nothing


def test_naive_times_are_refused(log: PredictionLog) -> None:
    with pytest.raises(InvalidInput, match="timezone-aware"):
        log.append([record("p-1", at=datetime(2024, 3, 1))])


def test_an_unwritable_folder_is_storage_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    log = PredictionLog(blocker / "predictions", segment_bytes=SMALL)
    with pytest.raises(StorageUnavailable, match="could not append"):
        log.append([record("p-1")])
    log.close()


def test_outcomes_join_by_prediction_id_else_by_entity(tmp_path: Path, log: PredictionLog) -> None:
    log.append([record("p-1", entity="a-1"), record("p-2", entity="a-2"), record("p-3")])
    outcomes = OutcomeLog(tmp_path / "outcomes", segment_bytes=SMALL)
    later = T0 + timedelta(days=30)
    outcomes.append(
        [
            OutcomeRecord(time=later, prediction_id="p-1", label=0.0, source="labels"),
            OutcomeRecord(time=later + timedelta(days=1), prediction_id="p-1", label=1.0),
            OutcomeRecord(time=later, entity_id="a-2", decision="approve", source="ana"),
            OutcomeRecord(time=later + timedelta(days=2), entity_id="a-1", label=0.0),
        ]
    )
    joined = join_outcomes(log.scan(), outcomes.scan()).sort("prediction_id").collect()
    assert joined.select("prediction_id", "label", "outcome_decision").rows() == [
        ("p-1", 1.0, None),  # its own latest outcome wins over its entity's
        ("p-2", None, "approve"),
        ("p-3", 0.0, None),  # entity a-1's outcome
    ]
    outcomes.close()


def test_an_outcome_must_say_what_and_for_whom() -> None:
    with pytest.raises(InvalidInput, match="prediction id or an entity id"):
        OutcomeRecord(time=T0, label=1.0)
    with pytest.raises(InvalidInput, match="label or a decision"):
        OutcomeRecord(time=T0, prediction_id="p-1")


WRITER = """
import os, sys, threading
from datetime import UTC, datetime
from pathlib import Path
from keel.predictions import PredictionRecord
from keel.store.tables.prediction_log import PredictionLog

root, durability, threads, rows = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
log = PredictionLog(root, durability=durability, segment_bytes=1 << 20)
printing = threading.Lock()

def work(k):
    i = 0
    while rows == 0 or i < rows:
        pid = f"p-{os.getpid()}-{k}-{i}"
        log.append([PredictionRecord(
            request_id="r-" + pid, prediction_id=pid, time=datetime.now(UTC), model="m/v1",
            entity_id=f"a-{i}", inputs={"income": float(i)}, score=0.5, decision="review")])
        with printing:  # printed only once acknowledged
            sys.stdout.write(pid + "\\n")
            sys.stdout.flush()
        i += 1

workers = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
for w in workers:
    w.start()
for w in workers:
    w.join()
log.close()
"""


def _writer(root: Path, durability: str, *, threads: int, rows: int) -> subprocess.Popen[str]:
    """A separate process appending ``rows`` per thread (0: until killed), printing each
    acknowledged prediction id."""
    command = [sys.executable, "-c", WRITER, str(root), durability, str(threads), str(rows)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )


def test_an_export_in_windows_equals_the_whole_sort(tmp_path: Path) -> None:
    """A log larger than one window is exported window by window (bounded memory); the file
    is the one a whole sort writes, row for row and type for type, equal times kept together."""
    minutes = [7, 3, 3, 9, 0, 3, 12, 5, 5, 1, 8, 3, 11, 2, 6]
    with PredictionLog(tmp_path / "predictions", segment_bytes=SMALL) as log:
        half = len(minutes) // 2
        log.append([record(f"p-{i:02d}", at=T0 + timedelta(minutes=m)) for i, m in
                    enumerate(minutes[:half])])  # fmt: skip
        log.close()
        log.seal()  # a sealed part, and the rest unsealed
        log.append([record(f"p-{i:02d}", at=T0 + timedelta(minutes=m)) for i, m in
                    enumerate(minutes) if i >= half])  # fmt: skip
        whole, windows = tmp_path / "whole.parquet", tmp_path / "windows.parquet"
        assert log.export(whole) == len(minutes)
        assert log.export(windows, window_rows=3) == len(minutes)
    expected = pl.read_parquet(whole)
    assert_frame_equal(pl.read_parquet(windows), expected)
    order = sorted(range(len(minutes)), key=lambda i: (minutes[i], f"p-{i:02d}"))
    assert expected["prediction_id"].to_list() == [f"p-{i:02d}" for i in order]


def test_a_part_sealed_before_the_policy_column_reads_it_as_null(tmp_path: Path) -> None:
    """Logs written before predictions carried their policy's digest stay readable."""
    with PredictionLog(tmp_path / "predictions", segment_bytes=SMALL) as log:
        log.append([record("p-new", at=T0 + timedelta(minutes=1))])
        old = log.table.frame([record("p-old").to_row()]).drop("policy")
        (log.root / "parts").mkdir(parents=True, exist_ok=True)
        old.write_parquet(log.root / "parts" / "00-old.parquet")
        found = log.scan().sort("time").collect()
        out = tmp_path / "all.parquet"
        assert log.export(out) == 2
    assert found["prediction_id"].to_list() == ["p-old", "p-new"]
    assert found["policy"].to_list() == [None, "0123456789abcdef"]
    assert pl.read_parquet(out)["policy"].to_list() == [None, "0123456789abcdef"]


def test_seal_keeps_a_new_temporary_and_removes_a_dead_one(tmp_path: Path) -> None:
    """A segment is created, then locked by its writer: a sealer that removed an unlocked
    temporary at once could pull a new segment from under the writer about to lock it. Only a
    temporary older than the grace period, and unlocked, is a dead writer's."""
    from keel.store.tables.segment_log import TEMPORARY_GRACE_SECONDS

    log = PredictionLog(tmp_path / "predictions", segment_bytes=SMALL)
    folder = log.root / "segments"
    folder.mkdir(parents=True)
    young, dead = folder / "young.tmp", folder / "dead.tmp"
    young.write_bytes(b"\0" * 64)
    dead.write_bytes(b"\0" * 64)
    old = time.time() - TEMPORARY_GRACE_SECONDS - 1
    os.utime(dead, (old, old))
    log.seal()
    assert young.exists() and not dead.exists()


def test_full_segments_are_sealed_in_the_background_while_writing(log: PredictionLog) -> None:
    """Each segment that fills is sealed soon after by the writing process itself; readers see
    every acknowledged row once, whenever they look."""
    log.segment_bytes = 4000  # a few records per segment
    log.seal_in_background()
    written: list[str] = []
    for i in range(60):
        log.append([record(f"p-{i}")])
        written.append(f"p-{i}")
        if i % 10 == 9:
            found = ids(log)
            assert sorted(found) == sorted(written)  # none lost, none twice, mid-sealing
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (
        len(segments(log.root)) > 2 or log.sealed < sealed_parts(log)  # a round is finishing
    ):
        time.sleep(0.02)
    assert len(segments(log.root)) <= 2  # the live one and its spare
    assert sealed_parts(log) >= 4  # about ten records fill a segment
    assert log.sealed == sealed_parts(log)  # all sealed by the writing process
    assert sorted(ids(log)) == sorted(written)
    log.close()  # stops the sealer; the last segment is left for the final seal
    assert log.seal() == 1
    assert segments(log.root) == []
    assert sorted(ids(log)) == sorted(written)


def test_sealing_writes_bounded_row_groups_and_reads_back_the_same_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A segment is sealed a few rows at a time into row groups of a set size: memory does not
    grow with the segment."""
    from keel.store.tables import segment_log

    monkeypatch.setattr(segment_log, "SEAL_BATCH_ROWS", 3)
    monkeypatch.setattr(segment_log, "SEAL_GROUP_ROWS", 7)
    log = PredictionLog(tmp_path / "predictions", segment_bytes=SMALL)
    log.append([record(f"p-{i}", at=T0 + timedelta(seconds=i)) for i in range(50)])
    log.close()
    before = log.scan().sort("time").collect()
    assert log.seal() == 1
    [part] = list((log.root / "parts").glob("*.parquet"))
    import pyarrow.parquet as pq

    groups = pq.ParquetFile(part).metadata
    assert [groups.row_group(g).num_rows for g in range(groups.num_row_groups)] == [7] * 7 + [1]
    assert_frame_equal(log.scan().sort("time").collect(), before)


def test_sealing_stopped_midway_leaves_the_segment_readable_and_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deadline reached in the middle of a segment (a worker told to stop) removes its
    unfinished part: the segment stays, is read as before, and seals later in full."""
    from keel.store.tables import segment_log

    monkeypatch.setattr(segment_log, "SEAL_BATCH_ROWS", 5)
    root = tmp_path / "predictions"
    for k in range(3):  # three closed segments, as three stopped processes leave them
        with PredictionLog(root, segment_bytes=SMALL) as log:
            log.append([record(f"p-{k}-{i}") for i in range(12)])
    everything = sorted(f"p-{k}-{i}" for k in range(3) for i in range(12))
    asked = 0

    def stop() -> bool:  # the first segment whole, then stop inside the second
        nonlocal asked
        asked += 1
        return asked > 6

    sealed = segment_log._seal(root, log.table, None, stop)
    assert sealed == 1
    assert len(segments(root)) == 2
    assert [p.suffix for p in (root / "parts").iterdir()] == [".parquet"]  # none unfinished
    assert sorted(ids(log)) == everything
    assert log.seal(until=time.monotonic()) == 0  # a deadline already past seals nothing
    assert len(segments(root)) == 2
    assert log.seal(until=time.monotonic() + 60) == 2
    assert segments(root) == []
    assert sorted(ids(log)) == everything
