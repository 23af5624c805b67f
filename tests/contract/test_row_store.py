"""Parquet parts in the content-addressed store: whole versions read back in order, verified."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import polars as pl
import pytest

from keel.errors import IntegrityError
from keel.store.blob import open_blob_store
from keel.store.tables import BlobRowStore


@pytest.fixture(params=["local", "memory", pytest.param("s3", marks=pytest.mark.s3)])
def rows(request: pytest.FixtureRequest, tmp_path: Path) -> BlobRowStore:
    url = str(tmp_path / "store") if request.param == "local" else f"memory://rows-{uuid.uuid4()}"
    if request.param == "s3":
        url = request.getfixturevalue("s3_url")
    return BlobRowStore(open_blob_store(url), tmp_path / "scratch")


PARTS = [
    pl.DataFrame({"id": ["a", "b"], "x": [1.0, 2.0], "c": ["u", None]}),
    pl.DataFrame({"id": ["c"], "x": [3.0], "c": ["v"]}),
    pl.DataFrame({"id": ["d", "e"], "x": [4.0, 5.0], "c": ["u", "w"]}),
]


def test_read_all_gives_the_parts_in_order(rows: BlobRowStore) -> None:
    digests = [rows.write(part) for part in PARTS]
    whole = rows.read_all(digests)
    assert whole.equals(pl.concat(PARTS))
    assert rows.read_all(digests, columns=["id"])["id"].to_list() == list("abcde")
    assert pl.concat(rows.iter_read(digests)).equals(whole)


def test_parts_of_different_columns_are_aligned_by_name(rows: BlobRowStore) -> None:
    narrow = pl.DataFrame({"id": ["z"], "x": [9]})  # no column c, x as an integer
    whole = rows.read_all([rows.write(PARTS[0]), rows.write(narrow)])
    assert whole.columns == ["id", "x", "c"]
    assert whole["x"].to_list() == [1.0, 2.0, 9.0]
    assert whole["c"].to_list() == ["u", None, None]


def test_a_tampered_part_is_refused(rows: BlobRowStore) -> None:
    digests = [rows.write(part) for part in PARTS]
    tampered = PARTS[1].with_columns(pl.lit(99.0).alias("x"))
    path = f"sha256/{digests[1][:2]}/{digests[1]}"
    rows.blobs.backend.put_bytes(path, _parquet_bytes(tampered))
    with pytest.raises(IntegrityError, match="corrupt"):
        rows.read_all(digests)


def test_no_parts_read_as_an_empty_frame(rows: BlobRowStore) -> None:
    assert rows.read_all([]).is_empty()


def _parquet_bytes(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()
