"""Request and prediction ids: unique, and sorted by creation time (UUID version 7 layout).

Time-ordered ids keep a log's rows near their neighbours in any index and let a person read the
order of events from the ids alone; 74 random bits make collisions across workers negligible.
"""

from __future__ import annotations

import secrets
import time
import uuid


def new_id() -> str:
    """A UUIDv7 string: 48 bits of Unix milliseconds, version, 74 random bits, variant."""
    millis = time.time_ns() // 1_000_000
    random = secrets.randbits(74)
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version 7
    value |= (random >> 62) << 64  # 12 random bits
    value |= 0b10 << 62  # RFC 4122 variant
    value |= random & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))
