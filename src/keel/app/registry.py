"""The registry plane: register runs as model versions, gate them, promote and approve them, and
change which versions serve (shadow, canary, rollback); read the models and the release.

Faces parse a version reference (``parse_version_ref``) and pass its number. The registry's own
services check the same roles again inside; each use case declares the role and the action text
of the first check a caller meets, so a refusal reads the same from every face.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from keel.app.result import Result
from keel.app.use_case import Access, UseCase, use_case
from keel.identity.actor import Actor
from keel.identity.roles import Role
from keel.registry.approvals import Promotion, PromotionRequest
from keel.registry.gates import GateResult
from keel.registry.releases import Release
from keel.registry.versions import ModelVersion
from keel.wiring import Keel

if TYPE_CHECKING:
    from keel.models.equivalence import Equivalence
    from keel.registry.service import Registry

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Registered(Result):
    """The model version of a run; ``created`` is False when the run was registered before."""

    model: ModelVersion
    created: bool
    inference: Equivalence | None = None
    """The compiled back end's equivalence verdict (None: native, no compiled back end)."""

    def to_dict(self) -> dict[str, Any]:
        return {**self.model.to_dict(), "created": self.created, "inference": _verdict(self)}


@use_case(Role.OPERATOR, action="registering a model", writes=True)
def register(keel: Keel, actor: Actor, run_id: str) -> Registered:
    """Register a succeeded run as a new, immutable model version (once per run)."""
    registry = keel.registry()
    model, created = registry.register(run_id, actor)
    return Registered(model, created, registry.inference(model))


@dataclass(frozen=True)
class ListedModel(Result):
    """A model version with its role in the current release (``champion``, ``shadow``,
    ``canary 10%``), or None when it does not serve."""

    model: ModelVersion
    role: str | None

    def to_dict(self) -> dict[str, Any]:
        return {**self.model.to_dict(), "role": self.role}


@use_case(Role.VIEWER, action="listing models")
def list_models(keel: Keel, actor: Actor) -> list[ListedModel]:
    """Model versions, newest first, with their role in the current release."""
    registry = keel.registry()
    models = registry.models()
    head, _ = registry.status()
    roles = head.state.roles() if head else {}
    return [ListedModel(model, roles.get(model.version)) for model in models]


@dataclass(frozen=True)
class ModelDetail(Result):
    """A model version with its latest gate result (None before it is gated)."""

    model: ModelVersion
    gate: GateResult | None
    inference: Equivalence | None = None

    def to_dict(self) -> dict[str, Any]:
        gate = self.gate.to_dict() if self.gate else None
        return {**self.model.to_dict(), "gate": gate, "inference": _verdict(self)}


def _verdict(result: Registered | ModelDetail) -> dict[str, Any] | None:
    return result.inference.to_dict() if result.inference is not None else None


@use_case(Role.VIEWER, action="reading a model")
def show_model(keel: Keel, actor: Actor, version: int) -> ModelDetail:
    """One model version: lineage, inputs, benchmark results, latest gate result."""
    registry = keel.registry()
    model = registry.model(version)
    return ModelDetail(model, registry.latest_gate(model.version), registry.inference(model))


@use_case(Role.OPERATOR, action="gating a model", writes=True)
def gate(keel: Keel, actor: Actor, version: int) -> GateResult:
    """Evaluate the release policy for a version and store the result with its evidence.

    The latency gate times the serving predictor itself (contract checks, features, model,
    decision), which is what a request pays in production.
    """
    return _timed_by_the_predictor(keel).gate(version, actor)


def _timed_by_the_predictor(keel: Keel) -> Registry:
    from keel.serving.probe import predictor_probe  # noqa: PLC0415

    policy = keel.decision_policy()
    return keel.registry(latency_probe=predictor_probe(keel.data_schema(), policy))


class _ActionNamesTheVersion(UseCase[P, R]):
    """A use case whose action names the version it acts on (``approving v4``): ``vN`` in the
    declared action is replaced by the version, the first argument, before the role check."""

    def __call__(self, keel: Keel, /, *args: P.args, **kwargs: P.kwargs) -> R:
        version = args[0] if args else kwargs.get("version")
        action = self.access.action
        if version is not None:
            action = action.replace("vN", f"v{version}")
        actor = replace(self.access, action=action).authorize(keel)
        return self.body(keel, actor, *args, **kwargs)


