"""A durable segment log: an append-only table on local disk, readable as Parquet. The
prediction and outcome logs (``prediction_log.py``, ``outcome_log.py``) are two tables on it.

Layout under ``root``::

    segments/<start>-<pid>-<token>.seg     one per writer (process): framed JSON rows
    parts/<same name>.parquet              a sealed segment, converted; then the segment goes

**Writing.** Each process opens its own segment, so worker processes never contend for a file
or a lock, and ``append`` returns only once its rows are durable. Rows from many threads (or
async tasks, through ``submit``) are framed by their caller and handed to one writer thread,
which writes everything queued with one ``write`` and one ``fdatasync`` (group commit): while a
sync runs, the next group gathers, so the syncs per second stay flat as appenders grow and the
cost per row falls. A frame is ``length, crc32, payload``; the file starts with ``MAGIC`` and is
made at full size, filled with zeros, so that appends overwrite and never grow it (``_Segment``).
Open the log in the process that appends: a writer made before a ``fork`` is not shared.

``durability="fsync"`` (the default) acknowledges after ``fdatasync``: nothing acknowledged is
lost even if the machine loses power. ``durability="write"`` acknowledges once the rows are in
the operating system (``write`` returned): they survive a kill -9 of the process but not a power
cut, and an append costs microseconds instead of a disk sync.

**Crashes.** A writer killed mid-write leaves at most one torn frame at the end of its segment;
readers stop at the first frame whose length or checksum does not hold, and nothing after it was
ever acknowledged. A segment is created under a temporary name, locked (``flock``), then renamed
into place, so that no sealer ever takes a live writer's segment.

**Reading.** ``scan`` is the whole table: the Parquet parts plus every unsealed segment, live
ones included (up to their last whole frame). ``seal`` converts the segments no process holds
(their writer closed, rotated or died) into parts: the part is written and synced under a
temporary name and renamed to its final one before the segment is removed, and a segment whose
part exists is skipped, so a crash at any point neither loses nor doubles a row.

**Sealing** reads a segment ``SEAL_BATCH_ROWS`` at a time and writes row groups of
``SEAL_GROUP_ROWS`` as it goes, so its memory does not grow with the segment. A writing process
may seal in the background (``seal_in_background``): each segment it fills is sealed as soon
as it rolls over, so a long-running writer leaves one segment (and its spare) on disk. ``seal``
may be given a deadline (``until``): it stops between two batches, removes the unfinished part,
and the segment stays as it was, read as before and sealed by a later ``seal``.

**Parts in an object store.** Given ``parts`` (a prefix of a ``ByteStore``, e.g. an S3 bucket),
``seal`` uploads each part there instead, with a conditional create (``If-None-Match: *``), and
``scan`` reads every part under the prefix, from every replica that logs to it, through a local
cache of immutable files (downloaded once, then scanned lazily by Polars, so memory stays
bounded). Segments stay on local disk: they need ``fdatasync`` and ``flock``. A part is named
after its segment, which one process wrote, so a retried upload carries the same bytes.

Why files and not a database table: ``benchmarks/predictor.py`` on this machine (2 cores, other
work keeping the load average at 4 to 12; the disk's cache flush took 0.1 to 4 ms), one record
per append, appends/s with 1, 8 and 32 appending threads, lowest and highest of four runs:

    segments, fsync       650-5,650  4,100-18,000  11,000-24,300   (7.8 and 27 records per sync)
    SQLite table, FULL    130-4,200    150-1,300      110-270      (one sync per commit; p99 1.5 s
                                                                    at 32: a single writer lock)
    PostgreSQL table      200-3,600  1,500-5,400    4,400-5,600    (the server groups commits)

Two worker processes with 8 threads each appended 8,500 to 26,000 records/s, each to its own
segment; with ``durability="write"`` one process takes 45,000 to 89,000 appends/s at 10 us
each. Local disk only: the log needs ``fdatasync`` and ``flock``, which object stores lack.
"""

