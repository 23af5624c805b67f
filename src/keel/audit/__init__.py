"""The tamper-evident audit trail: append-only events, each holding the hash of the one before."""

from keel.audit.chain import ChainReport, verify_chain
from keel.audit.events import GENESIS_HASH, AuditEvent, ChainHead, event_hash
from keel.audit.ports import AuditLog

__all__ = [
    "GENESIS_HASH",
    "AuditEvent",
    "AuditLog",
    "ChainHead",
    "ChainReport",
    "event_hash",
    "verify_chain",
]