def _naming_the_version(
    role: Role, *, action: str
) -> Callable[[Callable[Concatenate[Keel, Actor, P], R]], UseCase[P, R]]:
    """Declare a writing use case whose action text names its version (see the class above)."""
    access = Access(role=role, action=action, writes=True)

    def decorate(body: Callable[Concatenate[Keel, Actor, P], R]) -> UseCase[P, R]:
        return _ActionNamesTheVersion(body, access)

    return decorate


@_naming_the_version(Role.APPROVER, action="approving vN")
def approve(keel: Keel, actor: Actor, version: int, *, note: str = "") -> Promotion:
    """Approve the pending promotion of a version, as an approver other than its requester;
    the last approval needed applies it."""
    return keel.registry().approve(version, actor, note=note)


@_naming_the_version(Role.APPROVER, action="rejecting vN")
def reject(keel: Keel, actor: Actor, version: int, *, note: str) -> PromotionRequest:
    """Turn the pending promotion of a version down with a written note; the champion stays
    and the version may be requested again."""
    return keel.registry().reject(version, actor, note=note)


@use_case(Role.OPERATOR, action="promoting a model", writes=True)
def promote(keel: Keel, actor: Actor, version: int, *, override: str | None = None) -> Promotion:
    """Make a version champion, or open a promotion that waits for the approvals needed;
    ``override`` (admins only) promotes past a failed gate with that written reason."""
    return keel.registry().promote(version, actor, override=override)


@dataclass(frozen=True)
class ReleaseStatus(Result):
    """The current release (None before the first) and the promotions awaiting approval."""

    release: Release | None
    pending: tuple[PromotionRequest, ...]

    def to_dict(self) -> dict[str, Any]:
        """The keys ``release status --json`` promises, present even before the first release."""
        body = (
            self.release.to_dict()
            if self.release is not None
            else {"release": None, "champion": None, "shadow": [], "canary": None}
        )
        return {**body, "pending": [request.to_dict() for request in self.pending]}


@use_case(Role.VIEWER, action="reading the release")
def release_status(keel: Keel, actor: Actor) -> ReleaseStatus:
    """The champion, shadows and canary now, and the promotions awaiting approval."""
    head, pending = keel.registry().status()
    return ReleaseStatus(head, tuple(pending))


@use_case(Role.VIEWER, action="reading the release history")
def release_history(keel: Keel, actor: Actor, *, limit: int = 20) -> list[Release]:
    """Every release change, newest first, with who made it and why."""
    return keel.registry().history(limit=limit)


@use_case(Role.OPERATOR, action="changing the release", writes=True)
def shadow(keel: Keel, actor: Actor, version: int, *, stop: bool = False) -> Release:
    """Score a version on live traffic beside the champion (``stop``: no longer)."""
    return keel.registry().shadow(version, actor, stop=stop)


@use_case(Role.OPERATOR, action="changing the release", writes=True)
def canary(
    keel: Keel, actor: Actor, version: int, share: float, *, override: str | None = None
) -> Release:
    """Serve a version to ``share`` percent of entities, sticky by entity id; 0 stops it."""
    return keel.registry().canary(version, share, actor, override=override)


@use_case(Role.OPERATOR, action="rolling back a release", writes=True)
def rollback(keel: Keel, actor: Actor, *, reason: str | None = None) -> Release:
    """Undo the last release change: the state before it serves again, in one step."""
    return keel.registry().rollback(actor, reason=reason)


@use_case(Role.OPERATOR, action="pausing a model", writes=True)
def pause(keel: Keel, actor: Actor, *, reason: str | None = None) -> Release:
    """Pause the champion (and the canary): the fallback chain answers every request, logged
    with the route ``paused``, until a person resumes."""
    return keel.registry().pause(actor, reason=reason)


@use_case(Role.OPERATOR, action="resuming a model", writes=True)
def resume(keel: Keel, actor: Actor, *, reason: str | None = None) -> Release:
    """Undo ``pause``: the champion (and the canary) answer again."""
    return keel.registry().pause(actor, reason=reason, paused=False)