from __future__ import annotations

import fcntl
import itertools
import logging
import mmap
import os
import secrets
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Final, Generic, Literal, Self, TypeVar

import orjson
import polars as pl

from keel.errors import Conflict, InvalidInput, StorageUnavailable
from keel.predictions.records import Loggable
from keel.store.ports import ByteStore

Durability = Literal["fsync", "write"]
logger = logging.getLogger("keel.log")


R = TypeVar("R", bound=Loggable)
Row = Mapping[str, Any]
Stop = Callable[[], bool]
"""Asked between two steps of sealing: True to stop there."""

MAGIC: Final = b"KEELSEG1"
EXPORT_WINDOW_ROWS = 100_000
"""Rows an export sorts at once: the export of 4M predictions peaks at 380 MiB (1.6 GiB whole)."""
_HEADER = struct.Struct("<II")  # payload length, crc32 of the payload
SEGMENT_BYTES: Final = 64 << 20
SEGMENT_SECONDS: Final = 3600.0
GATHER_SECONDS: Final = 0.0002
SEAL_NICE: Final = 10
"""The niceness of a background sealer's thread: the CPU goes to the requests first."""
SEAL_SECONDS: Final = 60.0
"""How often a background sealer looks for segments no process holds (besides roll-overs)."""


def frame(row: Row) -> bytes:
    """One row as a frame: its JSON, prefixed by length and checksum."""
    payload = orjson.dumps(row)
    return _HEADER.pack(len(payload), zlib.crc32(payload)) + payload


def read_frames(data: bytes | mmap.mmap) -> list[Any]:
    """The rows of a segment's bytes, up to the first zero, torn or damaged frame."""
    return [row for batch in iter_frames(data, 1 << 30) for row in batch]


def iter_frames(data: bytes | mmap.mmap, rows: int) -> Iterator[list[Any]]:
    """The rows of a segment's bytes in batches of at most ``rows``, as ``read_frames``."""
    if data[: len(MAGIC)] != MAGIC:
        return
    batch: list[Any] = []
    offset, size, header = len(MAGIC), len(data), _HEADER.size
    while offset + header <= size:
        length, checksum = _HEADER.unpack_from(data, offset)
        end = offset + header + length
        if length == 0 or end > size:
            break
        payload = data[offset + header : end]
        if zlib.crc32(payload) != checksum:
            break
        batch.append(orjson.loads(payload))
        if len(batch) >= rows:
            yield batch
            batch = []
        offset = end
    if batch:
        yield batch


@dataclass(frozen=True)
class TableSpec:
    """The columns of a log's table; ``json`` columns hold nested values as JSON text, and
    Datetime columns arrive as microseconds since the epoch."""

    schema: Mapping[str, pl.DataType]
    json: tuple[str, ...] = ()
    order: tuple[str, ...] = ()
    """Columns that sort an export."""

    def frame(self, rows: Sequence[Row]) -> pl.DataFrame:
        """Rows (as read back from segments) as a frame of ``schema``."""
        if self.json:
            rows = [{**row, **{c: _json_text(row.get(c)) for c in self.json}} for row in rows]
        raw = {
            name: pl.Int64() if isinstance(dtype, pl.Datetime) else dtype
            for name, dtype in self.schema.items()
        }
        table = pl.from_dicts(rows, schema=raw) if rows else pl.DataFrame(schema=raw)
        times = [name for name, dtype in self.schema.items() if isinstance(dtype, pl.Datetime)]
        return table.with_columns(pl.col(name).cast(self.schema[name]) for name in times)


def _json_text(value: object) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


@dataclass(frozen=True)
class RemoteParts:
    """Where a log's sealed parts live when not on local disk: ``prefix`` inside ``store``."""

    store: ByteStore
    prefix: str

    def key(self, name: str) -> str:
        return f"{self.prefix}/{name}"

    def names(self) -> list[str]:
        start = len(self.prefix) + 1
        return [key[start:] for key in self.store.list(f"{self.prefix}/")]


