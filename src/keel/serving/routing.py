"""Which loaded model answers which record: the release, turned into predictors.

A ``ServingSet`` is built once per release and never changed, so a request that picked one up
finishes on it even if the release changes meanwhile: a swap replaces the whole set at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from keel.decisions.policy import DecisionPolicy
from keel.errors import KeelError
from keel.serving.predictor import Predictor

Loader = Callable[[int], Predictor]
"""Loads one model version (every artifact verified by sha256); raises ``KeelError``."""

BUCKETS = 10_000  # canary shares resolve to 0.01 %


def bucket(entity_id: str) -> int:
    """A stable bucket in [0, BUCKETS) for an entity: the same entity, the same model."""
    digest = hashlib.blake2b(entity_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % BUCKETS


@dataclass(frozen=True)
class ServingSet:
    """The predictors of one release; ``failed`` names versions that could not load, and why."""

    release: str | None
    champion: Predictor | None
    canary: Predictor | None = None
    canary_share: float = 0.0
    shadows: tuple[Predictor, ...] = ()
    previous: Predictor | None = None
    baseline: Predictor | None = None
    failed: dict[int, str] = field(default_factory=dict)
    policy: DecisionPolicy | None = None
    """The decision policy of this release (None: the service's own, keel.yaml's)."""
    policy_digest: str | None = None
    paused: bool = False
    """A person (or the agent) paused the champion: the fallback chain answers every entity."""

    def route(self, entity_id: str) -> tuple[Predictor | None, str]:
        """The predictor that answers this entity, and its role (champion or canary); while
        paused none, with the route ``paused`` (the fallback chain answers)."""
        if self.paused:
            return None, "paused"
        if self.canary is not None and bucket(entity_id) < self.canary_share * BUCKETS / 100:
            return self.canary, "canary"
        return self.champion, "champion"

    def fallbacks(
        self, steps: tuple[str, ...], route: str = "champion"
    ) -> list[tuple[str, Predictor | None]]:
        """The configured chain after the answering model, in order (``defer`` has none); a
        failing canary falls back to the champion first."""
        chain: list[tuple[str, Predictor | None]] = []
        if route == "canary":
            chain.append(("champion", self.champion))
        for step in steps:
            if step == "previous_champion":
                chain.append((step, self.previous))
            elif step == "baseline":
                chain.append((step, self.baseline))
            else:
                chain.append((step, None))
        return chain

    @property
    def ready(self) -> bool:
        return self.champion is not None or self.previous is not None or self.baseline is not None


@dataclass(frozen=True)
class Wanted:
    """The versions a release asks to serve (the plan before loading)."""

    release: str | None
    champion: int | None
    canary: int | None
    canary_share: float
    shadows: tuple[int, ...]
    previous: int | None
    baseline: int | None
    policy: DecisionPolicy | None = None
    """The released decision policy to decide with (None: each model's own, keel.yaml's)."""
    policy_digest: str | None = None
    paused: bool = False

    def versions(self) -> set[int]:
        named = {self.champion, self.canary, self.previous, self.baseline, *self.shadows}
        return {v for v in named if v is not None}


def build(wanted: Wanted, load: Loader, cache: dict[int, Predictor]) -> ServingSet:
    """Load what ``wanted`` names (reusing ``cache``); a version that fails is left out, named
    in ``failed``, and its role falls to the fallback chain at request time."""
    failed: dict[int, str] = {}

    def get(version: int | None) -> Predictor | None:
        if version is None:
            return None
        try:
            if version not in cache:
                cache[version] = load(version)
            if wanted.policy is None:
                return cache[version]
            return cache[version].deciding(wanted.policy)
        except KeelError as error:
            failed[version] = error.message
            return None

    shadows = tuple(p for p in (get(v) for v in wanted.shadows) if p is not None)
    return ServingSet(
        release=wanted.release,
        champion=get(wanted.champion),
        canary=get(wanted.canary),
        canary_share=wanted.canary_share,
        shadows=shadows,
        previous=get(wanted.previous),
        baseline=get(wanted.baseline),
        failed=failed,
        policy=wanted.policy,
        policy_digest=wanted.policy_digest,
        paused=wanted.paused,
    )
