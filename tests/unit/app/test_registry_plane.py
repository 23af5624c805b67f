"""The registry plane's typed results keep the JSON the commands print, and its refusals read as
the registry's own checks do."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from keel.app import project as project_plane
from keel.app import registry as use
from keel.app.session import open_project
from keel.errors import PermissionDenied
from keel.identity.roles import Role
from keel.registry.approvals import PromotionRequest, RequestStatus
from keel.registry.releases import ReleaseState, next_release
from keel.wiring import Keel

AT = datetime(2026, 1, 1, tzinfo=UTC)


def test_the_release_status_has_its_keys_before_the_first_release() -> None:
    assert use.ReleaseStatus(None, ()).to_dict() == {
        "release": None,
        "champion": None,
        "shadow": [],
        "canary": None,
        "pending": [],
    }


def test_the_release_status_is_the_head_with_the_pending_promotions() -> None:
    head = next_release(
        None, ReleaseState(champion=1), project="p", action="promote", actor="a", at=AT
    )
    request = PromotionRequest("p", 1, 2, 3, "olga", 1, RequestStatus.PENDING, AT)
    body = use.ReleaseStatus(head, (request,)).to_dict()
    assert body == {**head.to_dict(), "pending": [request.to_dict()]}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder: Path = tmp_path_factory.mktemp("plane") / "proj"
    project_plane.init(folder, "acs")
    return folder


@pytest.fixture(scope="module")
def admin_key(project: Path) -> str:
    """The key of the project's first user, an admin: once a project has users, keys are needed."""
    local = open_project(project)
    try:
        return project_plane.add_user_with_key(local, "root", Role.ADMIN).api_key
    finally:
        local.close()


@contextmanager
def _acting_as(folder: Path, admin_key: str, name: str, role: Role) -> Iterator[Keel]:
    admin = open_project(folder, api_key=admin_key)
    try:
        key = project_plane.add_user_with_key(admin, name, role).api_key
    finally:
        admin.close()
    opened = open_project(folder, api_key=key)
    yield opened
    opened.close()


@pytest.mark.parametrize(
    ("name", "role"), [("vera", Role.VIEWER), ("olga", Role.OPERATOR)], ids=["viewer", "operator"]
)
def test_approving_is_refused_with_the_version_named(
    project: Path, admin_key: str, name: str, role: Role
) -> None:
    with _acting_as(project, admin_key, name, role) as keel:
        with pytest.raises(PermissionDenied) as refused:
            use.approve(keel, 4, note="looks fine")
        assert refused.value.message == f"approving v4 needs the approver role; {name} is {role}"


def test_a_viewer_may_list_models_and_read_the_release(project: Path, admin_key: str) -> None:
    with _acting_as(project, admin_key, "val", Role.VIEWER) as keel:
        assert use.list_models(keel) == []
        assert use.release_status(keel) == use.ReleaseStatus(None, ())
        assert use.release_history(keel) == []