@dataclass(frozen=True)
class LogStats:
    """Appends acknowledged, and the writes (each with one sync) that carried them."""

    appends: int
    groups: int


class SegmentLog(Generic[R]):
    """One durable table: appends from this process, reads and sealing of every process's rows.

    The writer (thread, segment file) starts on the first append, so readers never create one.
    Call ``close`` when the process stops: it flushes, syncs and releases the segment.
    """

    TABLE: ClassVar[TableSpec]
    """The table a subclass logs."""

    def __init__(
        self,
        root: Path,
        *,
        durability: Durability = "fsync",
        segment_bytes: int = SEGMENT_BYTES,
        segment_seconds: float = SEGMENT_SECONDS,
        parts: RemoteParts | None = None,
    ) -> None:
        if durability not in ("fsync", "write"):
            raise InvalidInput(
                f"durability must be 'fsync' or 'write'; got {durability!r}.", path="durability"
            )
        self.root = Path(root)
        self.table = self.TABLE
        self.durability: Durability = durability
        self.segment_bytes = segment_bytes
        self.segment_seconds = segment_seconds
        self.parts = parts
        self._writer: _Writer | None = None
        self._sealer: _Sealer | None = None
        self._opening = threading.Lock()

    def start(self) -> None:
        """Open this process's writer and its first segment now, not on the first append (a
        segment is filled with zeros when made, which takes a moment)."""
        self._open().start()

    def submit_rows(self, rows: Sequence[Row]) -> Future[None]:
        """Queue rows; the future completes once they are durable (or fails with
        ``StorageUnavailable``). From async code: ``await asyncio.wrap_future(...)``."""
        payload = b"".join(frame(row) for row in rows)
        return self._open().submit(payload)

    def append_rows(self, rows: Sequence[Row]) -> None:
        """Append and wait until durable."""
        if rows:
            self.submit_rows(rows).result()

    def submit(self, records: Sequence[R]) -> Future[None]:
        """Queue records; the future completes once they are durable."""
        return self.submit_rows([record.to_row() for record in records])

    def append(self, records: Sequence[R]) -> None:
        """Append records; returns only once they are durable."""
        if records:
            self.submit(records).result()

    def scan(self) -> pl.LazyFrame:
        """Every row: sealed parts and unsealed segments, live ones up to their last whole row."""
        parts, tail = _snapshot(self.root, self.parts)
        # parts sealed before a column was added read it as null
        schema = dict(self.table.schema)
        frames = [pl.scan_parquet(parts, schema=schema, missing_columns="insert")] if parts else []
        frames.append(self.table.frame(tail).lazy())
        return pl.concat(frames, how="vertical")

    def seal(self, *, until: float | None = None) -> int:
        """Convert every segment no process holds into a Parquet part; returns how many.

        With ``until`` (a ``time.monotonic()`` deadline), sealing stops there: the segment it
        was converting stays a segment (its unfinished part is removed), and so do the rest.
        """
        if until is None:
            return _seal(self.root, self.table, self.parts)
        return _seal(self.root, self.table, self.parts, lambda: time.monotonic() >= until)

    def seal_in_background(self, every: float = SEAL_SECONDS) -> None:
        """Seal in a thread of this process: each segment this process fills, as soon as it
        rolls over, and every ``every`` seconds (and once now) whatever no process holds
        (segments left by processes that stopped or died). ``close`` stops it."""
        with self._opening:
            if self._sealer is None:
                self._sealer = _Sealer(self, every)

    @property
    def sealed(self) -> int:
        """Segments the background sealer of this process has sealed so far."""
        sealer = self._sealer
        return sealer.sealed if sealer is not None else 0

    def export(self, out: Path, *, window_rows: int = EXPORT_WINDOW_ROWS) -> int:
        """The whole table, sorted by its order columns, as one Parquet file at ``out`` (written
        under a temporary name, then renamed).

        Memory stays bounded at any log size: the first order column alone is read to cut the
        log into windows of about ``window_rows`` rows (equal keys never split), and each window
        is read (the parts' statistics skip row groups outside it), sorted and appended to the
        file in turn. A log of at most one window is sorted whole.
        """
        lazy = self.scan()
        order = list(self.table.order)
        with _storage("export the log to", out):
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_name(f".{out.name}.{secrets.token_hex(4)}.tmp")
            try:
                rows = _export_windows(lazy, order, tmp, window_rows)
                tmp.replace(out)
            finally:
                tmp.unlink(missing_ok=True)
        return rows

    @property
    def failure(self) -> str | None:
        """Why this process's last write failed (e.g. "No space left on device"); None after
        one succeeds. While it fails, appends fail: nothing unwritten is acknowledged."""
        writer = self._writer
        return writer.failure if writer is not None and writer.pid == os.getpid() else None

    def recover(self) -> bool:
        """After a failed write, try to open a segment again (the disk may have room now);
        True when the log can take appends. Rows are never retried: their callers were told."""
        if self.failure is None:
            return True
        try:
            self._open().start()
        except StorageUnavailable:
            return False
        return True

    @property
    def stats(self) -> LogStats:
        """What this process's writer has done so far (zero before the first append)."""
        writer = self._writer
        if writer is None or writer.pid != os.getpid():
            return LogStats(0, 0)
        return LogStats(writer.appends, writer.groups)

    def close(self) -> None:
        """Stop the background sealer (between two batches: what it was converting stays a
        segment), then flush what is queued, sync, and release this process's segment."""
        with self._opening:
            writer, self._writer = self._writer, None
            sealer, self._sealer = self._sealer, None
        if sealer is not None:
            sealer.stop()
        if writer is not None:
            writer.close()

    def _rolled_over(self) -> None:
        """A segment of this process is full and closed: the sealer may take it."""
        sealer = self._sealer
        if sealer is not None:
            sealer.wake()

    def _open(self) -> _Writer:
        writer = self._writer
        if writer is None or writer.pid != os.getpid():
            with self._opening:
                if self._writer is None or self._writer.pid != os.getpid():
                    self._writer = _Writer(self)
                writer = self._writer
        return writer

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- writing ----------------------------------------------------------------------------------


