"""The ingest service on each metadata backend: versions, quarantine, replay, and no lost rows."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from tests.contract.conftest import loan_project
from tests.objectstore import start_s3_server

from keel.app.scaffold import scaffold
from keel.config import Settings, load_project
from keel.data.ingest import BatchInput, Chunk, IngestResult, iter_version
from keel.data.quarantine import quarantined_rows
from keel.data.reasons import REASONS_COLUMN
from keel.data.versions import BatchStatus
from keel.errors import Conflict, InvalidInput, StorageUnavailable
from keel.simulate import NewCategory, RenamedColumn, UnitChange, simulate_frame
from keel.store.sources import SqlSource, open_source
from keel.store.sql.schema import upgrade
from keel.wiring import Keel, open_keel

START, END = datetime(2024, 3, 1), datetime(2024, 6, 1)


@pytest.fixture
def keel(tmp_path: Path, database_url: str) -> Iterator[Keel]:
    """The loan example project with its metadata on the backend under test."""
    folder = tmp_path / "proj"
    opened = loan_project(folder, database_url)
    yield opened
    opened.close()


def months(rows: int = 3000, **incidents: object) -> dict[str, pl.DataFrame]:
    """One simulated stream cut into its calendar months, ids unique across them."""
    frame = simulate_frame(
        rows=rows, seed=3, start=START, end=END, incidents=list(incidents.values())
    )
    key = pl.col("applied_at").dt.strftime("%Y-%m")
    return {
        str(k[0]): part for k, part in frame.with_columns(m=key).group_by("m", maintain_order=True)
    }


def ingest(
    keel: Keel, frame: pl.DataFrame, *, chunk_rows: int = 10_000, uri: str = "test"
) -> IngestResult:
    frame = frame.drop("m", strict=False)
    request = BatchInput(
        dataset=keel.dataset,
        source="test",
        uri=uri,
        file_sha256=None,
        from_text=False,
        actor="tester",
    )
    chunks = (Chunk(frame.slice(i, chunk_rows), False) for i in range(0, frame.height, chunk_rows))
    return keel.ingestor().ingest(request, chunks)


def read(keel: Keel, version: int) -> pl.DataFrame:
    with keel.reader() as unit:
        found = unit.datasets.get(keel.dataset, version)
    return pl.concat(list(iter_version(keel.rows, found)), how="diagonal_relaxed")


def held(keel: Keel, batch_id: str) -> pl.DataFrame:
    with keel.reader() as unit:
        batch = unit.batches.get(batch_id)
    return pl.concat(list(quarantined_rows(keel.rows, batch)), how="diagonal_relaxed")


def test_each_accepted_batch_makes_the_next_version(keel: Keel) -> None:
    parts = list(months().values())
    first, second = ingest(keel, parts[0]), ingest(keel, parts[1])
    assert (first.batch.dataset_version, second.batch.dataset_version) == (1, 2)
    assert second.version is not None and second.version.parent == 1
    assert second.version.rows == parts[0].height + parts[1].height
    assert read(keel, 1)["application_id"].to_list() == parts[0]["application_id"].to_list()
    assert read(keel, 1).equals(read(keel, 1))


def test_rows_always_add_up(keel: Keel) -> None:
    frame = next(iter(months().values()))
    bad = frame.with_columns(
        pl.when(pl.int_range(pl.len()) < 20).then(-5.0).otherwise(pl.col("income")).alias("income")
    )
    result = ingest(keel, bad, chunk_rows=333)
    batch = result.batch
    assert batch.rows == frame.height == batch.accepted + batch.quarantined
    assert batch.quarantined == 20
    quarantined = held(keel, batch.id)
    assert quarantined.height == 20
    reasons = quarantined[REASONS_COLUMN].explode().struct.unnest()
    assert set(reasons["code"]) == {"below_min"}
    assert set(reasons["value"]) == {"-5.0"}


def test_a_renamed_column_rejects_the_batch_and_keeps_its_values(keel: Keel) -> None:
    frame = next(iter(months().values())).rename({"income": "income_eur"})
    result = ingest(keel, frame)
    assert result.batch.status is BatchStatus.REJECTED and result.version is None
    codes = {(r["code"], r.get("column")) for r in result.batch.reasons}
    assert ("missing_column", "income") in codes
    assert ("unexpected_column", "income_eur") in codes
    rows = held(keel, result.batch.id)
    assert rows.height == frame.height == result.batch.quarantined
    assert rows["income_eur"].to_list() == frame["income_eur"].to_list()
    with keel.reader() as unit:
        assert unit.datasets.latest(keel.dataset) is None


def test_a_unit_change_rejects_the_batch(keel: Keel) -> None:
    parts = list(
        months(incident=UnitChange(column="income", factor=0.001, at=datetime(2024, 5, 1))).values()
    )
    assert ingest(keel, parts[0]).batch.status is BatchStatus.ACCEPTED
    changed = ingest(keel, parts[2])
    assert changed.batch.status is BatchStatus.REJECTED
    assert [r["code"] for r in changed.batch.reasons] == ["unit_change"]
    assert changed.batch.quarantined == parts[2].height


def test_duplicate_ids_across_chunks_reject_the_batch(keel: Keel) -> None:
    frame = next(iter(months().values()))
    doubled = pl.concat([frame, frame.head(5)])
    result = ingest(keel, doubled, chunk_rows=frame.height)  # the repeats sit in another chunk
    assert result.batch.status is BatchStatus.REJECTED
    assert {r["code"] for r in result.batch.reasons} >= {"duplicate_id"}
    assert result.batch.quarantined == doubled.height


def test_ids_already_in_the_dataset_are_refused(keel: Keel) -> None:
    parts = list(months().values())
    ingest(keel, parts[0])
    again = ingest(keel, pl.concat([parts[1], parts[0].head(3)]))
    assert "existing_id" in {r["code"] for r in again.batch.reasons}
    assert again.version is None


def test_replay_moves_what_now_passes(keel: Keel, tmp_path: Path) -> None:
    frame = next(
        iter(months(new=NewCategory(column="purpose", value="crypto", share=0.02)).values())
    )
    first = ingest(keel, frame)
    assert first.batch.status is BatchStatus.ACCEPTED and first.batch.quarantined > 0
    allow = keel.project.contract.model_dump()
    allow["columns"]["purpose"]["values"] = [*allow["columns"]["purpose"]["values"], "crypto"]
    keel.project = keel.project.model_copy(
        update={"contract": type(keel.project.contract)(**allow)}
    )
    replay = keel.ingestor().replay(first.batch.id, actor="tester")
    assert replay.batch.replay_of == first.batch.id
    assert replay.batch.rows == first.batch.quarantined == replay.batch.accepted
    assert replay.version is not None and replay.version.rows == frame.height
    with pytest.raises(Conflict, match="no rows in quarantine"):
        keel.ingestor().replay(first.batch.id, actor="tester")


def test_a_rejected_batch_replays_in_full(keel: Keel) -> None:
    frame = next(iter(months(rename=RenamedColumn(column="region", new_name="area")).values()))
    rejected = ingest(keel, frame, chunk_rows=700)
    assert rejected.batch.status is BatchStatus.REJECTED
    columns = keel.project.contract.model_dump()
    columns["columns"]["area"] = columns["columns"].pop("region")
    keel.project = keel.project.model_copy(
        update={"contract": type(keel.project.contract)(**columns)}
    )
    replay = keel.ingestor().replay(rejected.batch.id, actor="tester")
    assert replay.batch.status is BatchStatus.ACCEPTED
    assert replay.batch.accepted + replay.batch.quarantined == frame.height
    assert read(keel, 1)["application_id"].to_list() == frame["application_id"].to_list()


def test_a_byte_identical_file_is_ingested_once(keel: Keel, tmp_path: Path) -> None:
    path = tmp_path / "may.parquet"
    next(iter(months().values())).drop("m").write_parquet(path)

    def from_file() -> IngestResult:
        source = open_source(path)
        request = BatchInput(
            dataset=keel.dataset,
            source="file",
            uri=source.uri,
            file_sha256=source.file_sha256,
            from_text=source.from_text,
            actor="tester",
        )
        return keel.ingestor().ingest(request, (Chunk(f, False) for f in source.chunks(1000)))

    first, second = from_file(), from_file()
    assert not first.already_ingested and second.already_ingested
    assert second.batch.id == first.batch.id
    with keel.reader() as unit:
        assert len(unit.datasets.list(keel.dataset)) == 1


def test_a_truncated_file_leaves_no_version(keel: Keel, tmp_path: Path) -> None:
    path = tmp_path / "cut.parquet"
    next(iter(months().values())).drop("m").write_parquet(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(InvalidInput, match=r"cannot read cut\.parquet"):
        source = open_source(path)
        request = BatchInput(keel.dataset, "file", source.uri, source.file_sha256, False, "tester")
        keel.ingestor().ingest(request, (Chunk(f, False) for f in source.chunks(1000)))
    with keel.reader() as unit:
        assert unit.datasets.latest(keel.dataset) is None
        assert unit.batches.list(keel.dataset) == []


def test_concurrent_ingests_never_fork_the_history(keel: Keel) -> None:
    parts = list(months(rows=6000).values())
    outcomes: list[object] = []

    def run(frame: pl.DataFrame) -> None:
        try:
            outcomes.append(ingest(keel, frame))
        except Conflict as error:
            outcomes.append(error)

    threads = [threading.Thread(target=run, args=(frame,)) for frame in parts[:3]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    made = [o for o in outcomes if isinstance(o, IngestResult)]
    with keel.reader() as unit:
        versions = unit.datasets.list(keel.dataset)
    assert [v.version for v in versions] == list(range(1, len(made) + 1))
    assert [v.parent for v in versions] == [None, *range(1, len(made))]
    assert versions[-1].rows == sum(r.batch.accepted for r in made)


SQL_TYPES = {pl.String: sa.String, pl.Float64: sa.Float, pl.Int64: sa.BigInteger}


@pytest.mark.postgres
def test_sql_source_reads_a_query_in_chunks(keel: Keel, postgres_url: str) -> None:
    frame = next(iter(months().values())).drop("m", "applied_at")
    frame = frame.with_columns(pl.col(pl.Enum, pl.Categorical).cast(pl.String))
    table = sa.Table(
        "applications",
        sa.MetaData(),
        *(sa.Column(name, SQL_TYPES[dtype.base_type()]) for name, dtype in frame.schema.items()),
    )
    engine = sa.create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        table.create(conn)
        conn.execute(table.insert(), frame.to_dicts())
    engine.dispose()
    query = "SELECT *, now() AS applied_at FROM applications ORDER BY application_id"
    source = SqlSource(postgres_url, query)
    request = BatchInput(keel.dataset, "warehouse", source.uri, None, False, "tester")
    result = keel.ingestor().ingest(request, (Chunk(f, False) for f in source.chunks(700)))
    assert result.batch.status is BatchStatus.ACCEPTED, result.batch.reasons
    assert result.batch.accepted == frame.height
    assert read(keel, 1)["application_id"].to_list() == sorted(frame["application_id"].to_list())


@pytest.mark.s3
def test_dataset_and_quarantine_parts_live_in_the_object_store(
    tmp_path: Path, sqlite_url: str, s3_url: str
) -> None:
    """A project whose store is the S3 server: versions and quarantine read back from it."""
    folder = tmp_path / "proj"
    scaffold(folder, "loan")
    project = load_project(folder / "keel.yaml")
    settings = Settings.resolve(
        folder, project, environ={}, database_url=sqlite_url, store_url=s3_url
    )
    keel = open_keel(settings, project=project, check=False)
    try:
        upgrade(keel.db)
        frame = next(iter(months().values()))
        bad = frame.with_columns(
            pl.when(pl.int_range(pl.len()) < 5)
            .then(-1.0)
            .otherwise(pl.col("income"))
            .alias("income")
        )
        result = ingest(keel, bad)
        assert result.version is not None
        assert read(keel, 1).height == frame.height - 5
        assert held(keel, result.batch.id).height == 5
        assert keel.blobs.backend.list("sha256/")  # the parts are objects in the bucket
        assert not (folder / ".keel" / "store").exists()
    finally:
        keel.close()


@pytest.mark.s3
@pytest.mark.slow
def test_the_s3_server_killed_mid_ingest_makes_no_version_and_a_retry_succeeds(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server of its own, killed after the first chunks were stored; then restarted."""
    server = start_s3_server(tmp_path / "seaweedfs")
    for name, value in server.env.items():
        monkeypatch.setenv(name, value)
    folder = tmp_path / "proj"
    scaffold(folder, "loan")
    project = load_project(folder / "keel.yaml")
    settings = Settings.resolve(
        folder, project, environ={}, database_url=sqlite_url, store_url=server.url("store")
    )
    keel = open_keel(settings, project=project, check=False)
    frame = next(iter(months().values())).drop("m")
    request = BatchInput(keel.dataset, "test", "test", None, False, "tester")

    def chunks_then_kill() -> Iterator[Chunk]:
        for i in range(0, frame.height, 200):
            if i == 600:
                server.stop()  # the server dies with three chunks stored
            yield Chunk(frame.slice(i, 200), False)

    try:
        upgrade(keel.db)
        with pytest.raises(StorageUnavailable, match=r"127\.0\.0\.1"):
            keel.ingestor().ingest(request, chunks_then_kill())
        with keel.reader() as unit:
            assert unit.datasets.latest(keel.dataset) is None
        server = start_s3_server(tmp_path / "seaweedfs", ports=server.ports)
        result = ingest(keel, frame, chunk_rows=200)
        assert result.version is not None and result.version.version == 1
        assert read(keel, 1).height == frame.height
    finally:
        keel.close()
        server.stop()
