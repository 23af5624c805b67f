"""The remote CLI: the same ``keel incidents`` commands run on the project folder and, with
``KEEL_URL`` set, against ``keel server`` from a folder with no project; each pair prints the
same output and exits with the same code (``keel audit verify`` too)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.control.conftest import Plane


def keel(
    *args: str, cwd: Path, key: str, url: str | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KEEL_")}
    environ |= {"NO_COLOR": "1", "COLUMNS": "200", "KEEL_API_KEY": key}
    if url:
        environ["KEEL_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "keel", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def both(plane: Plane, tmp_path: Path, user: str, *args: str) -> tuple[object, object]:
    key = plane.keys.get(user, "keel_unknown")  # "nobody": a key no one was given
    local = keel(*args, cwd=plane.folder, key=key)
    remote = keel(*args, cwd=tmp_path, key=key, url=plane.server.url)
    return (local.returncode, local.stdout, local.stderr), (
        remote.returncode,
        remote.stdout,
        remote.stderr,
    )


@pytest.mark.parametrize(
    ("user", "args"),
    [
        ("vera", ("incidents", "list", "--json")),
        ("vera", ("audit", "verify")),
        ("vera", ("incidents", "list", "--status", "open")),
        ("vera", ("incidents", "ack", "1", "--note", "mine")),  # refused: exit 5
        ("ana", ("incidents", "resolve", "99", "--note", "x")),  # no such incident: exit 3
        ("vera", ("release", "status")),
        ("vera", ("data", "versions")),
        ("vera", ("data", "versions", "--json")),
        ("vera", ("release", "status", "--json")),
        ("vera", ("status",)),
        ("vera", ("status", "--json")),
        ("vera", ("models", "list")),
        ("vera", ("models", "list", "--json")),
        ("vera", ("runs", "list")),
        ("vera", ("runs", "list", "--limit", "1", "--json")),
        ("nobody", ("models", "list")),  # an unknown key: exit 8 both ways
        ("omar", ("approve", "v2", "--note", "mine")),  # the requester: refused, exit 5
        ("vera", ("release", "rollback")),  # a viewer: refused, exit 5
        ("ana", ("release", "promote", "loan-default/v9")),  # no such version: exit 3
        ("ana", ("release", "promote", "other/v2")),  # another project's version: exit 2
    ],
    ids=[
        "list-json",
        "audit-verify",
        "list-text",
        "viewer-refused",
        "not-found",
        "release-status",
        "data-versions",
        "data-versions-json",
        "release-status-json",
        "status",
        "status-json",
        "models-list",
        "models-list-json",
        "runs-list",
        "runs-list-limit-json",
        "models-list-unknown-key",
        "approve-own-refused",
        "rollback-viewer-refused",
        "promote-not-found",
        "promote-other-project",
    ],
)
def test_local_and_remote_print_the_same(
    plane: Plane, tmp_path: Path, user: str, args: tuple[str, ...]
) -> None:
    local, remote = both(plane, tmp_path, user, *args)
    assert remote == local


def test_a_remote_change_lands_on_the_servers_project(plane: Plane, tmp_path: Path) -> None:
    done = keel(
        "incidents",
        "ack",
        "1",
        "--note",
        "on it",
        cwd=tmp_path,
        key=plane.keys["ana"],
        url=plane.server.url,
    )
    assert (done.returncode, done.stdout.strip()) == (0, "incident #1 acknowledged"), done.stderr
    local = keel("incidents", "show", "1", "--json", cwd=plane.folder, key=plane.keys["vera"])
    assert '"acked_by": "ana"' in local.stdout


def test_a_bad_key_remotely_is_unauthenticated(plane: Plane, tmp_path: Path) -> None:
    done = keel("incidents", "list", cwd=tmp_path, key="keel_wrong", url=plane.server.url)
    assert done.returncode == 8
    assert "error: the API key is unknown or revoked" in done.stderr


def test_release_changes_remotely_land_on_the_servers_project(plane: Plane, tmp_path: Path) -> None:
    url = plane.server.url
    approved = keel("approve", "v2", "--note", "ok", cwd=tmp_path, key=plane.keys["root"], url=url)
    assert approved.returncode == 0, approved.stderr
    assert approved.stdout.startswith("v2 is champion · release rel-"), approved.stdout
    assert "(previous champion v1)" in approved.stdout
    local = keel("release", "status", cwd=plane.folder, key=plane.keys["vera"])
    assert "loan-default/v2" in local.stdout
    back = keel(
        "release", "rollback", "--reason", "soon", cwd=tmp_path, key=plane.keys["ana"], url=url
    )
    assert back.returncode == 0, back.stderr
    assert "loan-default/v1" in back.stdout
    paused = keel("release", "pause", "--json", cwd=tmp_path, key=plane.keys["ana"], url=url)
    assert paused.returncode == 0, paused.stderr
    assert json.loads(paused.stdout)["paused"] is True
    resumed = keel("release", "resume", cwd=tmp_path, key=plane.keys["ana"], url=url)
    assert resumed.returncode == 0, resumed.stderr
    assert "paused" not in resumed.stdout
    again = keel("release", "promote", "v2", cwd=tmp_path, key=plane.keys["ana"], url=url)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("promotion p-"), again.stdout