class _Segment:
    """A segment file, created at full size and filled with zeros, locked while it is open.

    Rows overwrite the zeros, so an append never changes the file's size or block map and a
    sync has only data to write, no inode or journal commit (as PostgreSQL's WAL segments and
    SQLite's reused WAL do). On this machine's ext4 disk, 600-byte writes each followed by
    ``fdatasync`` took 0.1-0.15 ms (p50) into a zero-filled file against 4 ms appending to a
    growing one, while the disk was otherwise quiet; when other processes kept its cache
    flushes busy, both took 4 ms.
    """

    def __init__(self, root: Path, capacity: int) -> None:
        folder = root / "segments"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(4)}"
        tmp, self.path = folder / f"{name}.tmp", folder / f"{name}.seg"
        self.fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        self.capacity = max(capacity, len(MAGIC))
        self.offset = len(MAGIC)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
            _fill(self.fd, self.capacity)
            os.pwrite(self.fd, MAGIC, 0)
            os.fsync(self.fd)
            tmp.rename(self.path)
            sync_folder(folder)
        except BaseException:
            os.close(self.fd)
            tmp.unlink(missing_ok=True)  # a disk that filled up gets its space back
            raise
        self.opened = time.monotonic()

    @property
    def empty(self) -> bool:
        return self.offset == len(MAGIC)

    def fits(self, size: int) -> bool:
        return self.offset + size <= self.capacity

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.pwrite(self.fd, view, self.offset)
            view = view[written:]
            self.offset += written

    def close(self) -> None:
        try:
            os.fsync(self.fd)
        finally:
            os.close(self.fd)  # also releases the lock

    def discard(self) -> None:
        """Remove a segment that holds no row (a spare never used)."""
        try:
            self.path.unlink(missing_ok=True)
        finally:
            os.close(self.fd)


