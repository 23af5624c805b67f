"""Adapters that move bytes and rows: blob stores, the SQL metadata store, tables on disk."""
