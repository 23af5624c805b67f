"""Tables of rows on the blob store: dataset parts, quarantine, and (later) prediction logs."""

from keel.store.tables.rows import BlobRowStore

__all__ = ["BlobRowStore"]