def _fill(fd: int, size: int) -> None:
    zeros = bytes(min(size, 1 << 20))
    done = 0
    while done < size:
        done += os.write(fd, zeros[: size - done])


class _Writer:
    """Group commit for one process: callers queue framed rows, one thread writes and syncs.

    The next segment is made in the background once the current one is half full, so that
    rolling over never waits for a file to be filled with zeros.
    """

    def __init__(self, log: SegmentLog[Any]) -> None:
        self.log = log
        self.pid = os.getpid()
        self._segment: _Segment | None = None
        self._spare: Future[_Segment] | None = None
        self._queue: list[tuple[bytes, Future[None]]] = []
        self._wake = threading.Condition(threading.Lock())
        self._io = threading.Lock()
        self._closed = False
        self.appends = 0
        self.groups = 0
        self.failure: str | None = None
        self._thread: threading.Thread | None = None
        if log.durability == "fsync":
            self._thread = threading.Thread(target=self._run, name="keel-log-sync", daemon=True)
            self._thread.start()

    def start(self) -> None:
        with self._io:
            try:
                with _storage("open", self.log.root):
                    if self._segment is None:
                        self._segment = self._next(0)
            except StorageUnavailable as error:
                self.failure = _failure(error)
                raise
            self.failure = None

    def submit(self, payload: bytes) -> Future[None]:
        future: Future[None] = Future()
        if self._closed:
            raise StorageUnavailable(f"the log at {self.log.root} is closed", hint="open a new one")
        if self.log.durability == "write":  # no sync to share: write now, in the caller
            self._commit([(payload, future)])
            return future
        with self._wake:
            self._queue.append((payload, future))
            self._wake.notify()
        return future

    def _run(self) -> None:
        last = 1
        while True:
            with self._wake:
                while not self._queue and not self._closed:
                    self._wake.wait()
                self._gather(last)
                batch, self._queue = self._queue, []
                if not batch and self._closed:
                    return
            self._commit(batch)
            last = len(batch)

    def _gather(self, last: int) -> None:
        """Wait up to ``GATHER_SECONDS`` for as many appends as the last group carried.

        Callers woken by a sync need a moment to queue again; syncing the first one alone
        would split every later group in two (a convoy): measured with 32 appenders, groups
        averaged 14 rows without this wait.
        """
        deadline = time.monotonic() + GATHER_SECONDS
        while len(self._queue) < last and not self._closed:
            left = deadline - time.monotonic()
            if left <= 0 or not self._wake.wait(left):
                return

    def _commit(self, batch: list[tuple[bytes, Future[None]]]) -> None:
        """Write and sync a group, then settle its futures.

        A caller may cancel its future (a request's time limit): its rows are written all the
        same, and its future is left alone, since settling a cancelled future raises, which
        would end the writer thread and leave every later append waiting forever.
        """
        waiting = [future for _, future in batch if future.set_running_or_notify_cancel()]
        data = b"".join(payload for payload, _ in batch)
        try:
            with self._io, _storage("append to", self.log.root):
                segment = self._current(len(data))
                segment.write(data)
                if self.log.durability == "fsync":
                    os.fdatasync(segment.fd)
                self.groups += 1
                self.appends += len(batch)
        except Exception as exc:  # the writer thread must outlive any failure
            self._abandon()
            error = exc if isinstance(exc, StorageUnavailable) else StorageUnavailable(str(exc))
            self.failure = _failure(error)
            for future in waiting:
                future.set_exception(error)
            return
        self.failure = None
        for future in waiting:
            future.set_result(None)

    def _current(self, incoming: int) -> _Segment:
        """The open segment, rolled over when the rows do not fit or it is old."""
        segment = self._segment
        if segment is not None and not segment.empty:
            aged = time.monotonic() - segment.opened > self.log.segment_seconds
            if aged or not segment.fits(incoming):
                self._segment = None
                segment.close()
                segment = None
                self.log._rolled_over()
        if segment is None:
            segment = self._segment = self._next(incoming)
        if self._spare is None and segment.offset * 2 > segment.capacity:
            self._spare = _in_background(self.log.root, self.log.segment_bytes)
        return segment

    def _next(self, incoming: int) -> _Segment:
        spare, self._spare = self._spare, None
        if spare is not None and spare.exception() is None:  # else made on a full disk: retry
            segment = spare.result()
            if segment.fits(incoming):
                return segment
            segment.discard()
        return _Segment(self.log.root, max(self.log.segment_bytes, len(MAGIC) + incoming))

    def _abandon(self) -> None:
        """After a failed write the segment may end in a torn frame: never append after it."""
        segment, self._segment = self._segment, None
        if segment is not None:
            with suppress(OSError):
                os.close(segment.fd)

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()
        if self._thread is not None:
            self._thread.join()
        with self._io, _storage("close", self.log.root):
            segment, self._segment = self._segment, None
            spare, self._spare = self._spare, None
            if spare is not None:
                spare.result().discard()
            if segment is not None:
                segment.close()


