"""Once a project has users, acting without a key is refused (unsetting KEEL_API_KEY bypassed
four-eyes on an embedded project); break-glass acts as the local admin, and is audited."""

from __future__ import annotations

from pathlib import Path

import pytest

from keel.app import project as project_plane
from keel.app.session import open_project
from keel.errors import Unauthenticated
from keel.identity.roles import Role


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An embedded (SQLite) project whose first user, an admin, added an operator."""
    folder: Path = tmp_path_factory.mktemp("glass") / "proj"
    project_plane.init(folder, "acs")
    local = open_project(folder)
    admin_key = project_plane.add_user_with_key(local, "ada", Role.ADMIN).api_key
    local.close()
    admin = open_project(folder, api_key=admin_key)
    project_plane.add_user_with_key(admin, "ana", Role.OPERATOR)
    admin.close()
    return folder


def test_the_first_user_is_added_without_a_key_and_then_a_key_is_needed(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KEEL_API_KEY", raising=False)
    monkeypatch.delenv("KEEL_BREAK_GLASS", raising=False)
    keyless = open_project(project)
    try:
        with pytest.raises(Unauthenticated, match="has users: set KEEL_API_KEY"):
            project_plane.add_user_with_key(keyless, "eve", Role.ADMIN)
        with pytest.raises(Unauthenticated):
            project_plane.verify_audit(keyless)
        acting = project_plane.status(keyless).actor
        assert acting is not None and "KEEL_API_KEY" in (acting.problem or "")  # status says why
    finally:
        keyless.close()


def test_break_glass_acts_as_the_local_admin_and_leaves_its_reason_in_the_audit_trail(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KEEL_API_KEY", raising=False)
    monkeypatch.setenv("KEEL_BREAK_GLASS", "INC-42: ada is away and prod is down")
    glass = open_project(project)
    try:
        added = project_plane.add_user_with_key(glass, "bob", Role.VIEWER)
        events = project_plane.audit_log(glass, limit=5, action="access.break_glass")
    finally:
        glass.close()
    assert added.name == "bob"
    used = list(events)
    assert used and used[0].details == {"reason": "INC-42: ada is away and prod is down"}
    assert [e.subject for e in used] == ["action:reading the audit log", "action:adding a user"]
