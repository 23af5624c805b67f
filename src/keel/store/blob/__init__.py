"""Blob storage: byte backends (fsspec) and the content-addressed layer above them."""

from keel.store.blob.content_addressed import ContentAddressedStore, open_blob_store
from keel.store.blob.fsspec_store import FsspecByteStore

__all__ = ["ContentAddressedStore", "FsspecByteStore", "open_blob_store"]