class _Sealer:
    """A thread that seals a log's segments as they fill (see ``seal_in_background``)."""

    def __init__(self, log: SegmentLog[Any], every: float) -> None:
        self.log = log
        self.every = every
        self.sealed = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="keel-log-seal", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join()

    def _run(self) -> None:
        log = self.log
        with suppress(OSError, AttributeError):  # Linux: this thread alone, behind requests
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), SEAL_NICE)
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.sealed += _seal(log.root, log.table, log.parts, self._stop.is_set)
            except Exception as error:  # the next round tries again; the segments stay
                logger.warning("could not seal the log at %s: %s", log.root, error)
            self._wake.wait(self.every)


def _failure(error: StorageUnavailable) -> str:
    """The operating system's word for a failed write, without the log's path."""
    cause = error.__cause__
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    return error.message


def _in_background(root: Path, capacity: int) -> Future[_Segment]:
    """A segment made by a short-lived thread; its errors surface when it is taken."""
    made: Future[_Segment] = Future()

    def make() -> None:
        try:
            made.set_result(_Segment(root, capacity))
        except BaseException as exc:
            made.set_exception(exc)

    threading.Thread(target=make, name="keel-log-spare", daemon=True).start()
    return made


# --- reading and sealing ----------------------------------------------------------------------


def _export_windows(lazy: pl.LazyFrame, order: list[str], tmp: Path, window_rows: int) -> int:
    """Write ``lazy`` sorted by ``order`` to ``tmp`` window by window; returns the rows."""
    if not order:
        raise ValueError("an export needs the order columns of its table")  # a table defect
    key = order[0]
    column = lazy.select(key).collect().get_column(key)
    keys = column.drop_nulls().sort()
    if column.len() <= window_rows or keys.len() == 0:
        table = lazy.sort(order).collect()
        table.write_parquet(tmp, compression="zstd", statistics=True)
        return table.height
    bounds = keys.gather_every(window_rows).unique(maintain_order=True).to_list()
    windows = [pl.col(key).is_null()]  # rows without a key first, as a whole sort puts them
    windows += [
        (pl.col(key) >= low) & (pl.col(key) < high) for low, high in itertools.pairwise(bounds)
    ]
    windows.append(pl.col(key) >= bounds[-1])
    import pyarrow.parquet as pq  # noqa: PLC0415 - only an export of many windows needs it

    written = 0
    writer: Any = None
    try:
        for window in windows:
            chunk = lazy.filter(window).sort(order).collect()
            if chunk.height == 0:
                continue
            arrow = chunk.to_arrow()
            if writer is None:
                writer = pq.ParquetWriter(
                    tmp, arrow.schema, compression="zstd", compression_level=3
                )
            writer.write_table(arrow)
            written += chunk.height
    finally:
        if writer is not None:
            writer.close()
    return written


