"""Follow the release: notice a change, load the new models beside the old, swap in one step.

Requests read ``follower.current`` once and finish on that set, so a swap never drops or fails a
request. A new release whose models do not load (a checksum fails, a file is missing) is refused:
the old set keeps serving and the refusal is kept for the readiness probe and the metrics. On
SQLite the follower polls the head of the release history; on PostgreSQL it also wakes on the
``NOTIFY`` each release change sends, so a swap follows within milliseconds.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from keel.registry.releases import Release
from keel.serving.predictor import Predictor
from keel.serving.routing import Loader, ServingSet, Wanted, build

log = logging.getLogger("keel.serving")

HeadReader = Callable[[], Release | None]
Planner = Callable[[Release | None], Wanted]
Waiter = Callable[[float], bool]
"""Blocks up to the given seconds; True when a release change was announced."""


@dataclass(frozen=True)
class Refusal:
    release: str | None
    reasons: dict[int, str]

    def summary(self) -> str:
        return "; ".join(f"v{v}: {why}" for v, why in sorted(self.reasons.items()))


class ReleaseFollower:
    """Holds the serving set of the current release and keeps it current."""

    def __init__(
        self,
        head: HeadReader,
        plan: Planner,
        load: Loader,
        *,
        poll_seconds: float = 1.0,
        wait: Waiter | None = None,
    ) -> None:
        self._head = head
        self._plan = plan
        self._load = load
        self._poll = poll_seconds
        self._wait = wait
        self._cache: dict[int, Predictor] = {}
        self._seen: int | None = -1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.current = ServingSet(release=None, champion=None)
        self.refused: Refusal | None = None
        self.swaps = 0
        self.checked_at = time.monotonic()
        """When the release was last read (monotonic seconds)."""
        self.failure: str | None = None
        """Why the last attempt to read the release failed (for the log: a public probe never
        shows it); None once one succeeds."""

    def degraded(self) -> str | None:
        """Why the service cannot follow its release right now, or None when it can: the last
        read failed, or none succeeded for three polls (and at least five seconds), as when a
        locked database keeps the read waiting. The loaded models answer all the same."""
        stale = time.monotonic() - self.checked_at
        if self.failure is None and stale <= max(5.0, 3 * self._poll):
            return None
        return f"the project database has not been read for {stale:.0f} s"

    def start(self) -> None:
        """Load the current release now (callers may serve at once), then follow it."""
        self.refresh()
        self._thread = threading.Thread(target=self._run, name="keel-release", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def refresh(self) -> bool:
        """Swap if the release changed; True when a new set was installed."""
        head = self._head()
        self.checked_at, self.failure = time.monotonic(), None
        seq = head.seq if head is not None else None
        if seq == self._seen:
            return False
        self._seen = seq
        wanted = self._plan(head)
        candidate = build(wanted, self._load, self._cache)
        first = self.current.release is None and not self.current.ready
        if candidate.failed and not first:
            self.refused = Refusal(wanted.release, dict(candidate.failed))
            log.error(
                "release %s refused, still serving %s: %s",
                wanted.release,
                self.current.release,
                self.refused.summary(),
            )
            return False
        if candidate.failed:
            self.refused = Refusal(wanted.release, dict(candidate.failed))
            log.error("release %s partly loaded: %s", wanted.release, self.refused.summary())
        else:
            self.refused = None
        self.current = candidate
        self.swaps += 1
        _refreeze()
        for version in set(self._cache) - wanted.versions():
            del self._cache[version]
        log.info("serving release %s", wanted.release)
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self._wait is not None:
                    self._wait(self._poll)
                else:
                    self._stop.wait(self._poll)
                if not self._stop.is_set():
                    self.refresh()
            except Exception as error:  # the follower must outlive a database outage
                if self.failure is None:
                    log.exception("following the release failed; retrying")
                self.failure = _first_line(error)
                self._stop.wait(self._poll)


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")


def _refreeze() -> None:
    """Keep the loaded models out of the cyclic collector's full passes.

    With a model loaded the process tracks about 200,000 objects, and a full collection pauses
    every thread for about 60 ms (measured with the loan example), a random latency spike. Once
    per swap, the old release's objects are collected and the rest frozen: full collections then
    scan only what requests allocate.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()
