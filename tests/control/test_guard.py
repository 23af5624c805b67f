"""The pure parts of the control plane's guard: which raw paths are refused before routing,
where a login may redirect to, and the server's settings as its workers read them."""

from __future__ import annotations

import pytest

from keel.api.guard import MAX_PATH, bad_path
from keel.app.control import ControlSettings
from keel.errors import InvalidInput
from keel.ui.pages import _local


@pytest.mark.parametrize(
    ("raw", "refused"),
    [
        (b"/api/v1/models/2", False),
        (b"/api/v1/runs/r-0001", False),
        (b"/api/v1/runs/a.b", False),
        (b"/api/v1/../etc/passwd", True),
        (b"/api/v1/%2e%2e/etc", True),
        (b"/api/v1/%2E%2E%2Fetc", True),
        (b"/api/v1/runs/..%5cwin", True),
        (b"/api/v1/./models", True),
        (b"/api/v1/runs/a%00b", True),
        (b"/api/v1/runs/a\x00b", True),
        (b"/api/v1/runs/%C3%A9", True),
        (b"/api/v1/runs/\xc3\xa9", True),
        (b"/" + b"a" * MAX_PATH, True),
    ],
    ids=lambda v: repr(v)[:30],
)
def test_bad_paths(raw: bytes, refused: bool) -> None:
    assert (bad_path(raw) is not None) is refused


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/models/2", "/models/2"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("/é", "/"),
        ("/a\nb", "/"),
    ],
)
def test_a_login_redirects_only_to_this_server(target: str, expected: str) -> None:
    assert _local(target) == expected


def test_the_settings_reach_the_workers_unchanged() -> None:
    settings = ControlSettings(port=9000, secure_cookies=True, session_hours=2.5, page_size=20)
    assert ControlSettings.from_environ(settings.to_environ()) == settings
    with pytest.raises(InvalidInput, match="port"):
        ControlSettings(port=0)
