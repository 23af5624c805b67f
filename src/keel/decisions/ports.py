"""Persistence ports of the review queue; ``keel.store.sql.review_repo`` implements them.

Every change of an item's state is one conditional write (``UPDATE ... WHERE state/holder/lease
...``) that reports whether it applied, never a read followed by a write: of two reviewers
claiming one item at the same moment, the database lets exactly one write apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from keel.decisions.review import ItemState, NewItem, Reason, ReviewDecision, ReviewItem
from keel.decisions.versions import PolicyApproval, PolicyGate, PolicyVersion


class ReviewCursorRepo(Protocol):
    def cursor(self, project: str) -> datetime | None:
        """The newest prediction time a sync has read, locking it until the transaction ends
        (so two syncs of one project run one after the other); None before the first sync."""
        ...

    def move_cursor(self, project: str, watermark: datetime) -> None:
        """Store the newest prediction time read (creating the cursor on first use)."""
        ...


class ReviewRepo(Protocol):
    def add(self, project: str, items: Sequence[NewItem], created_at: datetime) -> int:
        """Insert the items whose prediction id has none yet; returns how many were new. A
        unique key on (project, prediction id) refuses a second item for one prediction."""
        ...

    def get(self, project: str, item: int) -> ReviewItem:
        """The item, or ``NotFound``."""
        ...

    def of_prediction(self, project: str, prediction_id: str) -> ReviewItem | None:
        """The item made from a prediction, if any."""
        ...

    def find(
        self,
        project: str,
        *,
        states: Sequence[ItemState] = (),
        reason: Reason | None = None,
        limit: int = 100,
    ) -> list[ReviewItem]:
        """Items (in any of ``states`` as stored), most urgent first: priority, then deadline."""
        ...

    def claim(self, project: str, item: int, reviewer: str, now: datetime, until: datetime) -> bool:
        """Give the item to ``reviewer`` until ``until`` if it is open, its claim's lease has run
        out, or ``reviewer`` already holds it; False when someone else holds it (or it is
        closed). One conditional write."""
        ...

    def settle(
        self,
        project: str,
        item: ReviewItem,
        reviewer: str,
        now: datetime,
        *,
        state: ItemState,
        resolution: str | None = None,
        label: float | None = None,
        escalated: bool = False,
    ) -> bool:
        """Move an item ``reviewer`` holds (lease not over at ``now``) to ``state`` (open again
        without a holder, resolved or escalated), counting one more review; False when
        ``reviewer`` does not hold it. With ``escalated``, settle an escalated item instead
        (whoever holds it). One conditional write."""
        ...

    def mark_overdue(self, project: str, now: datetime) -> list[ReviewItem]:
        """Items still open or claimed past their deadline and not reported before: mark them
        reported (at ``now``) and return them; each is returned once."""
        ...

    def labels(self, project: str, before: datetime) -> list[tuple[str, float]]:
        """(entity id, label) of every item resolved with a label at or before ``before``."""
        ...

    def release(self, project: str, item: int, reviewer: str) -> bool:
        """Open an item ``reviewer`` holds again; False when they do not hold it."""
        ...


class ReviewDecisionRepo(Protocol):
    def add(self, project: str, decision: ReviewDecision) -> None:
        """Record one reviewer's decision; a second by the same reviewer raises ``Conflict``."""
        ...

    def of_item(self, project: str, item: int) -> list[ReviewDecision]:
        """The item's decisions, oldest first."""
        ...

    def all(self, project: str) -> list[ReviewDecision]:
        """Every decision of the project, oldest first."""
        ...


class PolicyRepo(Protocol):
    """Registered decision policies (``keel.decisions.versions``)."""

    def next_version(self, project: str) -> int:
        """The number the next registered policy takes (1 for the first)."""
        ...

    def add(self, policy: PolicyVersion) -> None:
        """Store a new version; a second one with the same digest raises ``Conflict``."""
        ...

    def get(self, project: str, version: int) -> PolicyVersion:
        """The version, or ``NotFound``."""
        ...

    def by_digest(self, project: str, digest: str) -> PolicyVersion | None: ...

    def by_digests(self, project: str, digests: Sequence[str]) -> dict[str, int]:
        """Digest -> version number, for those of ``digests`` registered."""
        ...

    def all(self, project: str) -> list[PolicyVersion]:
        """Every version, newest first."""
        ...

    def set_gate(self, project: str, version: int, gate: PolicyGate) -> None:
        """Store the latest gate result; a pending release request and its approvals go (people
        approve evidence, not a number)."""
        ...

    def request(self, project: str, version: int, requester: str, at: datetime) -> None:
        """Record who asked for the release while approvals are pending."""
        ...

    def close_request(self, project: str, version: int) -> None:
        """The release was applied or turned down: the request and its approvals go."""
        ...

    def approvals(self, project: str, version: int) -> list[PolicyApproval]: ...

    def approve(self, project: str, version: int, approval: PolicyApproval) -> None:
        """Add one approval; a second by the same person raises ``Conflict``."""
        ...
