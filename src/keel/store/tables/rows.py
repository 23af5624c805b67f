"""``RowStore`` over the content-addressed blob store: every Parquet file verified on read."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import polars as pl
from polars._typing import ParquetCompression

from keel.store.blob import ContentAddressedStore

COMPRESSION: Final = "zstd"  # parts that training and export read: small, with statistics
ARCHIVE_COMPRESSION: Final = "snappy"  # raw input kept for the record: about 3x faster to write


class BlobRowStore:
    """Parquet files written once, named by their sha256, and checked before every read."""

    def __init__(self, blobs: ContentAddressedStore, scratch: Path | None = None) -> None:
        self.blobs = blobs
        self.scratch = scratch

    def write(self, frame: pl.DataFrame) -> str:
        return self._put(frame, compression=COMPRESSION, statistics=True)

    def archive(self, frame: pl.DataFrame) -> str:
        return self._put(frame, compression=ARCHIVE_COMPRESSION, statistics=False)

    def _put(
        self, frame: pl.DataFrame, *, compression: ParquetCompression, statistics: bool
    ) -> str:
        with self._tempdir() as folder:
            path = Path(folder) / "part.parquet"
            frame.write_parquet(path, compression=compression, statistics=statistics)
            return self.blobs.put_file(path)

    def write_file(self, path: Path) -> str:
        return self.blobs.put_file(path)

    def read(self, digest: str, *, columns: list[str] | None = None) -> pl.DataFrame:
        with self._tempdir() as folder:
            path = self.blobs.get_file(digest, Path(folder) / "part.parquet")
            return pl.read_parquet(path, columns=columns)

    def iter_read(
        self, digests: list[str], *, columns: list[str] | None = None
    ) -> Iterator[pl.DataFrame]:
        for digest in digests:
            yield self.read(digest, columns=columns)

    def read_all(self, digests: list[str], *, columns: list[str] | None = None) -> pl.DataFrame:
        """Every file verified first, then read by Polars in one call, which decodes the files
        in parallel (1M rows in 10 parts: 0.23 s -> 0.11 s)."""
        if not digests:
            return pl.DataFrame()
        with self._tempdir() as folder:
            paths = [
                self.blobs.get_file(digest, Path(folder) / f"{i}.parquet")
                for i, digest in enumerate(digests)
            ]
            try:
                return pl.read_parquet(paths, columns=columns)
            except pl.exceptions.PolarsError:  # parts of different schemas: align them
                parts = [pl.read_parquet(path, columns=columns) for path in paths]
                return pl.concat(parts, how="diagonal_relaxed")

    def put_json(self, body: bytes) -> str:
        return self.blobs.put(body)

    def get_json(self, digest: str) -> bytes:
        return self.blobs.get(digest)

    def _tempdir(self) -> tempfile.TemporaryDirectory[str]:
        if self.scratch is not None:
            self.scratch.mkdir(parents=True, exist_ok=True)
        return tempfile.TemporaryDirectory(dir=self.scratch, prefix="keel-rows-")
