"""Every public operation of the application layer has an access policy, and the ones that
write refuse a viewer before doing anything (the route walk of the HTTP faces, for use cases)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import keel.app
from keel.app import project as project_plane
from keel.app.session import open_project
from keel.app.use_case import Access, UseCase, access_of
from keel.errors import PermissionDenied
from keel.identity.roles import Role
from keel.wiring import Keel

# infrastructure of the layer, not operations: the decorators, the result base, opening a
# project, copying an example, and the demo's HTTP client (the service checks its requests)
INFRASTRUCTURE = {
    "keel.app.use_case",
    "keel.app.result",
    "keel.app.session",
    "keel.app.scaffold",
    "keel.app.traffic",
}


def _plane_modules() -> list[ModuleType]:
    """The planes' public modules: a private one (``_agent_steps``, ``_canary_arms``) holds a
    plane's helpers, which only its use cases call after their own access check."""
    names = [m.name for m in pkgutil.walk_packages(keel.app.__path__, "keel.app.")]
    public = [n for n in names if not n.rsplit(".", 1)[1].startswith("_")]
    return [importlib.import_module(n) for n in sorted(public) if n not in INFRASTRUCTURE]


def _operations() -> Iterator[tuple[str, object]]:
    """Public functions and use cases defined (not imported) in each plane module."""
    for module in _plane_modules():
        for name, value in vars(module).items():
            if name.startswith("_") or inspect.isclass(value):
                continue
            if not (inspect.isfunction(value) or isinstance(value, UseCase)):
                continue
            if getattr(value, "__module__", None) == module.__name__:
                yield f"{module.__name__}.{name}", value


OPERATIONS = dict(_operations())
WRITERS = {
    name: op
    for name, op in OPERATIONS.items()
    if isinstance(op, UseCase) and op.access.writes and op.access.project
}


def test_the_walk_finds_the_planes() -> None:
    assert len(OPERATIONS) >= 8, sorted(OPERATIONS)
    assert "keel.app.project.upgrade_database" in WRITERS


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_every_operation_declares_its_access(name: str) -> None:
    access = access_of(OPERATIONS[name])
    assert isinstance(access, Access), f"{name} has no access policy: decorate it"
    assert access.action, f"{name} names no action for its messages"


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_operations_that_write_on_a_project_need_more_than_viewing(name: str) -> None:
    access = access_of(OPERATIONS[name])
    assert access is not None
    if access.writes and access.project:
        assert isinstance(OPERATIONS[name], UseCase), f"{name} writes without a role check"
        assert access.role is not None and access.role.rank > Role.VIEWER.rank, name


@pytest.fixture(scope="module")
def viewer_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keel]:
    """A loan project opened with a viewer's key."""
    folder: Path = tmp_path_factory.mktemp("walk") / "proj"
    project_plane.init(folder, "acs")
    admin = open_project(folder)
    try:
        viewer = project_plane.add_user_with_key(admin, "vera", Role.VIEWER)
    finally:
        admin.close()
    opened = open_project(folder, api_key=viewer.api_key)
    yield opened
    opened.close()


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_a_viewer_is_refused_every_write_before_it_starts(name: str, viewer_project: Keel) -> None:
    with viewer_project.reader() as unit:
        before = unit.audit.head()
    with pytest.raises(PermissionDenied, match="needs the"):
        WRITERS[name](viewer_project)  # the check comes first: no arguments are read
    with viewer_project.reader() as unit:
        assert unit.audit.head() == before, f"{name} wrote before refusing"
