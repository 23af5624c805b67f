"""Which model versions serve which traffic, and how each change derives from the last.

A release row is never updated: a change appends a row whose ``parent`` is the current head.
The database refuses a second child of the same parent, so two concurrent changes can never fork
the history or leave two champions; the loser retries from the new head.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from keel.errors import Conflict, InvalidInput


@dataclass(frozen=True)
class ReleaseState:
    """Who serves: the champion answers, shadows score off the response path, the canary
    answers for ``canary_share`` percent of entities (sticky by entity id). While ``paused``
    no champion or canary answers: the fallback chain does, until a person resumes."""

    champion: int | None = None
    shadow: tuple[int, ...] = ()
    canary: int | None = None
    canary_share: float = 0.0
    previous_champion: int | None = None
    policy: int | None = None
    """The released decision policy in force (``keel.decisions.versions``); None: the
    ``decisions:`` section of keel.yaml."""
    paused: bool = False

    def promote(self, version: int) -> ReleaseState:
        """``version`` becomes champion; it stops being a shadow or the canary."""
        if version == self.champion:
            raise Conflict(f"v{version} is already the champion")
        canary = None if self.canary == version else self.canary
        return ReleaseState(
            champion=version,
            shadow=tuple(v for v in self.shadow if v != version),
            canary=canary,
            canary_share=self.canary_share if canary is not None else 0.0,
            previous_champion=self.champion,
            policy=self.policy,
            paused=self.paused,
        )

    def with_pause(self, paused: bool) -> ReleaseState:
        """Paused: the fallback chain answers every request; resumed: the models again."""
        if paused and self.paused:
            raise Conflict("the release is already paused", hint="keel release resume")
        if not paused and not self.paused:
            raise Conflict("the release is not paused", hint="keel release status")
        if paused and self.champion is None:
            raise Conflict("there is no champion to pause", hint="keel release status")
        return replace(self, paused=paused)

    def with_shadow(self, version: int) -> ReleaseState:
        if version == self.champion:
            raise Conflict(f"v{version} is the champion; a shadow scores beside it")
        if version in self.shadow:
            raise Conflict(f"v{version} is already in shadow")
        return replace(self, shadow=tuple(sorted((*self.shadow, version))))

    def without_shadow(self, version: int) -> ReleaseState:
        if version not in self.shadow:
            raise Conflict(f"v{version} is not in shadow")
        return replace(self, shadow=tuple(v for v in self.shadow if v != version))

    def with_canary(self, version: int, share: float) -> ReleaseState:
        """A canary for ``share`` percent of entities; share 0 ends the canary."""
        if not 0 <= share < 100:
            raise InvalidInput(
                f"a canary share is a percentage in [0, 100); got {share:g}",
                path="share",
                hint="to give a version all traffic, promote it",
            )
        if share == 0:
            if self.canary is None:
                raise Conflict("there is no canary to stop")
            return replace(self, canary=None, canary_share=0.0)
        if self.champion is None:
            raise Conflict(
                "a canary needs a champion to share traffic with",
                hint="promote a first champion: keel release promote VERSION",
            )
        if version == self.champion:
            raise Conflict(f"v{version} is the champion; it already serves all traffic")
        return replace(self, canary=version, canary_share=float(share))

    def roles(self) -> dict[int, str]:
        """Each serving version's role: ``champion``, ``shadow`` or ``canary 10%``."""
        roles = dict.fromkeys(self.shadow, "shadow")
        if self.canary is not None:
            roles[self.canary] = f"canary {self.canary_share:g}%"
        if self.champion is not None:
            roles[self.champion] = "champion"
        return roles

    def to_dict(self) -> dict[str, Any]:
        return {
            "champion": self.champion,
            "shadow": list(self.shadow),
            "canary": (
                {"version": self.canary, "share": self.canary_share}
                if self.canary is not None
                else None
            ),
            "previous_champion": self.previous_champion,
            "policy": self.policy,
            "paused": self.paused,
        }


@dataclass(frozen=True)
class Release:
    """One row of the release history.

    ``restores`` is the sequence number of the change whose state this row holds: its own for a
    normal change, an earlier one for a rollback. Rolling back from a row undoes the change at
    ``restores``, so repeated rollbacks walk back one change at a time instead of undoing the
    rollback itself.
    """

    project: str
    seq: int
    parent: int  # 0 for the first release
    state: ReleaseState
    action: str
    actor: str
    created_at: datetime
    subject: int | None = None  # the model version the change was about
    reason: str | None = None
    restores: int = 0
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return release_id(self.seq)

    def to_dict(self) -> dict[str, Any]:
        return {
            "release": self.id,
            "seq": self.seq,
            "parent": release_id(self.parent) if self.parent else None,
            **self.state.to_dict(),
            "action": self.action,
            "subject": self.subject,
            "actor": self.actor,
            "reason": self.reason,
            "restores": release_id(self.restores) if self.restores else None,
            "created_at": self.created_at.isoformat(),
            "details": self.details,
        }


def release_id(seq: int) -> str:
    return f"rel-{seq:04d}"


def next_release(
    head: Release | None,
    state: ReleaseState,
    *,
    project: str,
    action: str,
    actor: str,
    at: datetime,
    subject: int | None = None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> Release:
    """The row that follows ``head`` with ``state``."""
    seq = (head.seq if head else 0) + 1
    return Release(
        project=project,
        seq=seq,
        parent=head.seq if head else 0,
        state=state,
        action=action,
        actor=actor,
        created_at=at,
        subject=subject,
        reason=reason,
        restores=seq,
        details=details or {},
    )


def rollback_target(head: Release, origin: Release) -> int:
    """The sequence number whose state a rollback from ``head`` restores.

    ``origin`` is the row at ``head.restores``: the change being undone. Its parent holds the
    state before that change.
    """
    if origin.seq != head.restores:
        raise ValueError("origin must be the row that head restores")
    if origin.parent == 0:
        raise Conflict(
            f"nothing to roll back to: {release_id(origin.seq)} is the first release",
            hint="'keel release history' shows every release",
        )
    return origin.parent


def policy_stack(history: Sequence[Release]) -> list[int | None]:
    """The policies put in force, oldest first, with the ones rolled back taken off: the last
    is the one in force, the one before it what a policy rollback restores. A row that goes
    back to the policy below the top (a policy rollback, or a release rollback undoing a
    policy change) takes the top off; any other change of policy puts one on."""
    stack: list[int | None] = [None]
    for row in history:
        policy = row.state.policy
        if policy == stack[-1]:
            continue
        if len(stack) > 1 and policy == stack[-2]:
            stack.pop()
        else:
            stack.append(policy)
    return stack