def _snapshot(root: Path, remote: RemoteParts | None) -> tuple[list[Path], list[Any]]:
    """Parts, and the rows of segments without a part, consistent under a concurrent ``seal``.

    Segments are listed before parts: a segment gone by the time it is read was sealed, and
    its part, renamed into place before the segment was removed, is then listed again.
    """
    for _ in range(3):
        segments = _listed(root / "segments", ".seg")
        parts = _listed(root / "parts", ".parquet")
        if remote is not None:
            parts += _fetched(root / "remote", remote)
        sealed = {part.stem for part in parts}
        try:
            tail = [row for s in segments if s.stem not in sealed for row in _rows(s)]
        except FileNotFoundError:
            continue
        return parts, tail
    raise StorageUnavailable(f"the log at {root} kept changing while it was read; try again")


def _fetched(cache: Path, remote: RemoteParts) -> list[Path]:
    """Every remote part as a local file: parts never change, so each is downloaded once."""
    cache.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in remote.names():
        if not name.endswith(".parquet"):
            continue
        path = cache / name
        if not path.exists():
            tmp = cache / f".{name}.{secrets.token_hex(4)}.tmp"
            remote.store.get_file(remote.key(name), tmp)
            tmp.replace(path)
        paths.append(path)
    return paths


def _seal(
    root: Path,
    table: TableSpec,
    remote: RemoteParts | None = None,
    stop: Stop = lambda: False,
) -> int:
    """Seal every segment no process holds, until ``stop()`` says to: between two batches of
    a segment, its unfinished part is removed and the segment stays as it was."""
    (root / "parts").mkdir(parents=True, exist_ok=True)
    sealed = 0
    with _storage("seal", root), _exclusive(root / "seal.lock", stop) as held:
        if not held:
            return 0
        _remove_dead_temporaries(root / "segments")
        try:
            for segment in _listed(root / "segments", ".seg"):
                if stop():
                    break
                part = root / "parts" / f"{segment.stem}.parquet"
                with _unheld(segment) as free:
                    if not free:
                        continue
                    if remote is not None:
                        _upload(table, segment, part, remote, stop)
                    elif not part.exists():
                        _write_part(table, segment, part, stop)
                    segment.unlink()
                    sealed += 1
        except _Stopped:
            pass
        finally:
            if sealed:
                sync_folder(root / "segments")
    return sealed


SEAL_BATCH_ROWS: Final = 4_096
"""Rows sealing decodes at once (as Python objects, the costly form)."""
SEAL_GROUP_ROWS: Final = 32_768
"""Rows of one row group of a part (held as Arrow, compact, until written). Sealing 64 MiB
segments of 20-feature predictions peaks near 200 MiB this way (90 MiB of it the libraries
loaded), against 600 MiB reading each segment whole (``benchmarks/log_footprint.py``)."""


class _Stopped(Conflict):
    """Sealing was asked to stop in the middle of a segment (it stays a segment); caught
    inside ``seal``, never raised to a caller."""


def _upload(table: TableSpec, segment: Path, part: Path, remote: RemoteParts, stop: Stop) -> None:
    """A segment's part to the object store (created, never replaced), kept in the cache."""
    key = remote.key(part.name)
    if remote.store.exists(key):
        return  # uploaded before a crash removed the segment: the same rows
    cached = _remote_cache(segment) / part.name
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_name(f".{part.name}.tmp")
    try:
        if not _stream_part(table, segment, tmp, stop):
            return
        remote.store.create_file(key, tmp)
        tmp.replace(cached)
    finally:
        tmp.unlink(missing_ok=True)


def _remote_cache(segment: Path) -> Path:
    """The cache of remote parts of the log a segment belongs to."""
    return segment.parent.parent / "remote"


