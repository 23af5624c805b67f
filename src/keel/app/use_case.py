"""Use cases and their access policies: who may call each operation, checked on every call.

A use case is ``fn(keel, actor, ...)`` decorated with ``@use_case(role, action=..., writes=...)``.
The decorator resolves the actor from the opened project (``KEEL_API_KEY`` or the local-admin
rule), checks the role before the body runs, and hands the actor in, so that no face can forget
the check and every face enforces the same rule. Faces call ``fn(keel, ...)``.

Three other kinds, each with its reason recorded on the function:

- ``@query(action=...)``: readable by anyone who can open the project; the body gets no actor
  (``keel status`` reports who is acting, or why no one can, itself).
- ``@use_case(..., bootstrap=True)``: the check applies once the database has a schema; on an
  empty database nobody exists to ask yet, and the caller acts as the local admin who creates it.
- ``@offline(reason)``: works on local files and opens no project, so there is no one to check.

``tests/unit/app/test_use_cases.py`` walks every public function of ``keel.app`` and fails if one
has no policy, if one that writes has no role, or if one that writes runs for a viewer.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar

from keel.identity.actor import LOCAL_ADMIN, Actor
from keel.identity.roles import Role

if TYPE_CHECKING:
    from keel.wiring import Keel

P = ParamSpec("P")
R = TypeVar("R")
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Access:
    """The policy of one use case: the role it needs, and whether it changes state."""

    role: Role | None  # None: anyone who can open the project (queries) or no project at all
    action: str  # how error messages and the audit trail name it: "training", "listing runs"
    writes: bool
    bootstrap: bool = False
    project: bool = True  # False: works on local files only (``offline``)

    def authorize(self, keel: Keel) -> Actor:
        """The actor, after checking the role; raises ``PermissionDenied``."""
        if self.bootstrap and not keel.has_schema():
            return Actor(LOCAL_ADMIN, Role.ADMIN, "local")
        if self.role is None:  # pragma: no cover - queries never ask (see ``query``)
            return keel.actor()
        return keel.acting(self.role, action=self.action)


class UseCase(Generic[P, R]):
    """A use case bound to its access policy; calling it checks the policy first."""

    def __init__(self, body: Callable[Concatenate[Keel, Actor, P], R], access: Access) -> None:
        functools.update_wrapper(self, body)
        self.body = body
        self.access = access

    def __call__(self, keel: Keel, /, *args: P.args, **kwargs: P.kwargs) -> R:
        actor = self.access.authorize(keel)
        return self.body(keel, actor, *args, **kwargs)


def use_case(
    role: Role, *, action: str, writes: bool = False, bootstrap: bool = False
) -> Callable[[Callable[Concatenate[Keel, Actor, P], R]], UseCase[P, R]]:
    """Declare a use case that needs ``role``; ``writes`` when it changes any state."""
    access = Access(role=role, action=action, writes=writes, bootstrap=bootstrap)

    def decorate(body: Callable[Concatenate[Keel, Actor, P], R]) -> UseCase[P, R]:
        return UseCase(body, access)

    return decorate


def query(*, action: str) -> Callable[[F], F]:
    """Declare a read that anyone who can open the project may make (no actor is needed)."""
    access = Access(role=None, action=action, writes=False)

    def decorate(body: F) -> F:
        body.__access__ = access  # type: ignore[attr-defined]
        return body

    return decorate


def offline(*, action: str, writes: bool = False) -> Callable[[F], F]:
    """Declare an operation on local files that opens no project (no one to check)."""
    access = Access(role=None, action=action, writes=writes, project=False)

    def decorate(body: F) -> F:
        body.__access__ = access  # type: ignore[attr-defined]
        return body

    return decorate


def access_of(candidate: object) -> Access | None:
    """The policy declared on a use case, query or offline operation, if any."""
    if isinstance(candidate, UseCase):
        return candidate.access
    found = getattr(candidate, "__access__", None)
    return found if isinstance(found, Access) else None
