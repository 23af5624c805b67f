"""What the readiness probes answer: ready, degraded, or not ready and why.

- **Not ready** (503): no model is loaded, or the prediction log cannot be written (a full
  disk), so every prediction would be refused. While the log fails, each probe tries to open
  a segment again (off the event loop), so the worker becomes ready once space returns even
  if no traffic reaches it.
- **Degraded** (200, with ``degraded``): the project database cannot be read (stopped, or
  locked by another writer). The loaded models keep answering and every answer is logged (the
  log is on local disk, not in the database); the release is not followed until it returns.
- **Ready** (200): ``{"ready": true, "release": ...}``.

No reason names a path, host or database error: the probes are public.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from keel.serving.follower import ReleaseFollower


@dataclass(frozen=True)
class Readiness:
    follower: ReleaseFollower
    log_failure: Callable[[], str | None]
    """Why the prediction log's last write failed, or None."""
    recover_log: Callable[[], bool]
    """Try to open the log again after a failure; True when it can take appends."""

    async def answer(self) -> tuple[dict[str, Any], int]:
        """The probe's body and status."""
        current = self.follower.current
        if not current.ready:
            refused = self.follower.refused
            reason = "no model is loaded" + (f"; refused {refused.summary()}" if refused else "")
            return {"ready": False, "reason": reason}, 503
        failure = self.log_failure()
        if failure is not None and not await asyncio.to_thread(self.recover_log):
            reason = f"the prediction log cannot be written ({failure})"
            return {"ready": False, "reason": reason}, 503
        body: dict[str, Any] = {"ready": True, "release": current.release}
        degraded = self.follower.degraded()
        if degraded is not None:
            body["degraded"] = degraded
        return body, 200