def _write_part(table: TableSpec, segment: Path, part: Path, stop: Stop) -> None:
    """A segment's part, written and synced under a temporary name, then renamed into place
    (a segment without rows makes none)."""
    tmp = part.with_suffix(".tmp")
    try:
        if not _stream_part(table, segment, tmp, stop):
            return
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        tmp.rename(part)
    finally:
        tmp.unlink(missing_ok=True)
    sync_folder(part.parent)


def _stream_part(table: TableSpec, segment: Path, out: Path, stop: Stop) -> int:
    """A segment's rows as a Parquet file at ``out``, decoded ``SEAL_BATCH_ROWS`` at a time
    and written ``SEAL_GROUP_ROWS`` to a row group, so that memory stays bounded at any
    segment size; returns the rows (0: no file was made)."""
    import pyarrow as pa  # noqa: PLC0415 - only sealing writes row groups one by one
    import pyarrow.parquet as pq  # noqa: PLC0415

    written = 0
    writer: Any = None
    pending: list[Any] = []

    def flush(rows: int) -> None:
        nonlocal writer, pending
        group = pa.concat_tables(pending)
        if writer is None:
            writer = pq.ParquetWriter(  # dictionaries of unique texts (ids, inputs) add 13%
                out, group.schema, compression="zstd", compression_level=3, use_dictionary=False
            )
        writer.write_table(group.slice(0, rows))
        pending = [group.slice(rows)] if rows < group.num_rows else []

    try:
        with segment.open("rb") as handle:
            if os.fstat(handle.fileno()).st_size == 0:
                return 0
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as view:
                for batch in iter_frames(view, SEAL_BATCH_ROWS):
                    if stop():
                        raise _Stopped("sealing stopped at its deadline")
                    pending.append(table.frame(batch).to_arrow())
                    written += len(batch)
                    while sum(part.num_rows for part in pending) >= SEAL_GROUP_ROWS:
                        flush(SEAL_GROUP_ROWS)
                    view.madvise(mmap.MADV_DONTNEED)  # rows read need not stay in memory
        if pending:
            flush(sum(part.num_rows for part in pending))
    finally:
        if writer is not None:
            writer.close()
    return written


TEMPORARY_GRACE_SECONDS = 30.0
"""A new segment is created, then locked: a temporary this young may be one whose writer has
not locked it yet, and removing it would fail that writer's segment."""


def _remove_dead_temporaries(folder: Path) -> None:
    """Segments whose writer died before naming them held no row."""
    for tmp in _listed(folder, ".tmp"):
        try:
            age = time.time() - tmp.stat().st_mtime
        except FileNotFoundError:
            continue  # named or removed meanwhile
        if age < TEMPORARY_GRACE_SECONDS:
            continue
        with _unheld(tmp) as free:
            if free:
                tmp.unlink()


@contextmanager
def _unheld(path: Path) -> Iterator[bool]:
    """Yields True, holding its lock, if no writer holds ``path``; False if one does (or it
    is gone)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        yield False
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        yield False
        return
    try:
        yield True
    finally:
        os.close(fd)


@contextmanager
def _exclusive(path: Path, stop: Stop) -> Iterator[bool]:
    """Yields True holding the lock on ``path``, or False if ``stop()`` said so first."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if stop():
                    yield False
                    return
                time.sleep(0.02)
        yield True
    finally:
        os.close(fd)


def _rows(segment: Path) -> list[Any]:
    """A segment's rows, read through a memory map: only the pages holding rows are read."""
    with segment.open("rb") as handle:
        if os.fstat(handle.fileno()).st_size == 0:
            return []
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as view:
            return read_frames(view)


def _listed(folder: Path, suffix: str) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.iterdir() if path.suffix == suffix)


def sync_folder(folder: Path) -> None:
    """Make renames and removals in ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def _storage(verb: str, where: Path) -> Iterator[None]:
    """OS errors as ``StorageUnavailable``, at this one boundary."""
    try:
        yield
    except OSError as exc:
        raise StorageUnavailable(
            f"could not {verb} the log at {where}: {exc.strerror or exc}",
            hint="check that the log folder is on a local, writable disk with free space",
        ) from exc
